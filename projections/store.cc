#include "projections/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

#include "engine/base/tsan.h"
#include "engine/rocksdb_error.h"
#include "engine/rocksdb_logger.h"
#include "projections/row_codec.h"

namespace tally::projections {
namespace {

constexpr char kMetaCf[] = "meta";
constexpr char kActivePrefix[] = "active/";
// meta: "format" -> kFormat. Another value: a store from an incompatible build.
constexpr char kFormatKey[] = "format";
constexpr char kFormat[] = "tally-projections/1";
// Load's table files in the store's folder, until ingested.
constexpr std::string_view kLoadPrefix = "load-";

std::string CopyName(std::string_view model, uint64_t generation) {
  return std::string(model) + "." + std::to_string(generation);
}

// "customer.3" -> ("customer", 3); false for anything else.
bool ParseCopyName(std::string_view name, std::string* model, uint64_t* generation) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return false;
  auto [p, ec] = std::from_chars(name.data() + dot + 1, name.data() + name.size(), *generation);
  if (ec != std::errc() || p != name.data() + name.size() || *generation == 0) return false;
  *model = std::string(name.substr(0, dot));
  return true;
}

rocksdb::ColumnFamilyOptions CfOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.whole_key_filtering = true;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  // Memory: at most 2 memtables of 32 MiB per copy (a rebuild of three
  // models beside three live ones: under 400 MiB of memtables).
  o.write_buffer_size = 32 << 20;
  o.max_write_buffer_number = 2;
  o.level0_slowdown_writes_trigger = 40;
  o.level0_stop_writes_trigger = 60;
  o.compression = rocksdb::kLZ4Compression;
  return o;
}

}  // namespace

std::string Checkpoint::Encode() const {
  return RowWriter().U64(position).U64(events).U64(skipped_unknown).Finish();
}

Result<Checkpoint> Checkpoint::Decode(std::string_view bytes) {
  Checkpoint c;
  RowReader r(bytes);
  r.U64(c.position);
  r.U64(c.events);
  r.U64(c.skipped_unknown);
  if (!r.done()) return Error(ErrorCode::kCorruption, "malformed projection checkpoint");
  return c;
}

Copy::~Copy() { store_->Release(cf_); }

