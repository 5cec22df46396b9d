// Where the read models live: one RocksDB database (`<data>/projections`),
// separate from the event log, holding one column family per copy of each
// read model ("customer.1", "license.3", ...) and a "meta" column family
// that names the active copy of each model.
//
// A copy holds the model's rows and its checkpoint (the last applied log
// position), written together in one WriteBatch by the runner. Rebuild is
// blue/green: a fresh copy is built beside the active one, then Activate
// makes it the active one atomically (one synced write to meta) and drops the
// old one. A copy that is not active when the store opens is what is left
// of an interrupted rebuild and is dropped.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/mutex.h"
#include "engine/base/result.h"

namespace rocksdb {
class Cache;
class DB;
class ColumnFamilyHandle;
class Snapshot;
class WriteBatch;
}  // namespace rocksdb

namespace tally::projections {

// The rows' key of a copy's checkpoint; sorts after every row key.
inline constexpr std::string_view kCheckpointKey = "\xff\xff" "checkpoint";

// What a copy has applied: the last position, how many events it has seen,
// and how many of those were of types this build does not know (skipped).
struct Checkpoint {
  uint64_t position = 0;
  uint64_t events = 0;
  uint64_t skipped_unknown = 0;

  std::string Encode() const;
  static Result<Checkpoint> Decode(std::string_view bytes);
  bool operator==(const Checkpoint&) const = default;
};

class ProjectionStore;

// One copy of one read model. Shared by readers and the runner; stays
// readable after it has been replaced (until the last holder lets go).
// Immutable after creation; any thread.
class Copy {
 public:
  ~Copy();
  const std::string& model() const { return model_; }
  uint64_t generation() const { return generation_; }
  rocksdb::ColumnFamilyHandle* cf() const { return cf_; }

 private:
  friend class ProjectionStore;
  Copy(ProjectionStore* store, std::string model, uint64_t generation, rocksdb::ColumnFamilyHandle* cf)
      : store_(store), model_(std::move(model)), generation_(generation), cf_(cf) {}
  ProjectionStore* store_;
  std::string model_;
  uint64_t generation_;
  rocksdb::ColumnFamilyHandle* cf_;
};

struct ProjectionStoreOptions {
  bool read_only = false;  // tools beside a running tallyd (a view as of the open)
  size_t block_cache_bytes = 64 << 20;
};

// Thread-safety: every method may be called from any thread. The store must
// outlive every Copy it handed out.
class ProjectionStore {
 public:
  // Opens (creating if missing, unless read-only) the store in folder
  // `path` with an active copy of each of `models` (an empty copy at
  // position 0 for a model seen for the first time). Drops copies that are
  // not active (interrupted rebuilds).
  static Result<std::unique_ptr<ProjectionStore>> Open(const std::string& path,
                                                       const std::vector<std::string>& models,
                                                       const ProjectionStoreOptions& options = {});
  ~ProjectionStore();

  // The active copy of `model`; nullptr for a model the store was not
  // opened with.
  std::shared_ptr<const Copy> Active(std::string_view model) const;

  // A new, empty, inactive copy of `model` (the next generation).
  Result<std::shared_ptr<const Copy>> CreateCopy(const std::string& model);

  // Makes `copy` the active copy of its model: flushes its rows to disk
  // (they may have been written without the WAL), records it in meta with a
  // synced write, then drops the previous copy. Readers holding the previous
  // copy keep reading it until they let go.
  Status Activate(const std::shared_ptr<const Copy>& copy);

  // Drops an inactive copy (an abandoned rebuild).
  Status Discard(const std::shared_ptr<const Copy>& copy);

  // Leaves no old version of `model`'s rows on disk: flushes every active
  // copy and the meta family (so that no WAL file still holds an
  // overwritten row), then compacts `model`'s active copy (so that no table
  // file does). Used after a personal-data erasure; slow.
  Status Purge(std::string_view model);

  // Applies `batch` atomically. `wal`: false for rebuild copies, whose rows
  // are flushed by Activate and are worthless if the process dies first.
  Status Write(rocksdb::WriteBatch& batch, bool wal);

  // Loads `batch` (puts and deletes of `copy` only; a later write to a key
  // wins over an earlier one) into `copy` as one sorted table file: written
  // beside the store, then ingested (RocksDB IngestExternalFile), so that
  // the rows skip the memtable, its flush and the WAL. For rebuild copies
  // built from position 1 (ProjectionRunner's bulk mode); durable when it
  // returns. Any thread.
  Status Load(const Copy& copy, const rocksdb::WriteBatch& batch);

  // One row of a copy; nullopt when absent. `snapshot` may be null.
  Result<std::optional<std::string>> Get(const Copy& copy, std::string_view key,
                                         const rocksdb::Snapshot* snapshot = nullptr) const;

  // The checkpoint stored in `copy` (position 0 for a fresh copy).
  Result<Checkpoint> ReadCheckpoint(const Copy& copy) const;

  // For readers' iterators and snapshots.
  rocksdb::DB* db() const { return db_.get(); }
  bool read_only() const { return read_only_; }

 private:
  friend class Copy;
  ProjectionStore() = default;
  void Release(rocksdb::ColumnFamilyHandle* cf);

  std::shared_ptr<rocksdb::Cache> cache_;  // shared by every copy
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  bool read_only_ = false;
  std::string path_;
  std::atomic<uint64_t> loads_{0};  // names Load's table files
  mutable Mutex mu_;
  std::map<std::string, std::shared_ptr<const Copy>, std::less<>> active_ GUARDED_BY(mu_);
  std::map<std::string, uint64_t, std::less<>> last_generation_ GUARDED_BY(mu_);
  std::vector<rocksdb::ColumnFamilyHandle*> dropped_;  // destroyed with the DB
};

// Where each of `models`' active copies stands (its checkpoint's
// position), read from the store in folder `path` opened read-only (beside a
// running writer too: a position read may be behind the writer's, never
// ahead). Empty when the folder does not exist; a model whose copy or
// checkpoint cannot be read is left out; an error when the store cannot be
// opened. What the log's damage checks take as the read models' witness.
Result<std::vector<std::pair<std::string, uint64_t>>> ReadCheckpointPositions(const std::string& path,
                                                                              const std::vector<std::string>& models);

}  // namespace tally::projections
