// RocksDbEventLog: its column families, opening, and the append path
// (Prepare, Stage, Commit). Reads and upkeep: rocksdb_event_log_read.cc.
#include "engine/rocksdb_event_log.h"
#include "engine/rocksdb_event_log_options.h"

#include <sys/statvfs.h>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>
#include <unordered_set>

#include "engine/log_format.h"
#include "engine/request_record_codec.h"
#include "engine/rocksdb_error.h"
#include "engine/rocksdb_logger.h"
#include "events/codec.h"

namespace tally {
namespace {

using namespace log_format;  // NOLINT: the layout constants

Error RequestIdReused(const std::string& request_id) {
  return Error(ErrorCode::kRequestIdReused,
               "request id '" + request_id + "' was used before for a different request");
}

// The answer to a retry of an applied request: its first outcome.
AppendOutcome Replay(RequestRecord record) {
  AppendOutcome out;
  out.first_position = record.first_position;
  out.last_position = record.last_position;
  out.replayed = true;
  out.outcome = std::move(record.outcome);
  return out;
}

// streams keys are "<stream id>\0<version>": the prefix is the stream id
// with its terminator, so one stream's entries share a memtable bucket.
class StreamIdPrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "tally.StreamIdPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const void* nul = std::memchr(key.data(), '\0', key.size());
    return rocksdb::Slice(key.data(), static_cast<const char*>(nul) - key.data() + 1);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return std::memchr(key.data(), '\0', key.size()) != nullptr;
  }
};

// Index column families take random keys (request ids, unique keys, stream
// ids). In a skiplist memtable each such insert walks ~20 cache-missing
// levels (~5 us here), more than the rest of an append; hash-bucketed
// memtables make inserts and point lookups O(1). Reads are point lookups
// (requests, unique) or within one stream's prefix (streams).
rocksdb::ColumnFamilyOptions IndexCfOptions(const std::shared_ptr<rocksdb::Cache>& cache,
                                            std::shared_ptr<const rocksdb::SliceTransform> prefix) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  // Lookups of request ids and unique keys mostly miss: a bloom filter
  // answers those without reading a block.
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.whole_key_filtering = true;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  o.prefix_extractor = std::move(prefix);
  o.memtable_factory.reset(rocksdb::NewHashSkipListRepFactory(1 << 18));
  // The same in the memtable: a miss costs a few hashes.
  o.memtable_whole_key_filtering = true;
  o.memtable_prefix_bloom_size_ratio = 0.05;
  o.write_buffer_size = 16 << 20;
  return o;
}

rocksdb::ColumnFamilyOptions EventsCfOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.block_size = 16 << 10;  // scans dominate; bigger blocks compress better
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  o.write_buffer_size = 64 << 20;
  o.compression = rocksdb::kLZ4Compression;
  o.bottommost_compression = rocksdb::kZSTD;
  return o;
}

}  // namespace

EventLogStorageOptions MakeEventLogStorageOptions(size_t block_cache_bytes) {
  EventLogStorageOptions out;
  rocksdb::DBOptions& db_options = out.db;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  db_options.max_open_files = -1;
  // Hash memtables (IndexCfOptions) do not take concurrent inserts; there is
  // one writer thread anyway.
  db_options.allow_concurrent_memtable_write = false;
  // Not the LOG file: see rocksdb_logger.h (a full disk must not abort).
  db_options.info_log = NewStderrRocksLogger("event log");
  auto cache = rocksdb::NewLRUCache(block_cache_bytes);
  std::shared_ptr<const rocksdb::SliceTransform> capped(rocksdb::NewCappedPrefixTransform(64));
  out.families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kEventsCf, EventsCfOptions(cache)},
      {kStreamsCf, IndexCfOptions(cache, std::make_shared<StreamIdPrefix>())},
      {kRequestsCf, IndexCfOptions(cache, capped)},
      {kUniqueCf, IndexCfOptions(cache, capped)},
      {kMetaCf, rocksdb::ColumnFamilyOptions()},
      {kKeysCf, rocksdb::ColumnFamilyOptions()},
  };
  return out;
}

