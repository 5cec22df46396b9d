// EventLog::Scan: every ordered reader's chain check, written once for
// every log (RocksDbEventLog, the tests' fakes).
#include "engine/event_log.h"

#include <algorithm>
#include <cstring>
#include <optional>

namespace tally {
namespace {

constexpr size_t kHashBytes = sizeof(ChainDigest);

ChainHasher& ThreadHasher() {
  thread_local ChainHasher hasher;
  return hasher;
}

}  // namespace

Status EventLog::Scan(uint64_t from, uint64_t to, const std::function<bool(const EventView&)>& fn) const {
  if (from == 0) from = 1;
  const uint64_t head = Head();
  if (to > head) to = head;
  if (from > to) return OkStatus();
  auto damaged = [this](uint64_t first, uint64_t last, std::string witness, std::string detail) {
    LogDamage d{first, last, std::move(witness), std::move(detail)};
    Error e(ErrorCode::kLogDamaged, "the event log is damaged at " + d.ToString());
    damage_.Report(std::move(d));
    return e;
  };
  auto previous = HashAt(from - 1);
  if (!previous.ok()) {
    if (previous.error().code() == ErrorCode::kCorruption || previous.error().code() == ErrorCode::kNotFound) {
      return damaged(from - 1, from - 1, "chain", "cannot read the hash the range starts from: " +
                                                     previous.error().message());
    }
    return previous.error();
  }
  ChainDigest hash = *previous;
  ChainHasher& hasher = ThreadHasher();
  uint64_t expected = from;
  bool stopped = false;
  std::optional<LogDamage> bad;
  Status s = ScanRecords(from, to, [&](const EventView& v) {
    if (v.position != expected) {
      bad = LogDamage{expected, std::min(v.position - 1, to), "chain",
                      "missing: the next stored event is at " + std::to_string(v.position)};
      return false;
    }
    if (v.stored_hash.size() != kHashBytes) {
      bad = LogDamage{v.position, v.position, "chain", "the record is shorter than its hash"};
      return false;
    }
    ChainDigest stored;
    std::memcpy(stored.data(), v.stored_hash.data(), kHashBytes);
    if (hasher.Next(hash, v.envelope) != stored) {
      bad = LogDamage{v.position, v.position, "chain",
                      "chain hash mismatch: the stored event differs from what was written"};
      return false;
    }
    hash = stored;
    ++expected;
    if (!fn(v)) {
      stopped = true;
      return false;
    }
    return true;
  });
  if (bad) {
    LogDamage d = std::move(*bad);
    return damaged(d.first, d.last, d.witness, d.detail);
  }
  if (!s.ok()) {
    if (s.error().code() != ErrorCode::kCorruption) return s;
    return damaged(expected, expected, "storage", "cannot be read: " + s.error().message());
  }
  if (!stopped && expected <= to) {
    return damaged(expected, to, "chain", "missing: the log ends before its head " + std::to_string(to));
  }
  return OkStatus();
}

}  // namespace tally
