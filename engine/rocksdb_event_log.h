// The event log on RocksDB: the source of truth. Layout in events/FORMAT.md.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/clock.h"
#include "engine/event_log.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace tally {

struct RocksDbEventLogOptions {
  // Sync the WAL before acknowledging a batch. Only benchmarks of the
  // non-durable path turn this off; tallyd never does.
  bool sync = true;
  // Stamps recorded-at. Not owned; must outlive the log.
  const Clock* clock = &SystemClock::Instance();
  // Shared block cache for all column families.
  size_t block_cache_bytes = 128 << 20;
};

// Thread-safety as EventLog. Opening takes the RocksDB lock on the folder:
// one process at a time may have it open for writing (see OpenReadOnly).
class RocksDbEventLog final : public EventLog {
 public:
  // Opens (creating if missing) the log in folder `path`. Start-up cost is a
  // seek to the last event, not a replay: O(1) in the log's length.
  static Result<std::unique_ptr<RocksDbEventLog>> Open(const std::string& path,
                                                       const RocksDbEventLogOptions& options = {});
  // Opens an existing log read-only (e.g. tallyctl while tallyd runs is not
  // supported by RocksDB's lock; this is for stopped folders and backups).
  // AppendBatch fails with kInvalidArgument.
  static Result<std::unique_ptr<RocksDbEventLog>> OpenReadOnly(const std::string& path);

  ~RocksDbEventLog() override;

  std::vector<Result<AppendOutcome>> AppendBatch(std::span<AppendRequest> requests) override;
  uint64_t Head() const override { return head_.load(std::memory_order_acquire); }
  Result<std::vector<StoredEvent>> Read(uint64_t from, size_t max) const override;
  Result<std::vector<StoredEvent>> ReadStream(std::string_view stream_id, uint64_t from_version,
                                              size_t max) const override;
  Status Scan(uint64_t from, uint64_t to,
              const std::function<bool(const EventView&)>& fn) const override;
  Result<uint64_t> StreamVersion(std::string_view stream_id) const override;
  Result<std::optional<std::string>> UniqueOwner(std::string_view key) const override;
  Result<ChainDigest> HashAt(uint64_t position) const override;

  // For tools and tests that need RocksDB itself (backups, tampering).
  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* events_cf() const { return cf_[kEvents]; }

 private:
  enum Cf { kDefault = 0, kEvents, kStreams, kRequests, kUnique, kMeta, kCfCount };
  struct Batch;  // per-call staging state (rocksdb_event_log.cc)

  RocksDbEventLog() = default;
  static Result<std::unique_ptr<RocksDbEventLog>> OpenImpl(const std::string& path,
                                                           const RocksDbEventLogOptions& options,
                                                           bool read_only);
  Status LoadHead();
  // Writer thread only: the current version of a stream, cached.
  Result<uint64_t> CurrentVersion(Batch& batch, const std::string& stream_id);
  Result<AppendOutcome> Stage(Batch& batch, AppendRequest& request, size_t index);

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cf_;
  RocksDbEventLogOptions options_;
  bool read_only_ = false;

  // Published to readers after each durable write.
  std::atomic<uint64_t> head_{0};
  // Writer-thread state (only touched inside AppendBatch).
  ChainDigest last_hash_{};
  std::unordered_map<std::string, uint64_t> stream_versions_;  // cache; unbounded (see FORMAT.md)
  std::unique_ptr<ChainHasher> hasher_;
};

}  // namespace tally