// A prepared batch: its WriteBatch and its place in the commit order.
class RocksDbEventLog::Batch final : public PreparedBatch {
 public:
  rocksdb::WriteBatch wb;
  uint64_t seq = 0;            // 1, 2, 3, ... in Prepare order
  uint64_t last_position = 0;  // the head once this batch is durable
  ChainDigest last_hash{};     // the chain hash at last_position
  std::vector<std::string> request_ids;  // staged here, pending until durable
  std::vector<std::string> claims;
  // Index entries, inserted sorted after the events: sorted inserts are
  // kinder to the memtables than batch order.
  std::vector<std::pair<std::string, std::string>> stream_entries, request_entries, unique_entries, key_entries;
  // The first WriteBatch::Put that failed (a key or value over RocksDB's
  // limits): Commit then refuses the batch and every batch with it, as a
  // failed write, before writing anything.
  rocksdb::Status put_failure;
  template <typename Key, typename Value>
  void Put(rocksdb::ColumnFamilyHandle* cf, const Key& key, const Value& value) {
    rocksdb::Status s = wb.Put(cf, key, value);
    if (!s.ok() && put_failure.ok()) put_failure = std::move(s);
  }
};

Result<std::unique_ptr<RocksDbEventLog>> RocksDbEventLog::Open(
    const std::string& path, const RocksDbEventLogOptions& options) {
  return OpenImpl(path, options, Mode::kWrite);
}

Result<std::unique_ptr<RocksDbEventLog>> RocksDbEventLog::OpenReadOnly(const std::string& path, bool salvage_wal) {
  RocksDbEventLogOptions options;
  options.salvage_wal = salvage_wal;
  return OpenImpl(path, options, Mode::kReadOnly);
}

void RocksDbEventLog::RecordHeadMark(uint64_t position, const ChainDigest& hash, bool sync) {
  // Unsynced appends (benchmarks' generation) are marked only at close,
  // once the WAL is synced: a mark never claims what a crash can lose.
  if (!mark_ || (!options_.sync && !sync)) return;
  Status s = mark_->Record({position, hash}, sync);
  if (!s.ok() && !mark_failed_) {
    mark_failed_ = true;  // said once: the mark is a witness, the commit stands
    std::fprintf(stderr, "tally event log: %s (the head mark is behind; damage to the log's tail may go unseen)\n",
                 s.error().ToString().c_str());
  }
}

Result<std::unique_ptr<RocksDbEventLog>> RocksDbEventLog::OpenFollower(const std::string& path,
                                                                      const std::string& scratch_dir) {
  return OpenImpl(path, RocksDbEventLogOptions{}, Mode::kFollow, scratch_dir);
}

Status RocksDbEventLog::CatchUp() {
  if (mode_ != Mode::kFollow) return Error(ErrorCode::kInvalidArgument, "CatchUp needs a log opened with OpenFollower");
  auto s = db_->TryCatchUpWithPrimary();
  if (!s.ok()) return FromRocks(s, "catching up with the writer");
  return LoadHead();
}

