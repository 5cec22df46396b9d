// A running tallyd's event log seen from another process: a RocksDB
// secondary instance (RocksDbEventLog::OpenFollower) with its scratch folder
// under TMPDIR, removed when this goes away.
#pragma once

#include <memory>
#include <string>

#include "engine/base/mutex.h"
#include "engine/base/result.h"
#include "engine/personal/personal_data.h"
#include "engine/rocksdb_event_log.h"

namespace tally::tools {

class FollowedLog {
 public:
  // `data`: the data folder (tallyd --data); the log is `data`/log.
  static Result<std::unique_ptr<FollowedLog>> Open(const std::string& data);
  ~FollowedLog();

  RocksDbEventLog& log() { return *log_; }

 private:
  FollowedLog() = default;
  std::string scratch_;
  std::unique_ptr<RocksDbEventLog> log_;
};

// The customers' keys of a data folder in another process (tallyctl consume
// and project --from-kafka --keys-from): a key not known yet (a customer
// created since) makes it catch up with tallyd once, then look again.
// Thread-safe.
class FollowedKeyRing final : public personal::KeyRing {
 public:
  static Result<std::unique_ptr<FollowedKeyRing>> Open(const std::string& data);
  Result<personal::KeyRecord> FindKey(std::string_view customer_id) const override;

 private:
  explicit FollowedKeyRing(std::unique_ptr<FollowedLog> followed) : followed_(std::move(followed)) {}
  mutable Mutex mu_;
  std::unique_ptr<FollowedLog> followed_ GUARDED_BY(mu_);
};

}  // namespace tally::tools
