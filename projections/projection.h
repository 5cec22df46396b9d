// What a read model is to the runner: something that applies events in log
// order to rows of its copy, keeping changes in memory until the runner
// flushes them, together with the checkpoint, in one WriteBatch.
#pragma once

#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstdio>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/base/result.h"
#include "engine/rocksdb_error.h"
#include "engine/personal/personal_data.h"
#include "events/events_generated.h"
#include "projections/store.h"

namespace tally::projections {

// The read models this build has, in the order the runner applies them.
inline const std::vector<std::string>& ModelNames() {
  static const std::vector<std::string> names = {"customer", "license", "relationship", "billing"};
  return names;
}

// Thread-compatible: the runner calls Apply, Flush and Discard from one
// thread at a time. `store` must outlive the projection.
class Projection {
 public:
  Projection(ProjectionStore& store, std::shared_ptr<const Copy> copy)
      : store_(store), copy_(std::move(copy)) {}
  virtual ~Projection() = default;
  Projection(const Projection&) = delete;
  Projection& operator=(const Projection&) = delete;

  const std::string& name() const { return copy_->model(); }
  const std::shared_ptr<const Copy>& copy() const { return copy_; }

  // Applies one verified event of a type this build knows, at `position`
  // (each position once, in increasing order). An error means that the
  // event cannot be applied to this model as it stands (the model and the
  // log disagree); the runner then stops this model there.
  virtual Status Apply(uint64_t position, const events::Envelope& event) = 0;

  // Adds every change since the last Flush to `batch` and forgets them.
  // An error (RocksDB refused a key or value: over its size limits) leaves
  // the batch unfit to write; the caller drops it and Discards.
  Status Flush(rocksdb::WriteBatch& batch) {
    TALLY_RETURN_IF_ERROR(FlushRows(batch));
    // In key order (see RowCache::Flush); stable, so that later writes to
    // one key still win.
    std::stable_sort(blind_.begin(), blind_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [key, value] : blind_) {
      const rocksdb::Status s = value ? batch.Put(copy_->cf(), key, *value) : batch.Delete(copy_->cf(), key);
      if (!s.ok()) return FromRocks(s, "staging a row of the " + name() + " model");
    }
    blind_.clear();
    return OkStatus();
  }

  // Forgets every change since the last Flush (after a failed Apply or a
  // failed write): the next Apply reads rows as they are stored.
  void Discard() {
    DiscardRows();
    blind_.clear();
  }

  // The customer a stored row belongs to; nullopt for the copy's own keys
  // (checkpoint, Kafka offsets). Every row of a model belongs to exactly
  // one customer (the Kafka key of the events that wrote it).
  virtual std::optional<std::string_view> CustomerOfRow(std::string_view key, std::string_view value) const = 0;

  // Adds to `batch` the deletion of every stored row whose customer `drop`
  // selects, and forgets cached rows. Call right after a Flush. Returns the
  // number of rows deleted.
  Result<size_t> DropCustomers(const std::function<bool(std::string_view customer_id)>& drop,
                               rocksdb::WriteBatch& batch);

 protected:
  virtual Status FlushRows(rocksdb::WriteBatch& batch) = 0;
  virtual void DiscardRows() = 0;

  // Writes to keys the projection never reads back (index entries): no
  // lookup needed, applied in order at the next flush.
  void BlindPut(std::string key, std::string value) { blind_.emplace_back(std::move(key), std::move(value)); }
  void BlindDelete(std::string key) { blind_.emplace_back(std::move(key), std::nullopt); }

  // A key built in a buffer of the projection: valid until the next call.
  // For lookups, which copy the key only when they insert it.
  std::string_view ScratchKey(char tag, std::string_view a) {
    scratch_.assign(1, tag);
    scratch_.append(a);
    return scratch_;
  }
  std::string_view ScratchKey(char tag, std::string_view a, std::string_view b) {
    ScratchKey(tag, a);
    scratch_.push_back('\0');
    scratch_.append(b);
    return scratch_;
  }

  ProjectionStore& store_;
  std::shared_ptr<const Copy> copy_;

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> blind_;
  std::string scratch_;
};

// A write-back cache of decoded rows for one key space of a projection:
// rows are read from the copy once, changed in memory by any number of
// events, and written once per flush. Clean rows stay cached across flushes
// (most events touch recently touched rows) until there are more than
// `max_rows`, then the clean ones are dropped; dirty rows are never dropped
// before they are written. `Row` provides `std::string Encode() const` and
// `static bool Decode(std::string_view, Row*)`.
// Hash and equality that look std::string keys up by std::string_view, so
// that a lookup needs no allocation.
struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

template <typename Row>
class RowCache {
 public:
  struct Entry {
    Row row{};
    bool exists = false;  // false: no such row (set it to create one)
    bool dirty = false;   // use MarkDirty, so that Flush writes it
    const std::string* key = nullptr;  // the map's own copy of the key
  };

