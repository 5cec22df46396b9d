// tallyctl consume: follows the Kafka topic as a member of a consumer group
// (committed offsets: a restart goes on where the group stopped) and prints
// each event as the same JSON line `tallyctl replay` prints.
#pragma once

#include <string>

#include "engine/kafka/client.h"

namespace tally {

struct ConsumeOptions {
  std::string bootstrap;
  std::string topic{kafka::kDefaultTopic};
  std::string group = "tallyctl-consume";
  std::string type;      // only this event type
  std::string customer;  // only this customer (the record key)
  bool exit_at_end = false;  // stop once every assigned partition is read to its end
  size_t batch = 4096;       // project --from-kafka: events per write
  bool progress_lines = false;  // project --from-kafka: "applied N" after each write
  // The data folder of the tallyd whose customers' keys open sealed personal
  // fields (read through a RocksDB secondary instance); empty: they show as
  // "sealed" (consume) or stay empty (project).
  std::string keys_from;
  kafka::Config properties;
};

// Exit code: 0 after SIGINT/SIGTERM or --exit-at-end, 2 on an error.
int Consume(const ConsumeOptions& options);

// tallyctl project --from-kafka: the read models in `data`/projections fed
// from the topic (projections/kafka_feed.h); `options.group` is the group
// the projecting processes share; type and customer filters do not apply.
// Exit code as Consume.
int ProjectFromKafka(const std::string& data, const ConsumeOptions& options);

}  // namespace tally
