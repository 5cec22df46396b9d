// RocksDbEventLog's reads (by position, by stream, the indexes) and its
// upkeep (flush, erasure's scrub and purge). Opening and appending:
// rocksdb_event_log.cc.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstring>

#include "engine/log_format.h"
#include "engine/request_record_codec.h"
#include "engine/rocksdb_error.h"
#include "engine/rocksdb_event_log.h"
#include "events/codec.h"

namespace tally {

using namespace log_format;  // NOLINT: the layout constants

Result<std::vector<StoredEvent>> RocksDbEventLog::Read(uint64_t from, size_t max) const {
  std::vector<StoredEvent> out;
  if (from == 0) from = 1;
  const uint64_t head = Head();
  if (from > head || max == 0) return out;
  const uint64_t to = max >= head - from + 1 ? head : from + max - 1;
  Status s = Scan(from, to, [&](const EventView& v) {
    StoredEvent e;
    e.position = v.position;
    if (v.stored_hash.size() == kHashSize) std::memcpy(e.hash.data(), v.stored_hash.data(), kHashSize);
    e.envelope = std::string(v.envelope);
    out.push_back(std::move(e));
    return true;
  });
  if (!s.ok()) return s.error();
  return out;
}

Status RocksDbEventLog::ScanRecords(uint64_t from, uint64_t to,
                                    const std::function<bool(const EventView&)>& fn) const {
  const uint64_t head = Head();
  if (to > head) to = head;
  if (from == 0) from = 1;
  if (from > to) return OkStatus();
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2 << 20;
  ro.verify_checksums = true;
  // A scan reads each block once: caching them would only push out the
  // blocks that point lookups need (a rebuild looks up every customer's
  // key while it scans).
  ro.fill_cache = false;
  std::string upper = EventKey(to + 1);
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_[kEvents]));
  std::string aligned;  // reused when RocksDB's bytes are not 8-byte aligned
  for (it->Seek(EventKey(from)); it->Valid(); it->Next()) {
    rocksdb::Slice key = it->key();
    if (key.size() != 8) return Error(ErrorCode::kCorruption, "event key is not 8 bytes");
    EventView v;
    v.position = GetBigEndian64(key.ToStringView());
    v.raw_value = it->value().ToStringView();
    if (v.raw_value.size() >= kHashSize) {
      v.stored_hash = v.raw_value.substr(0, kHashSize);
      v.envelope = v.raw_value.substr(kHashSize);
      if (reinterpret_cast<uintptr_t>(v.envelope.data()) % 8 != 0) {
        aligned.assign(v.envelope);
        v.envelope = aligned;
      }
    }
    if (!fn(v)) return OkStatus();
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scanning events");
  return OkStatus();
}

Status RocksDbEventLog::WalkStream(
    std::string_view stream_id,
    const std::function<bool(uint64_t version, uint64_t position)>& fn) const {
  // Chunks are keyed by their first version; hash memtables cannot seek
  // backwards, so walk the stream's prefix from the start (customer streams
  // are short, and the writer caches versions).
  rocksdb::ReadOptions ro;
  ro.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_[kStreams]));
  const std::string prefix = StreamPrefix(stream_id);
  const uint64_t head = Head();
  for (it->Seek(StreamKey(stream_id, 1)); it->Valid(); it->Next()) {
    std::string_view key = it->key().ToStringView();
    if (key.size() != prefix.size() + 8 || key.substr(0, prefix.size()) != prefix) break;
    std::string_view positions = it->value().ToStringView();
    if (positions.empty() || positions.size() % 8 != 0) {
      return Error(ErrorCode::kCorruption, "stream index entry is not a list of positions");
    }
    uint64_t version = GetBigEndian64(key.substr(prefix.size()));
    for (size_t off = 0; off < positions.size(); off += 8, ++version) {
      const uint64_t position = GetBigEndian64(positions.substr(off, 8));
      if (position > head) return OkStatus();  // not durable yet
      if (!fn(version, position)) return OkStatus();
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading stream index");
  return OkStatus();
}

Result<std::vector<StoredEvent>> RocksDbEventLog::ReadStream(std::string_view stream_id,
                                                             uint64_t from_version,
                                                             size_t max) const {
  std::vector<StoredEvent> out;
  std::vector<std::string> keys;
  TALLY_RETURN_IF_ERROR(WalkStream(stream_id, [&](uint64_t version, uint64_t position) {
    if (version >= from_version) keys.push_back(EventKey(position));
    return keys.size() < max;
  }));
  if (keys.empty()) return out;
  // Each event is checked against the hash stored before it (its link in
  // the chain), so that no command is decided on changed bytes: the record
  // at position - 1 is read with it.
  const size_t n = keys.size();
  for (size_t i = 0; i < n; ++i) keys.push_back(EventKey(GetBigEndian64(keys[i]) - 1));
  rocksdb::ReadOptions ro;
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(keys.size(), cf_[kEvents]);
  std::vector<std::string> values;
  auto statuses = db_->MultiGet(ro, cfs, slices, &values);
  auto damaged = [this](uint64_t position, std::string detail) {
    LogDamage d{position, position, "chain", std::move(detail)};
    Error e(ErrorCode::kLogDamaged, "the event log is damaged at " + d.ToString());
    damage().Report(std::move(d));
    return e;
  };
  thread_local ChainHasher hasher;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t position = GetBigEndian64(keys[i]);
    for (size_t k : {i, n + i}) {
      if (k == n + i && position == 1) continue;  // before position 1: the genesis hash
      if (statuses[k].IsNotFound()) return damaged(position, "missing: the stream index names it");
      if (statuses[k].IsCorruption()) return damaged(position, "cannot be read: " + statuses[k].ToString());
      if (!statuses[k].ok()) return FromRocks(statuses[k], "reading a stream's event");
      if (values[k].size() < kHashSize) return damaged(position, "the record is shorter than its hash");
    }
    ChainDigest previous = kGenesisDigest;
    if (position > 1) std::memcpy(previous.data(), values[n + i].data(), kHashSize);
    StoredEvent e;
    e.position = position;
    std::memcpy(e.hash.data(), values[i].data(), kHashSize);
    e.envelope = values[i].substr(kHashSize);
    if (hasher.Next(previous, e.envelope) != e.hash) {
      return damaged(position, "chain hash mismatch: the stored event differs from what was written");
    }
    out.push_back(std::move(e));
  }
  return out;
}