Result<std::unique_ptr<RocksDbEventLog>> RocksDbEventLog::OpenImpl(
    const std::string& path, const RocksDbEventLogOptions& options, Mode mode,
    const std::string& follower_dir) {
  std::unique_ptr<RocksDbEventLog> log(new RocksDbEventLog());
  log->mode_ = mode;
  log->options_ = options;
  log->path_ = path;
  const bool read_only = mode != Mode::kWrite;
  if (!read_only) log->staging_ = std::make_unique<LogStaging>();

  EventLogStorageOptions storage = MakeEventLogStorageOptions(options.block_cache_bytes);
  rocksdb::DBOptions& db_options = storage.db;
  db_options.create_if_missing = !read_only;
  // A damaged record in the write-ahead log is an error, not its end: the
  // default (point-in-time recovery) drops everything after it, acknowledged
  // events included, and opens as if nothing happened. A torn last record
  // (a write that was never synced, so never acknowledged) is still
  // tolerated; a cut at a record boundary is not seen by RocksDB at all:
  // the head mark is that witness. Tracking WALs in the MANIFEST catches a
  // rotated WAL that is cut or missing (the live one is never tracked).
  db_options.wal_recovery_mode = options.salvage_wal ? rocksdb::WALRecoveryMode::kPointInTimeRecovery
                                                     : rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  // Not for a secondary (unsupported), nor for a salvage that writes (a
  // heal must open what tracking refuses: opened without it, RocksDB
  // clears the tracked WALs). A read-only open must track as the writer did:
  // RocksDB 7.8 asserts (aborts) when a read-only open without tracking
  // finds tracked WALs in the MANIFEST; beside a running tallyd it can race
  // a WAL's purge (a false "Missing WAL"), so it is tried again. RocksDB 7.8
  // also has a rare false "Missing WAL" after a sync racing a purge (fixed
  // in 7.10, facebook/rocksdb#10892): tallyd then refuses to start, and a
  // heal clears it.
  db_options.track_and_verify_wals_in_manifest =
      mode == Mode::kReadOnly || (mode == Mode::kWrite && !options.salvage_wal);
  db_options.create_missing_column_families = !read_only;
  if (options.file_system) {
    log->env_ = rocksdb::NewCompositeEnv(options.file_system);
    db_options.env = log->env_.get();
  }
  const std::vector<rocksdb::ColumnFamilyDescriptor>& cfs = storage.families;
  // Made here, so that RocksDB does not report a missing folder as an error.
  if (!read_only) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      mode == Mode::kFollow ? rocksdb::DB::OpenAsSecondary(db_options, path, follower_dir, cfs, &log->cf_, &raw)
      : read_only           ? rocksdb::DB::OpenForReadOnly(db_options, path, cfs, &log->cf_, &raw)
                            : rocksdb::DB::Open(db_options, path, cfs, &log->cf_, &raw);
  // A read-only open that read the MANIFEST just before a running writer
  // purged a WAL it lists: read again (a real loss stays missing).
  for (int attempt = 0; mode == Mode::kReadOnly && attempt < 3 && s.IsCorruption() &&
                        s.ToString().find("Missing WAL") != std::string::npos;
       ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    s = rocksdb::DB::OpenForReadOnly(db_options, path, cfs, &log->cf_, &raw);
  }
  if (!s.ok()) return FromRocks(s, "opening event log at " + path);
  log->db_.reset(raw);

  // The format marker: written on creation, checked on every open.
  std::string format;
  s = raw->Get(rocksdb::ReadOptions(), log->cf_[kMeta], kFormatKey, &format);
  if (s.IsNotFound()) {
    if (read_only) return Error(ErrorCode::kFormatMismatch, path + " has no tally format marker");
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = raw->Put(wo, log->cf_[kMeta], kFormatKey, kFormatValue);
    if (!s.ok()) return FromRocks(s, "writing format marker");
  } else if (!s.ok()) {
    return FromRocks(s, "reading format marker");
  } else if (format != kFormatValue) {
    return Error(ErrorCode::kFormatMismatch,
                 path + " holds format '" + format + "', this build reads '" + kFormatValue + "'");
  }
  TALLY_RETURN_IF_ERROR(log->LoadHead());
  // Findings outlive the process (log_damage.h). A follower's folder is
  // the writer's: it records nothing there.
  if (mode != Mode::kFollow) log->damage().RecordTo(path + "/" + kDamageFile);
  if (mode == Mode::kWrite) {
    auto mark = HeadMarkWriter::Open(path);
    if (!mark.ok()) return mark.error();
    log->mark_ = std::move(*mark);
  }
  return log;
}

