// tallyctl accept-loss: the operator's explicit acceptance that positions a
// damaged log lost are gone for good (no copy to heal them from: the Kafka
// topic does not hold them). Never done silently, never by tallyd itself.
#pragma once

#include <cstdint>
#include <string>

#include "engine/kafka/client.h"

namespace tally {

struct AcceptLossOptions {
  std::string data;
  std::string reason;         // required: recorded in the events
  std::string operator_name;  // recorded as the events' partner id ("operator:NAME")
  // The topic to check first (empty bootstrap: no Kafka witness): a topic
  // that holds lost positions is a copy, so the loss is refused (heal).
  std::string bootstrap;
  std::string topic{kafka::kDefaultTopic};
  kafka::Config properties;
  // No topic to check: tallyd published to its embedded Kafka only (or
  // the topic is gone). Either this or a bootstrap is required.
  bool no_kafka = false;
};

// With tallyd stopped: finds the lost positions (the log's head + 1 up to
// the highest position any witness saw: the head mark, the read models'
// checkpoints, the topic), appends one LogPositionsLost event at each of
// them (so positions are never reused, and the chain goes on), sets the
// read models aside (they hold what the lost events did; tallyd builds
// them again from the log at its next start) and verifies the chain.
// Exit code: 0 (accepted, or nothing lost), 1 (refused: the topic holds
// lost positions), 2 (usage, I/O).
int AcceptLoss(const AcceptLossOptions& options);

}  // namespace tally
