// Where a topic's partitions end, as the relay resumes from them: the
// consumer side of the relay's exactly-once (relay.h), on a consumer of its
// own that commits nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/kafka/client.h"

namespace tally::kafka {

// The positions already in the topic: for each partition, the position in
// its last committed record (0 for a partition without one), and that
// record's event id. Read committed: records of aborted transactions and
// transaction markers are skipped (the last offsets are looked at first,
// then more, until a committed record or the partition's start is found).
struct PartitionTail {
  uint64_t position = 0;
  std::string event_id;
};
Result<std::vector<PartitionTail>> ReadPartitionTails(const Config& config, const std::string& topic,
                                                      int32_t partitions, int timeout_ms);

// The same for a topic whose partition count is asked first (tallyd's
// start-up check of the log against the topic). One deadline for the call.
Result<std::vector<PartitionTail>> ReadTopicTails(const Config& config, const std::string& topic, int timeout_ms);

}  // namespace tally::kafka