RocksDbEventLog::~RocksDbEventLog() {
  if (!db_) return;
  // Closing: the mark says exactly where the log ends (synced).
  if (staging_ && !failed() && staging_->position == Head() && (options_.sync || db_->FlushWAL(/*sync=*/true).ok())) {
    RecordHeadMark(Head(), staging_->hash, /*sync=*/true);
  }
  // Nothing to do about a failure here: every acknowledged write is synced.
  for (auto* cf : cf_) db_->DestroyColumnFamilyHandle(cf).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
}

Status RocksDbEventLog::LoadHead() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kEvents]));
  it->SeekToLast();
  if (!it->status().ok()) return FromRocks(it->status(), "seeking to the log head");
  if (!it->Valid()) {
    head_.store(0);
    if (staging_) {
      staging_->position = 0;
      staging_->hash = kGenesisDigest;
    }
    return OkStatus();
  }
  if (it->key().size() != 8 || it->value().size() < kHashSize) {
    return Error(ErrorCode::kCorruption, "the last event record is malformed");
  }
  const uint64_t head = GetBigEndian64(it->key().ToStringView());
  head_.store(head);
  if (staging_) {
    staging_->position = head;
    std::memcpy(staging_->hash.data(), it->value().data(), kHashSize);
  }
  return OkStatus();
}

Result<uint64_t> RocksDbEventLog::CurrentVersion(std::string_view stream_id) {
  if (auto it = staging_->stream_versions.find(stream_id); it != staging_->stream_versions.end()) return it->second;
  // Not cached: nothing was staged for it since open, so RocksDB is current.
  auto v = StreamVersion(stream_id);
  if (!v.ok()) return v.error();
  staging_->stream_versions.emplace(std::string(stream_id), *v);
  return *v;
}

