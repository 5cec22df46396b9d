// tallyctl's auditors' commands (audit.cc): verify the chain, replay
// events, one customer's history and its state as of a time. Each returns
// tallyctl's exit code (0 ok, 1 verification failed, 2 usage or I/O error).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "engine/rocksdb_event_log.h"
#include "projections/store.h"

namespace tally {

// The folder's log, opened read-only; exits with 2 (and says why) if it
// cannot be opened.
std::unique_ptr<RocksDbEventLog> OpenOrDie(const std::string& data);
// The folder's read models (`<data>/projections`); exits with 2 (and says
// why) if they cannot be opened.
std::unique_ptr<projections::ProjectionStore> OpenStoreOrDie(const std::string& data, bool read_only);

// What `replay` keeps besides positions and stream.
struct ReplayFilter {
  std::string type;     // event type name
  std::string partner;  // partner_id
  std::optional<int64_t> since_us, until_us;  // recorded_at_us, inclusive
  bool follow = false;  // keep tailing the log after its head
};

int Verify(const std::string& data, uint64_t from, uint64_t to);
int Replay(const std::string& data, uint64_t from, uint64_t to, const std::string& stream,
           const ReplayFilter& filter);
int AsOfCmd(const std::string& data, const std::string& customer, const std::string& time);
int HistoryCmd(const std::string& data, const std::string& customer);

}  // namespace tally
