// The log rebuilt from the Kafka topic alone (tallyctl restore --from-kafka),
// and the key backup that makes its personal fields readable again
// (tallyctl keys export).
//
// What the topic holds: every event's envelope, bytes as the log stored
// them. From those the restore recomputes the hash chain, the stream index,
// the domain reservations (from CustomerCreated) and the erasures (from
// CustomerPersonalDataErased). What it does not hold: the customers'
// personal-data keys (in a key backup, --keys), the partners' tokens
// (partners.json, --partners) and the idempotency records of MS-RequestIds
// (a retry of a request acknowledged before the loss is a new request).
#pragma once

#include <string>

#include "engine/kafka/client.h"

namespace tally {

struct RestoreFromKafkaOptions {
  std::string bootstrap;
  std::string topic{kafka::kDefaultTopic};
  std::string data;          // the new data folder (its log must not exist)
  std::string keys_file;     // a key backup (tallyctl keys export)
  bool without_keys = false;  // no key backup: every customer's personal fields unreadable
  std::string partners_file;  // copied to data/partners.json if given
  kafka::Config properties;
  int timeout_ms = 30000;     // waiting for the brokers before giving up
};

// Reads every partition of the topic from offset 0 to its end as it is at
// the start, merges them by position, refuses a gap, a partition that no
// longer starts at offset 0 or an event that does not verify, and appends
// the events to a new log in `data`/log; then verifies the new chain.
// Exit code: 0, 1 (the topic does not hold a whole log), 2 (usage, I/O).
int RestoreFromKafka(const RestoreFromKafkaOptions& options);

// Writes every customer's key record of the log in `data` to `out` (a new
// file, mode 0600): JSON lines {"customer": ID, "key": HEX} or {"customer":
// ID, "erasedAt": POSITION}. Exit code 0 or 2.
int KeysExport(const std::string& data, const std::string& out);

}  // namespace tally