Result<AppendOutcome> RocksDbEventLog::Stage(Batch& batch, AppendRequest& req,
                                             const StoredRequest& stored) {
  // 1. Idempotency: a request id staged before (durable or not).
  if (!req.request_id.empty()) {
    if (auto it = staging_->pending_requests.find(req.request_id); it != staging_->pending_requests.end()) {
      if (!SameRequest(it->second.fingerprint, req.fingerprint)) return RequestIdReused(req.request_id);
      return Replay(it->second);
    }
    const rocksdb::Status& s = *stored.status;
    if (s.ok()) {
      auto rec = DecodeRequestRecord(stored.value->ToStringView());
      if (!rec.ok()) return rec.error();
      if (!SameRequest(rec->fingerprint, req.fingerprint)) return RequestIdReused(req.request_id);
      return Replay(std::move(*rec));
    }
    if (!s.IsNotFound()) return FromRocks(s, "reading request id");
  }
  // 2. Every check, before anything is staged: a rejected request leaves the
  // batch untouched.
  for (const auto& e : req.expectations) {
    if (e.expected_version == kAnyVersion) continue;
    auto current = CurrentVersion(e.stream_id);
    if (!current.ok()) return current.error();
    if (*current != e.expected_version) {
      return Error(ErrorCode::kWrongExpectedVersion,
                   "stream '" + e.stream_id + "' is at version " + std::to_string(*current) +
                       ", expected " + std::to_string(e.expected_version));
    }
  }
  if (!req.claims.empty() && req.events.empty()) {
    return Error(ErrorCode::kInvalidArgument, "a unique claim needs an event that records it");
  }
  std::unordered_set<std::string_view> own_claims;
  for (const auto& c : req.claims) {
    if (c.key.empty()) return Error(ErrorCode::kInvalidArgument, "empty unique key");
    bool taken = !own_claims.insert(c.key).second || staging_->pending_claims.count(c.key) > 0;
    if (!taken) {
      auto owner = UniqueOwner(c.key);
      if (!owner.ok()) return owner.error();
      taken = owner->has_value();
    }
    if (taken) return Error(ErrorCode::kUniqueKeyTaken, "'" + c.key + "' is already taken");
  }
  if (!req.key_changes.empty() && req.events.empty()) {
    return Error(ErrorCode::kInvalidArgument, "a key change needs an event that records it");
  }
  for (const auto& k : req.key_changes) {
    if (k.customer_id.empty()) return Error(ErrorCode::kInvalidArgument, "key change without a customer id");
  }
  // Views into the events' own bytes, which stamping changes in place
  // (fixed-size fields) but never moves.
  std::vector<std::string_view> streams;
  streams.reserve(req.events.size());
  for (auto& bytes : req.events) {
    auto env = events::VerifyEnvelope(bytes);
    if (!env.ok()) {
      return Error(ErrorCode::kInvalidArgument, "malformed event: " + env.error().message());
    }
    std::string_view stream = events::View((*env)->stream_id());
    if (stream.find('\0') != std::string_view::npos) {
      return Error(ErrorCode::kInvalidArgument, "stream id contains a NUL byte");
    }
    // Proves the placeholders are present, so stamping below cannot fail.
    if (!events::StampEnvelope(bytes, 0, 0, 0)) {
      return Error(ErrorCode::kInvalidArgument, "event was not built by FinishEnvelope");
    }
    auto current = CurrentVersion(stream);  // loads the cache entry used below
    if (!current.ok()) return current.error();
    streams.emplace_back(stream);
  }
  // 3. Stage: stamp, chain, index. Nothing here can fail. A stream gets one
  // index entry per request: its first version here -> the positions of
  // its events in this request.
  AppendOutcome out;
  out.stream_versions.reserve(req.events.size());
  const int64_t now = options_.clock->NowMicros();
  std::vector<std::pair<size_t, std::string>> chunks;  // (index into streams, packed positions)
  for (size_t i = 0; i < req.events.size(); ++i) {
    const uint64_t version = ++staging_->stream_versions.find(streams[i])->second;  // loaded in step 2
    const uint64_t position = ++staging_->position;
    std::string& bytes = req.events[i];
    (void)events::StampEnvelope(bytes, position, version, now);  // checked in step 2
    staging_->hash = staging_->hasher.Next(staging_->hash, bytes);
    const std::string key = EventKey(position);
    rocksdb::Slice parts[] = {
        rocksdb::Slice(reinterpret_cast<const char*>(staging_->hash.data()), kHashSize),
        rocksdb::Slice(bytes)};
    rocksdb::Slice key_part(key);
    batch.Put(cf_[kEvents], rocksdb::SliceParts(&key_part, 1), rocksdb::SliceParts(parts, 2));
    auto chunk = std::find_if(chunks.begin(), chunks.end(),
                              [&](const auto& c) { return streams[c.first] == streams[i]; });
    if (chunk == chunks.end()) chunk = chunks.insert(chunks.end(), {i, std::string()});
    PutBigEndian64(chunk->second, position);
    if (out.first_position == 0) out.first_position = position;
    out.last_position = position;
    out.stream_versions.push_back(version);
  }
  for (auto& [i, positions] : chunks) {
    batch.stream_entries.emplace_back(StreamKey(streams[i], out.stream_versions[i]),
                                      std::move(positions));
  }
  for (const auto& c : req.claims) {
    std::string value;
    PutBigEndian64(value, out.last_position);
    value.append(c.owner);
    batch.unique_entries.emplace_back(c.key, std::move(value));
    staging_->pending_claims.emplace(c.key, out.last_position);
    batch.claims.push_back(c.key);
  }
  for (const auto& k : req.key_changes) {
    batch.key_entries.emplace_back(k.customer_id, personal::EncodeKeyRecord(KeyRecordOf(k, out.last_position)));
  }
  if (!req.request_id.empty()) {
    batch.request_entries.emplace_back(
        req.request_id,
        EncodeRequestRecord(out.first_position, out.last_position, req.fingerprint, req.outcome));
    staging_->pending_requests.emplace(req.request_id, RequestRecord{req.fingerprint, out.first_position,
                                                            out.last_position, req.outcome});
    batch.request_ids.push_back(req.request_id);
  }
  out.outcome = std::move(req.outcome);
  return out;
}

