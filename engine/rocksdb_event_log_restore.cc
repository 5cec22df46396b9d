// Restoring a log from another copy of its events: envelopes appended as
// they are (already stamped), and the key records a backup holds.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "engine/log_format.h"
#include "engine/rocksdb_error.h"
#include "engine/rocksdb_event_log.h"
#include "events/codec.h"

namespace tally {
namespace {

using namespace log_format;

Status Checked(const rocksdb::Status& s, std::string_view what) {
  return s.ok() ? OkStatus() : Status(FromRocks(s, what));
}

}  // namespace

Status RocksDbEventLog::AppendStamped(std::span<StampedEvent> events) {
  if (!staging_) return Error(ErrorCode::kInvalidArgument, "event log is open read-only");
  if (auto refused = WriteFailure()) return *refused;
  if (staging_->position != Head()) {
    return Error(ErrorCode::kInvalidArgument, "commands are staged on this log: a restore appends alone");
  }
  rocksdb::WriteBatch wb;
  uint64_t position = staging_->position;
  ChainDigest hash = staging_->hash;
  std::unordered_map<std::string, uint64_t> versions;  // streams written by this call
  std::unordered_set<std::string> claimed;
  for (StampedEvent& e : events) {
    const uint64_t expected = position + 1;
    auto env = events::VerifyEnvelope(e.envelope);
    if (!env.ok()) {
      return Error(ErrorCode::kCorruption,
                   "the event after position " + std::to_string(position) + " does not verify: " +
                       env.error().message());
    }
    if ((*env)->position() != expected) {
      return Error(ErrorCode::kInvalidArgument, "expected position " + std::to_string(expected) + ", got " +
                                                    std::to_string((*env)->position()));
    }
    const std::string stream(events::View((*env)->stream_id()));
    if (stream.empty() || stream.find('\0') != std::string::npos) {
      return Error(ErrorCode::kCorruption, "position " + std::to_string(expected) + ": bad stream id");
    }
    auto version = versions.find(stream);
    if (version == versions.end()) {
      auto durable = StreamVersion(stream);
      if (!durable.ok()) return durable.error();
      version = versions.emplace(stream, *durable).first;
    }
    if ((*env)->stream_version() != version->second + 1) {
      return Error(ErrorCode::kCorruption, "position " + std::to_string(expected) + ": stream " + stream +
                                               " version " + std::to_string((*env)->stream_version()) +
                                               " does not follow " + std::to_string(version->second));
    }
    version->second = (*env)->stream_version();
    position = expected;
    hash = staging_->hasher.Next(hash, e.envelope);
    const std::string key = EventKey(position);
    rocksdb::Slice parts[] = {rocksdb::Slice(reinterpret_cast<const char*>(hash.data()), kHashSize),
                              rocksdb::Slice(e.envelope)};
    rocksdb::Slice key_part(key);
    TALLY_RETURN_IF_ERROR(Checked(wb.Put(cf_[kEvents], rocksdb::SliceParts(&key_part, 1),
                                             rocksdb::SliceParts(parts, 2)),
                                      "staging an event"));
    std::string index;
    PutBigEndian64(index, position);
    TALLY_RETURN_IF_ERROR(Checked(wb.Put(cf_[kStreams], StreamKey(stream, version->second), index),
                                      "staging the stream index"));
    for (const UniqueClaim& c : e.claims) {
      auto owner = UniqueOwner(c.key);
      if (!owner.ok()) return owner.error();
      if (owner->has_value() || !claimed.insert(c.key).second) {
        return Error(ErrorCode::kUniqueKeyTaken,
                     "position " + std::to_string(position) + ": '" + c.key + "' is already taken");
      }
      std::string value;
      PutBigEndian64(value, position);
      value.append(c.owner);
      TALLY_RETURN_IF_ERROR(Checked(wb.Put(cf_[kUnique], c.key, value), "staging a unique claim"));
    }
    for (const KeyChange& k : e.key_changes) {
      TALLY_RETURN_IF_ERROR(Checked(
          wb.Put(cf_[kKeys], k.customer_id, personal::EncodeKeyRecord(KeyRecordOf(k, position))), "staging a key"));
    }
  }
  if (wb.Count() == 0) return OkStatus();
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  if (auto s = db_->Write(wo, &wb); !s.ok()) return FromRocks(s, "writing restored events");
  staging_->position = position;
  staging_->hash = hash;
  for (const auto& [stream, v] : versions) staging_->stream_versions[stream] = v;
  head_.store(position, std::memory_order_release);
  RecordHeadMark(position, hash);
  return OkStatus();
}

Status RocksDbEventLog::ForEachKey(
    const std::function<bool(std::string_view customer_id, const personal::KeyRecord&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kKeys]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto record = personal::DecodeKeyRecord(it->value().ToStringView());
    if (!record.ok()) {
      return Error(ErrorCode::kCorruption,
                   "key record of customer " + it->key().ToString() + ": " + record.error().message());
    }
    if (!fn(it->key().ToStringView(), *record)) return OkStatus();
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the key records");
  return OkStatus();
}

}  // namespace tally