Result<std::unique_ptr<ProjectionStore>> ProjectionStore::Open(const std::string& path,
                                                               const std::vector<std::string>& models,
                                                               const ProjectionStoreOptions& options) {
  std::unique_ptr<ProjectionStore> store(new ProjectionStore());
  store->read_only_ = options.read_only;
  store->path_ = path;
  store->cache_ = rocksdb::NewLRUCache(options.block_cache_bytes);
  const auto& cache = store->cache_;

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !options.read_only;
  db_options.create_missing_column_families = !options.read_only;
  db_options.max_background_jobs = 2;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // Not the LOG file: see engine/rocksdb_logger.h (a full disk must not abort).
  db_options.info_log = NewStderrRocksLogger("read models");
  // Load's table files come from SstFileWriter, which gives them no unique
  // id: RocksDB would warn at every open that it cannot check one.
  db_options.verify_sst_unique_id_in_manifest = false;

  if (!options.read_only) {  // made here, so that RocksDB does not report a missing folder as an error
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    // A table file Load wrote but had not ingested when the process died.
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with(kLoadPrefix) && name.ends_with(".sst")) std::filesystem::remove(entry.path(), ec);
    }
  }
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, path, &names);
  if (!s.ok()) {
    if (options.read_only) return FromRocks(s, "opening the projection store at " + path);
    names = {rocksdb::kDefaultColumnFamilyName};  // a new store
  }
  if (std::find(names.begin(), names.end(), kMetaCf) == names.end()) names.push_back(kMetaCf);

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names) descriptors.emplace_back(name, CfOptions(cache));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &handles, &raw)
          : rocksdb::DB::Open(db_options, path, descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s, "opening the projection store at " + path);
  store->db_.reset(raw);

  std::map<std::string, rocksdb::ColumnFamilyHandle*> copies;  // copy name -> handle
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == kMetaCf) {
      store->meta_ = handles[i];
    } else if (names[i] == rocksdb::kDefaultColumnFamilyName) {
      store->dropped_.push_back(handles[i]);  // unused; destroyed with the DB
    } else {
      copies[names[i]] = handles[i];
    }
  }

  std::string format;
  s = store->db_->Get(rocksdb::ReadOptions(), store->meta_, kFormatKey, &format);
  if (s.IsNotFound() && !options.read_only) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    s = store->db_->Put(sync, store->meta_, kFormatKey, kFormat);
    format = kFormat;
  }
  if (!s.ok()) return FromRocks(s, "reading the projection store's format");
  if (format != kFormat) {
    return Error(ErrorCode::kFormatMismatch,
                 path + " holds projections in format '" + format + "', this build writes '" + kFormat +
                     "': remove the folder and restart (read models are rebuilt from the log)");
  }

  // The active generation of every model recorded in meta.
  std::map<std::string, uint64_t> active_generation;
  {
    std::unique_ptr<rocksdb::Iterator> it(store->db_->NewIterator(rocksdb::ReadOptions(), store->meta_));
    for (it->Seek(kActivePrefix); it->Valid() && it->key().starts_with(kActivePrefix); it->Next()) {
      uint64_t g = 0;
      std::string_view v = it->value().ToStringView();
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), g);
      if (ec != std::errc() || p != v.data() + v.size()) {
        return Error(ErrorCode::kCorruption, "projection store meta: bad active generation");
      }
      active_generation[it->key().ToString().substr(sizeof(kActivePrefix) - 1)] = g;
    }
    if (!it->status().ok()) return FromRocks(it->status(), "reading projection store meta");
  }

  for (auto& [name, handle] : copies) {
    std::string model;
    uint64_t generation = 0;
    const bool parsed = ParseCopyName(name, &model, &generation);
    auto active = active_generation.find(model);
    {
      MutexLock lock(&store->mu_);  // not shared yet; held for the analysis
      if (parsed) {
        uint64_t& last = store->last_generation_[model];
        last = std::max(last, generation);
      }
      if (parsed && active != active_generation.end() && active->second == generation) {
        store->active_[model] = std::shared_ptr<const Copy>(new Copy(store.get(), model, generation, handle));
        continue;
      }
    }
    // Not active: left by an interrupted rebuild (or unknown). Dropped.
    if (!options.read_only) {
      s = store->db_->DropColumnFamily(handle);
      if (!s.ok()) return FromRocks(s, "dropping the abandoned copy " + name);
    }
    store->dropped_.push_back(handle);
  }

  for (const auto& model : models) {
    {
      MutexLock lock(&store->mu_);
      if (store->active_.count(model) != 0) continue;
    }
    if (options.read_only) {
      return Error(ErrorCode::kNotFound, "the projection store has no " + model + " model yet");
    }
    auto copy = store->CreateCopy(model);
    if (!copy.ok()) return copy.error();
    rocksdb::WriteOptions sync;
    sync.sync = true;
    s = store->db_->Put(sync, store->meta_, kActivePrefix + model, std::to_string((*copy)->generation()));
    if (!s.ok()) return FromRocks(s, "recording the first copy of " + model);
    MutexLock lock(&store->mu_);
    store->active_[model] = *copy;
  }
  return store;
}

ProjectionStore::~ProjectionStore() {
  {
    MutexLock lock(&mu_);
    active_.clear();  // destroys the handles of copies nobody else holds
  }
  if (db_ == nullptr) return;
  for (auto* handle : dropped_) db_->DestroyColumnFamilyHandle(handle);
  if (meta_ != nullptr) db_->DestroyColumnFamilyHandle(meta_);
  db_->Close();
}