std::unique_ptr<PreparedBatch> RocksDbEventLog::Prepare(std::span<AppendRequest> requests) {
  auto batch = std::make_unique<Batch>();
  batch->results.reserve(requests.size());
  std::optional<Error> refuse;
  if (!staging_) refuse = damage().AsError().value_or(Error(ErrorCode::kInvalidArgument, "event log is open read-only"));
  if (failed()) refuse = WriteFailure();
  if (refuse) {  // Commit refuses it too
    for (size_t i = 0; i < requests.size(); ++i) batch->results.emplace_back(*refuse);
    return batch;
  }
  staging_->ForgetUpTo(committed_seq_.load(std::memory_order_acquire));
  batch->seq = ++staging_->seq;
  // Nothing is decided on a damaged log; the disk's reserve. Either way an
  // empty batch, committed in its turn.
  if ((refuse = damage().AsError()) || (refuse = BelowReserve())) {
    for (size_t i = 0; i < requests.size(); ++i) batch->results.emplace_back(*refuse);
    batch->last_position = staging_->position;
    batch->last_hash = staging_->hash;
    return batch;
  }
  // Look up every request id of the batch in one MultiGet: batched bloom
  // probes and block reads cost a fraction of one Get each.
  std::vector<rocksdb::Slice> ids;
  std::vector<size_t> id_index(requests.size(), SIZE_MAX);
  for (size_t i = 0; i < requests.size(); ++i) {
    if (!requests[i].request_id.empty()) {
      id_index[i] = ids.size();
      ids.emplace_back(requests[i].request_id);
    }
  }
  std::vector<rocksdb::PinnableSlice> values(ids.size());
  std::vector<rocksdb::Status> statuses(ids.size());
  if (!ids.empty()) {
    db_->MultiGet(rocksdb::ReadOptions(), cf_[kRequests], ids.size(), ids.data(), values.data(),
                  statuses.data());
  }
  const rocksdb::Status not_found = rocksdb::Status::NotFound();
  for (size_t i = 0; i < requests.size(); ++i) {
    StoredRequest stored{&not_found, nullptr};
    if (id_index[i] != SIZE_MAX) stored = {&statuses[id_index[i]], &values[id_index[i]]};
    batch->results.push_back(Stage(*batch, requests[i], stored));
  }
  batch->last_position = staging_->position;
  batch->last_hash = staging_->hash;

  for (auto [entries, cf] : {std::pair{&batch->stream_entries, kStreams},
                             std::pair{&batch->request_entries, kRequests},
                             std::pair{&batch->unique_entries, kUnique},
                             std::pair{&batch->key_entries, kKeys}}) {
    std::sort(entries->begin(), entries->end());
    for (const auto& [key, value] : *entries) batch->Put(cf_[cf], key, value);
    entries->clear();
  }
  if (!batch->request_ids.empty()) staging_->pending_by_seq.emplace_back(batch->seq, std::move(batch->request_ids));
  if (!batch->claims.empty()) staging_->claims_by_seq.emplace_back(batch->seq, std::move(batch->claims));
  return batch;
}

