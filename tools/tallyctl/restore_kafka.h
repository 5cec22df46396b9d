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
  // Heal an existing, damaged log instead of making a new one: keep a copy
  // of its folder, recover its write-ahead log to the last good record if
  // RocksDB refuses it, compare every position it still holds with the
  // topic byte for byte, append what the topic holds after its head, and
  // verify the chain. A key backup is optional: customers created in the
  // healed positions have no key without one.
  bool heal = false;
};

// Reads every partition of the topic from offset 0 to its end as it is at
// the start, merges them by position, refuses a gap, a partition that no
// longer starts at offset 0 or an event that does not verify, and appends
// the events to a new log in `data`/log; then verifies the new chain.
// Exit code: 0, 1 (the topic does not hold a whole log), 2 (usage, I/O).
int RestoreFromKafka(const RestoreFromKafkaOptions& options);

// options.heal: heals the log in options.data from the topic (tallyd
// stopped). Exit code: 0 (healed: the log reaches its head mark and every
// witness), 1 (the topic differs from the log, or does not hold everything
// that was lost: what is still missing is printed), 2 (usage, I/O).
int HealFromKafka(const RestoreFromKafkaOptions& options);

// Writes every customer's key record of the log in `data` to `out` (a new
// file, mode 0600): JSON lines {"customer": ID, "key": HEX} or {"customer":
// ID, "erasedAt": POSITION}. Exit code 0 or 2.
int KeysExport(const std::string& data, const std::string& out);

}  // namespace tally
