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
  kafka::Config properties;
};

// Exit code: 0 after SIGINT/SIGTERM or --exit-at-end, 2 on an error.
int Consume(const ConsumeOptions& options);

}  // namespace tally
