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
// (stderr). True when the log is damaged; an error when it could not be
// read (I/O: not damage).
Result<bool> CheckLogAtStart(const EventLog& log, const std::vector<projections::ModelStatus>& models,
                     const StartCheckOptions& options);

// When RocksDB refuses a damaged write-ahead log: whether the damage lies
// only beyond everything that was acknowledged, i.e. it is the torn tail of
// writes a crash or power loss cut short before their sync (RocksDB
// tolerates only the last record torn; pages written back out of order can
// leave an unsynced record damaged before others). True when the log's good
// records (`good_head`, read to the last good one) reach the head mark and
// every other witness (the read models in `data`/projections, the topic);
// never without a head mark. `seen` says what the witnesses saw.
bool OnlyAnUnacknowledgedTailIsDamaged(uint64_t good_head, const std::string& data,
                                       const StartCheckOptions& options, std::string& seen);

// Prints how to heal or accept a damaged log (stderr).
void PrintDamageAdvice(const std::string& data, bool kafka, const std::string& bootstrap, const std::string& topic);

}  // namespace tally
