// The event log on RocksDB: the source of truth. Layout in events/FORMAT.md.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/mutex.h"
#include "engine/clock.h"
#include "engine/event_log.h"
#include "engine/head_mark.h"
#include "engine/rocksdb_log_staging.h"

namespace rocksdb {
class DB;
class Env;
class FileSystem;
class ColumnFamilyHandle;
class PinnableSlice;
class Status;
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
  // Free space the log leaves on its file system: below it, Prepare refuses
  // every request with kStorageFull, as a full disk would, and writes resume
  // by themselves once space returns. The read models, RocksDB's flushes and
  // compactions share the disk and write after the log: the reserve is their
  // room, so that a full disk stops the log first and never leaves a read
  // model behind an acknowledged write. 0: no reserve (tools, benchmarks).
  uint64_t min_free_bytes = 0;
  // Recover a damaged write-ahead log to its last good record (RocksDB's
  // point-in-time recovery) instead of refusing to open: only for healing
  // (tallyctl restore --from-kafka --heal), which then refills what was lost
  // and verifies. Default: a damaged record that is not a torn tail fails
  // the open with kCorruption.
  bool salvage_wal = false;
  // The file system RocksDB writes through (null: the default, the disk).
  // Tests pass a fault-injecting one (tests/testing/fault_fs.h) to fail or
  // drop writes and syncs on demand.
  std::shared_ptr<rocksdb::FileSystem> file_system;
};

// Thread-safety as EventLog. Opening takes the RocksDB lock on the folder:
// one process at a time may have it open for writing (see OpenReadOnly).
class RocksDbEventLog final : public EventLog {
 public:
  // Opens (creating if missing) the log in folder `path`. Start-up cost is a
  // seek to the last event, not a replay: O(1) in the log's length.
  static Result<std::unique_ptr<RocksDbEventLog>> Open(const std::string& path,
                                                       const RocksDbEventLogOptions& options = {});
  // Opens an existing log read-only (tools on a stopped folder, or beside a
  // running tallyd: RocksDB then shows the log as of this open). Prepare
  // fails every request with kInvalidArgument.
  // `salvage_wal`: as RocksDbEventLogOptions::salvage_wal (to learn where
  // a damaged WAL's good records end).
  static Result<std::unique_ptr<RocksDbEventLog>> OpenReadOnly(const std::string& path, bool salvage_wal = false);
  // Opens an existing log as a follower (a RocksDB secondary instance,
  // keeping its own small files in `scratch_dir`): read-only like
  // OpenReadOnly, and CatchUp shows what the writing process appended since.
  static Result<std::unique_ptr<RocksDbEventLog>> OpenFollower(const std::string& path,
                                                               const std::string& scratch_dir);
  // Follower only: catches up with the writing process; Head() moves on.
  // Not concurrently with reads of this object.
  Status CatchUp();

  ~RocksDbEventLog() override;

  std::unique_ptr<PreparedBatch> Prepare(std::span<AppendRequest> requests) override;
  Status Commit(std::span<PreparedBatch* const> batches) override;
  uint64_t Head() const override { return head_.load(std::memory_order_acquire); }
  int64_t NowMicros() const override { return options_.clock->NowMicros(); }
  Result<std::vector<StoredEvent>> Read(uint64_t from, size_t max) const override;
  Result<std::vector<StoredEvent>> ReadStream(std::string_view stream_id, uint64_t from_version,
                                              size_t max) const override;
  Status ScanRecords(uint64_t from, uint64_t to,
                     const std::function<bool(const EventView&)>& fn) const override;
  Result<uint64_t> StreamVersion(std::string_view stream_id) const override;
  Result<std::optional<std::string>> UniqueOwner(std::string_view key) const override;
  Result<ChainDigest> HashAt(uint64_t position) const override;
  Result<std::optional<RequestRecord>> FindRequest(std::string_view request_id) const override;
  Result<std::optional<RequestRecord>> FindStagedRequest(std::string_view request_id) const override;
  Result<personal::KeyRecord> FindKey(std::string_view customer_id) const override;

  // Writes every column family's memtable to table files and waits, so a
  // later open replays no WAL (used after unsynced bulk generation).
  Status Flush();

  // Rewrites, in one synced write, the fingerprint of every stored request
  // for which `erased` is true to ScrubbedFingerprint (its personal part
  // erased); returns how many changed. Reads the whole requests column
  // family: for an erasure, before PurgeDestroyedKeys. Any thread; the
  // requests it may touch are committed ones.
  Result<size_t> ScrubRequestFingerprints(const std::function<bool(const RequestRecord&)>& erased);

