// tallyd's start-up check of its event log: the log against every witness
// it has (the head mark, the read models' checkpoints, the Kafka topic when
// one is configured and reachable), the chain from the last vouched-for
// position to the head verified. What it finds is printed and latched in
// the log (writes refused); tallyd then exits or serves reads only, as
// --on-damage says.
#pragma once

#include <string>
#include <vector>

#include "engine/kafka/client.h"
#include "engine/log_witnesses.h"
#include "projections/runner.h"

namespace tally {

struct StartCheckOptions {
  std::string log_dir;
  // The topic's witness: empty bootstrap (the embedded Kafka, emptied at
  // every start) means none.
  kafka::Config kafka_config;
  std::string topic;
  bool kafka = false;
  int kafka_timeout_ms = 5000;
};

// Runs the check and prints what it did and found (stdout) and the damage
// (stderr). Returns true when the log is damaged.
bool CheckLogAtStart(const EventLog& log, const std::vector<projections::ModelStatus>& models,
                     const StartCheckOptions& options);

// Prints how to heal or accept a damaged log (stderr).
void PrintDamageAdvice(const std::string& data, bool kafka, const std::string& bootstrap, const std::string& topic);

}  // namespace tally