void ProjectionStore::Release(rocksdb::ColumnFamilyHandle* cf) {
  if (db_ != nullptr && cf != nullptr) db_->DestroyColumnFamilyHandle(cf);
}

std::shared_ptr<const Copy> ProjectionStore::Active(std::string_view model) const {
  MutexLock lock(&mu_);
  auto it = active_.find(model);
  return it == active_.end() ? nullptr : it->second;
}

Result<std::shared_ptr<const Copy>> ProjectionStore::CreateCopy(const std::string& model) {
  if (read_only_) return Error(ErrorCode::kInvalidArgument, "the projection store is open read-only");
  MutexLock lock(&mu_);
  const uint64_t generation = ++last_generation_[model];
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  rocksdb::Status s = db_->CreateColumnFamily(CfOptions(cache_), CopyName(model, generation), &handle);
  if (!s.ok()) return FromRocks(s, "creating a copy of " + model);
  return std::shared_ptr<const Copy>(new Copy(this, model, generation, handle));
}

Status ProjectionStore::Activate(const std::shared_ptr<const Copy>& copy) {
  rocksdb::FlushOptions flush;
  flush.wait = true;
  rocksdb::Status s = db_->Flush(flush, copy->cf());
  if (!s.ok()) return FromRocks(s, "flushing the new copy of " + copy->model());
  rocksdb::WriteOptions sync;
  sync.sync = true;
  s = db_->Put(sync, meta_, kActivePrefix + copy->model(), std::to_string(copy->generation()));
  if (!s.ok()) return FromRocks(s, "activating the new copy of " + copy->model());
  std::shared_ptr<const Copy> previous;
  {
    MutexLock lock(&mu_);
    previous = std::exchange(active_[copy->model()], copy);
  }
  if (previous != nullptr) {
    s = db_->DropColumnFamily(previous->cf());
    // The swap has happened; a failed drop leaves an inactive copy that the
    // next open drops.
    if (!s.ok()) return FromRocks(s, "dropping the previous copy of " + copy->model());
  }
  return OkStatus();
}

Status ProjectionStore::Purge(std::string_view model) {
  if (read_only_) return Error(ErrorCode::kInvalidArgument, "the read models are open read-only");
  std::vector<std::shared_ptr<const Copy>> copies;  // held: a swap cannot drop them meanwhile
  std::vector<rocksdb::ColumnFamilyHandle*> families{meta_};
  {
    MutexLock lock(&mu_);
    for (const auto& [name, copy] : active_) {
      copies.push_back(copy);
      families.push_back(copy->cf());
    }
  }
  rocksdb::FlushOptions fo;
  fo.wait = true;
  auto s = db_->Flush(fo, families);
  if (!s.ok()) return FromRocks(s, "flushing the read models");
  auto target = Active(model);
  if (target == nullptr) return Error(ErrorCode::kNotFound, "no read model named " + std::string(model));
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  s = db_->CompactRange(co, target->cf(), nullptr, nullptr);
  if (!s.ok()) return FromRocks(s, "compacting the " + std::string(model) + " read model");
  return OkStatus();
}

Status ProjectionStore::Discard(const std::shared_ptr<const Copy>& copy) {
  if (Active(copy->model()) == copy) {
    return Error(ErrorCode::kInvalidArgument, "cannot discard the active copy of " + copy->model());
  }
  rocksdb::Status s = db_->DropColumnFamily(copy->cf());
  if (!s.ok()) return FromRocks(s, "dropping a copy of " + copy->model());
  return OkStatus();
}

Status ProjectionStore::Write(rocksdb::WriteBatch& batch, bool wal) {
  rocksdb::WriteOptions o;
  o.disableWAL = !wal;
  rocksdb::Status s;
  {
    TsanIgnoreScope rocksdb_write_group;  // the models' threads write at once (engine/base/tsan.h)
    s = db_->Write(o, &batch);
  }
  if (!s.ok()) return FromRocks(s, "writing read-model rows");
  return OkStatus();
}