Status RocksDbEventLog::Commit(std::span<PreparedBatch* const> batches) {
  if (batches.empty()) return OkStatus();
  if (failed()) return *WriteFailure();
  if (!staging_) return Error(ErrorCode::kInvalidArgument, "event log is open read-only");
  // Every batch but the last non-empty one is written unsynced; syncing that
  // one syncs the WAL up to it, so one fsync covers them all.
  size_t last_write = batches.size();
  for (size_t i = 0; i < batches.size(); ++i) {
    auto* batch = static_cast<Batch*>(batches[i]);
    if (batch->seq != staging_->commit_expected_seq++) {
      return Fail(Error(ErrorCode::kInvalidArgument, "prepared batches committed out of order"));
    }
    if (!batch->put_failure.ok()) return Fail(FromRocks(batch->put_failure, "staging a batch"));
    if (batch->wb.Count() > 0) last_write = i;
  }
  for (size_t i = 0; i < batches.size() && last_write < batches.size(); ++i) {
    auto* batch = static_cast<Batch*>(batches[i]);
    if (batch->wb.Count() == 0) continue;
    rocksdb::WriteOptions wo;
    wo.sync = options_.sync && i == last_write;
    rocksdb::Status s = db_->Write(wo, &batch->wb);
    if (!s.ok()) return Fail(FromRocks(s, "writing " + std::to_string(batches.size()) + " prepared batches"));
  }
  auto* final_batch = static_cast<Batch*>(batches.back());
  // Durable: the head mark first (a witness never ahead of the log), then
  // publish to readers, then let the stager forget pending ids.
  if (final_batch->last_position != head_.load(std::memory_order_relaxed)) {
    RecordHeadMark(final_batch->last_position, final_batch->last_hash);
  }
  head_.store(final_batch->last_position, std::memory_order_release);
  committed_seq_.store(final_batch->seq, std::memory_order_release);
  return OkStatus();
}

Result<std::optional<RequestRecord>> RocksDbEventLog::FindStagedRequest(std::string_view request_id) const {
  if (!staging_) return FindRequest(request_id);
  if (auto it = staging_->pending_requests.find(std::string(request_id)); it != staging_->pending_requests.end()) {
    return std::optional<RequestRecord>(it->second);
  }
  return FindRequest(request_id);
}

Error RocksDbEventLog::Fail(Error error) {
  {
    MutexLock lock(&failure_mu_);
    failure_ = error;
  }
  failed_.store(true, std::memory_order_release);
  std::fprintf(stderr, "tally event log: writes refused until the storage recovers: %s\n",
               error.message().c_str());
  return error;
}

std::optional<Error> RocksDbEventLog::WriteFailure() const {
  if (!failed()) {
    if (auto damaged = damage().AsError()) return damaged;
    return staging_ ? BelowReserve() : std::nullopt;
  }
  MutexLock lock(&failure_mu_);
  return failure_;
}

std::optional<Error> RocksDbEventLog::BelowReserve() const {
  if (options_.min_free_bytes == 0) return std::nullopt;
  // One statvfs (about a microsecond) per prepared batch, not per request.
  struct statvfs fs {};
  if (statvfs(path_.c_str(), &fs) != 0) return std::nullopt;  // the next write says what is wrong
  const uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (free_bytes >= options_.min_free_bytes) return std::nullopt;
  constexpr uint64_t kMiB = 1 << 20;
  return Error(ErrorCode::kStorageFull,
               "No space left for the event log: " + std::to_string(free_bytes / kMiB) + " MiB free under " + path_ +
                   ", below the " + std::to_string(options_.min_free_bytes / kMiB) +
                   " MiB kept for the read models and compactions; writes resume once space is freed");
}

Status RocksDbEventLog::Recover() {
  if (!failed()) return OkStatus();
  // OK once RocksDB has cleared its background error (on its own after a
  // full disk, or now for an error it can retry); Busy while its own
  // recovery waits for space.
  rocksdb::Status s = db_->Resume();
  if (!s.ok()) {
    const Error why = *WriteFailure();
    return Error(why.code(), why.message() + " (not recovered yet: " + s.ToString() + ")");
  }
  // What was staged beyond the durable head is gone: forget it all and
  // start again from what RocksDB holds. The failed write never reached a
  // memtable, and RocksDB's recovery flushed and switched the WAL, so it
  // cannot come back later.
  staging_->ForgetAll();
  TALLY_RETURN_IF_ERROR(LoadHead());
  committed_seq_.store(staging_->seq, std::memory_order_release);
  staging_->commit_expected_seq = staging_->seq + 1;
  {
    MutexLock lock(&failure_mu_);
    failure_.reset();
  }
  failed_.store(false, std::memory_order_release);
  std::fprintf(stderr, "tally event log: the storage recovered; writes resume at position %llu\n",
               static_cast<unsigned long long>(Head()));
  return OkStatus();
}

}  // namespace tally