Result<uint64_t> RocksDbEventLog::StreamVersion(std::string_view stream_id) const {
  uint64_t last = 0;
  TALLY_RETURN_IF_ERROR(WalkStream(stream_id, [&](uint64_t version, uint64_t) {
    last = version;
    return true;
  }));
  return last;
}

Result<std::optional<std::string>> RocksDbEventLog::UniqueOwner(std::string_view key) const {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), cf_[kUnique], key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "reading unique key");
  if (value.size() < 8) return Error(ErrorCode::kCorruption, "unique record too short");
  // Written but not yet durable: not visible.
  if (GetBigEndian64(value) > Head()) return std::optional<std::string>();
  return std::optional<std::string>(value.substr(8));
}

Result<std::optional<RequestRecord>> RocksDbEventLog::FindRequest(std::string_view request_id) const {
  rocksdb::PinnableSlice value;
  auto s = db_->Get(rocksdb::ReadOptions(), cf_[kRequests], request_id, &value);
  if (s.IsNotFound()) return std::optional<RequestRecord>();
  if (!s.ok()) return FromRocks(s, "reading request id");
  auto rec = DecodeRequestRecord(value.ToStringView());
  if (!rec.ok()) return rec.error();
  if (rec->last_position > Head()) return std::optional<RequestRecord>();  // not durable yet
  return std::optional<RequestRecord>(std::move(*rec));
}

Result<personal::KeyRecord> RocksDbEventLog::FindKey(std::string_view customer_id) const {
  rocksdb::PinnableSlice value;
  auto s = db_->Get(rocksdb::ReadOptions(), cf_[kKeys], customer_id, &value);
  if (s.IsNotFound()) return personal::KeyRecord{};
  if (!s.ok()) return FromRocks(s, "reading a customer key");
  return personal::DecodeKeyRecord(value.ToStringView());
}

Status RocksDbEventLog::Flush() {
  if (mode_ != Mode::kWrite) return Error(ErrorCode::kInvalidArgument, "event log is open read-only");
  rocksdb::FlushOptions fo;
  fo.wait = true;
  std::vector<rocksdb::ColumnFamilyHandle*> all(cf_.begin(), cf_.end());
  auto s = db_->Flush(fo, all);
  if (!s.ok()) return FromRocks(s, "flushing the log");
  return OkStatus();
}

Result<size_t> RocksDbEventLog::ScrubRequestFingerprints(const std::function<bool(const RequestRecord&)>& erased) {
  if (mode_ != Mode::kWrite) return Error(ErrorCode::kInvalidArgument, "event log is open read-only");
  rocksdb::WriteBatch batch;
  size_t changed = 0;
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;  // every record, across prefixes (and hash memtable buckets)
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_[kRequests]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto record = DecodeRequestRecord(it->value().ToStringView());
    if (!record.ok()) return record.error();
    auto scrubbed = ScrubbedFingerprint(record->fingerprint);
    if (!scrubbed || !erased(*record)) continue;
    auto s = batch.Put(cf_[kRequests], it->key(),
                       EncodeRequestRecord(record->first_position, record->last_position, *scrubbed, record->outcome));
    if (!s.ok()) return FromRocks(s, "scrubbing request fingerprints");
    ++changed;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading request records");
  if (changed == 0) return changed;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = db_->Write(wo, &batch);
  if (!s.ok()) return FromRocks(s, "scrubbing request fingerprints");
  return changed;
}

Status RocksDbEventLog::PurgeDestroyedKeys() {
  TALLY_RETURN_IF_ERROR(Flush());
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (auto [cf, what] : {std::pair{kKeys, "keys"}, std::pair{kRequests, "request records"}}) {
    auto s = db_->CompactRange(co, cf_[cf], nullptr, nullptr);
    if (!s.ok()) return FromRocks(s, std::string("compacting the ") + what + " after an erasure");
  }
  return OkStatus();
}

Result<ChainDigest> RocksDbEventLog::HashAt(uint64_t position) const {
  if (position == 0) return kGenesisDigest;
  if (position > Head()) return Error(ErrorCode::kNotFound, "no event at " + std::to_string(position));
  rocksdb::PinnableSlice value;
  auto s = db_->Get(rocksdb::ReadOptions(), cf_[kEvents], EventKey(position), &value);
  if (!s.ok()) return FromRocks(s, "reading event " + std::to_string(position));
  if (value.size() < kHashSize) return Error(ErrorCode::kCorruption, "event record too short");
  ChainDigest d;
  std::memcpy(d.data(), value.data(), kHashSize);
  return d;
}

}  // namespace tally