  // After a key was destroyed: flushes every column family (so no WAL file
  // still holds the key or a scrubbed fingerprint) and compacts the keys
  // and requests column families (so no table file does). Slow (a flush and
  // compactions); call it after an erasure.
  Status PurgeDestroyedKeys();

  // True once a commit has failed and until Recover (see EventLog, "Failure").
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  // RocksDB recovers from a full disk on its own (once its SstFileManager
  // sees enough free space: the largest write buffer, 64 MiB); Recover then
  // finds the database writable, forgets what was staged and reloads the
  // head from what is durable.
  Status Recover() override;
  std::optional<Error> WriteFailure() const override;

  // Restoring a log from another copy of its events (tallyctl restore
  // --from-kafka; rocksdb_event_log_restore.cc). Appends `events` exactly
  // as they are, in one synced write: each a verified, stamped envelope
  // whose position is the next one (Head() + 1, ...) and whose stream
  // version is its stream's next. Recomputes the chain; writes the stream
  // index, and the unique claims and key changes each event carries. All
  // or nothing; nothing may be staged by Prepare on this open log.
  struct StampedEvent {
    std::string envelope;
    std::vector<UniqueClaim> claims;
    std::vector<KeyChange> key_changes;
  };
  Status AppendStamped(std::span<StampedEvent> events);

  // Calls `fn` for each customer's key record, in customer id order (for a
  // key backup: tallyctl keys export), until it returns false.
  Status ForEachKey(const std::function<bool(std::string_view customer_id, const personal::KeyRecord&)>& fn) const;

  // For tools and tests that need RocksDB itself (backups, tampering).
  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* events_cf() const { return cf_[kEvents]; }

 private:
  enum Cf { kDefault = 0, kEvents, kStreams, kRequests, kUnique, kMeta, kKeys, kCfCount };
  class Batch;  // a PreparedBatch (rocksdb_event_log.cc)
  // Open: appends (one process at a time); OpenReadOnly: the log as of the
  // open; OpenFollower: a RocksDB secondary that CatchUp moves on.
  enum class Mode { kWrite, kReadOnly, kFollow };

  RocksDbEventLog() = default;
  static Result<std::unique_ptr<RocksDbEventLog>> OpenImpl(const std::string& path,
                                                           const RocksDbEventLogOptions& options,
                                                           Mode mode, const std::string& follower_dir = "");
  Status LoadHead();
  Result<uint64_t> CurrentVersion(std::string_view stream_id);
  // What RocksDB holds under a request id, looked up before staging.
  struct StoredRequest {
    const rocksdb::Status* status;
    const rocksdb::PinnableSlice* value;
  };
  Result<AppendOutcome> Stage(Batch& batch, AppendRequest& request, const StoredRequest& stored);
  // Calls `fn` for each durable (version, position) of a stream, in order,
  // until it returns false.
  Status WalkStream(std::string_view stream_id,
                    const std::function<bool(uint64_t version, uint64_t position)>& fn) const;

  std::unique_ptr<rocksdb::Env> env_;  // over options_.file_system; outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cf_;
  RocksDbEventLogOptions options_;
  Mode mode_ = Mode::kWrite;

  // Published by the commit thread after each durable write.
  std::atomic<uint64_t> head_{0};
  std::atomic<uint64_t> committed_seq_{0};  // sequence number of the last durable batch
  std::atomic<bool> failed_{false};
  mutable Mutex failure_mu_;
  std::optional<Error> failure_ GUARDED_BY(failure_mu_);  // why failed_ is set
  // Sets failed_ and remembers `error` as the reason; returns it.
  Error Fail(Error error);
  // kStorageFull when the file system holding the log has less free space
  // than options_.min_free_bytes; nullopt otherwise (or with no reserve).
  std::optional<Error> BelowReserve() const;
  std::string path_;
  // The head mark (head_mark.h): written by the commit thread; null in the
  // read-only and follower modes.
  std::unique_ptr<HeadMarkWriter> mark_;
  bool mark_failed_ = false;  // its write failure was said once
  // Records (position, hash) in the mark, if this log keeps one.
  void RecordHeadMark(uint64_t position, const ChainDigest& hash, bool sync = false);
  // The writing mode's staging state; null in the read-only and follower
  // modes.
  std::unique_ptr<LogStaging> staging_;
};

}  // namespace tally