namespace {

// The entries of a WriteBatch, as views into it, in the order written.
class BatchEntries final : public rocksdb::WriteBatch::Handler {
 public:
  struct Entry {
    std::string_view key;
    std::string_view value;
    bool put = false;
  };
  explicit BatchEntries(uint32_t cf) : cf_(cf) {}
  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key, const rocksdb::Slice& value) override {
    if (cf != cf_) return rocksdb::Status::InvalidArgument("a write to another column family");
    entries.push_back({key.ToStringView(), value.ToStringView(), true});
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice& key) override {
    if (cf != cf_) return rocksdb::Status::InvalidArgument("a write to another column family");
    entries.push_back({key.ToStringView(), {}, false});
    return rocksdb::Status::OK();
  }
  // Anything else (merges, range deletions) is not a row write: refused by
  // the Handler's defaults.
  std::vector<Entry> entries;

 private:
  const uint32_t cf_;
};

}  // namespace

Status ProjectionStore::Load(const Copy& copy, const rocksdb::WriteBatch& batch) {
  if (read_only_) return Error(ErrorCode::kInvalidArgument, "the projection store is open read-only");
  BatchEntries entries(copy.cf()->GetID());
  rocksdb::Status s = batch.Iterate(&entries);
  if (!s.ok()) return FromRocks(s, "loading " + copy.model() + " rows");
  if (entries.entries.empty()) return OkStatus();
  // By key; stable, so that the last write of a key comes last among equals
  // and is the one kept.
  auto& rows = entries.entries;
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  const std::string file = path_ + "/" + std::string(kLoadPrefix) + CopyName(copy.model(), copy.generation()) + "-" +
                           std::to_string(loads_.fetch_add(1)) + ".sst";
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(),
                                rocksdb::Options(db_->GetDBOptions(), db_->GetOptions(copy.cf())), copy.cf());
  s = writer.Open(file);
  for (size_t i = 0; s.ok() && i < rows.size(); ++i) {
    if (i + 1 < rows.size() && rows[i + 1].key == rows[i].key) continue;  // overwritten
    s = rows[i].put ? writer.Put(rows[i].key, rows[i].value) : writer.Delete(rows[i].key);
  }
  if (s.ok()) s = writer.Finish();
  if (s.ok()) {
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;  // a hard link: the rows are not copied again
    s = db_->IngestExternalFile(copy.cf(), {file}, ingest);
  }
  std::error_code ignored;
  std::filesystem::remove(file, ignored);  // moved already when ingested
  if (!s.ok()) return FromRocks(s, "loading " + copy.model() + " rows as a table file");
  return OkStatus();
}

Result<std::optional<std::string>> ProjectionStore::Get(const Copy& copy, std::string_view key,
                                                        const rocksdb::Snapshot* snapshot) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  std::string value;
  rocksdb::Status s = db_->Get(ro, copy.cf(), key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "reading a " + copy.model() + " row");
  return std::optional<std::string>(std::move(value));
}

Result<Checkpoint> ProjectionStore::ReadCheckpoint(const Copy& copy) const {
  auto value = Get(copy, kCheckpointKey);
  if (!value.ok()) return value.error();
  if (!value->has_value()) return Checkpoint{};
  return Checkpoint::Decode(**value);
}

Result<std::vector<std::pair<std::string, uint64_t>>> ReadCheckpointPositions(const std::string& path,
                                                                              const std::vector<std::string>& models) {
  std::vector<std::pair<std::string, uint64_t>> out;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return out;
  ProjectionStoreOptions read_only;
  read_only.read_only = true;
  auto store = ProjectionStore::Open(path, models, read_only);
  if (!store.ok()) return store.error();
  for (const auto& model : models) {
    auto copy = (*store)->Active(model);
    if (copy == nullptr) continue;
    auto checkpoint = (*store)->ReadCheckpoint(*copy);
    if (checkpoint.ok()) out.emplace_back(model, checkpoint->position);
  }
  return out;
}

}  // namespace tally::projections