  RowCache(ProjectionStore& store, const Copy& copy, size_t max_rows)
      : store_(store), copy_(copy), max_rows_(max_rows) {}

  // The entry for `key`, read from the copy on a miss.
  Result<Entry*> Get(std::string_view key) {
    auto it = rows_.find(key);
    if (it != rows_.end()) return &it->second;
    auto stored = store_.Get(copy_, key);
    if (!stored.ok()) return stored.error();
    Entry entry;
    if (stored->has_value()) {
      if (!Row::Decode(**stored, &entry.row)) {
        return Error(ErrorCode::kCorruption, "malformed " + copy_.model() + " row");
      }
      entry.exists = true;
    }
    auto node = rows_.emplace(std::string(key), std::move(entry)).first;
    node->second.key = &node->first;
    return &node->second;
  }

  // The entry for a key that cannot be stored yet (a new id): no read.
  Entry* Fresh(std::string_view key) {
    auto it = rows_.find(key);
    if (it != rows_.end()) return &it->second;
    auto node = rows_.try_emplace(std::string(key)).first;
    node->second.key = &node->first;
    return &node->second;
  }

  // Records that `entry` (from Get or Fresh) changed.
  void MarkDirty(Entry* entry) {
    if (entry->dirty) return;
    entry->dirty = true;
    dirty_.push_back(entry);
  }

  Status Flush(rocksdb::WriteBatch& batch) {
    // In key order: RocksDB's skiplist inserts sorted keys several times
    // faster than random ones (each insert starts from the previous one).
    std::sort(dirty_.begin(), dirty_.end(), [](const Entry* a, const Entry* b) { return *a->key < *b->key; });
    for (Entry* entry : dirty_) {
      const rocksdb::Status s =
          entry->exists ? batch.Put(copy_.cf(), *entry->key, entry->row.Encode()) : batch.Delete(copy_.cf(), *entry->key);
      if (!s.ok()) return FromRocks(s, "staging a row");  // the caller Discards: every entry is dropped
      entry->dirty = false;
    }
    dirty_.clear();
    if (rows_.size() > max_rows_) rows_.clear();
    return OkStatus();
  }

  void Clear() {
    rows_.clear();
    dirty_.clear();
  }

 private:
  ProjectionStore& store_;
  const Copy& copy_;
  const size_t max_rows_;
  // Node-based: entries keep their address until erased.
  std::unordered_map<std::string, Entry, StringViewHash, std::equal_to<>> rows_;
  std::vector<Entry*> dirty_;
};

// Key helpers: a one-letter tag then fields separated by 0x00 (ids and
// names never contain it).
inline std::string Key(char tag, std::string_view a) {
  std::string k;
  k.reserve(1 + a.size());
  k.push_back(tag);
  k.append(a);
  return k;
}
inline std::string Key(char tag, std::string_view a, std::string_view b) {
  std::string k;
  k.reserve(2 + a.size() + b.size());
  k.push_back(tag);
  k.append(a);
  k.push_back('\0');
  k.append(b);
  return k;
}

// A number in a key: `digits` lower-case hex digits, zero-padded, so that
// key order is number order (times before the epoch sort as 0).
inline std::string KeyHex(int64_t v, int digits) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%0*llx", digits, static_cast<unsigned long long>(std::max<int64_t>(0, v)));
  return hex;
}

// For CustomerOfRow: a row key `tag a 00 b` split into (a, b); b is empty
// without a NUL.
inline std::pair<std::string_view, std::string_view> SplitKey(std::string_view key) {
  key.remove_prefix(key.empty() ? 0 : 1);
  const size_t nul = key.find('\0');
  if (nul == std::string_view::npos) return {key, {}};
  return {key.substr(0, nul), key.substr(nul + 1)};
}

// Makes the projection named `model` over `copy`; nullptr for an unknown
// name. `keys` opens customers' sealed personal fields (the event log, whose
// keys column family holds them); null: the customer model leaves them empty.
std::unique_ptr<Projection> MakeProjection(const std::string& model, ProjectionStore& store,
                                           std::shared_ptr<const Copy> copy, const personal::KeyRing* keys);

}  // namespace tally::projections
