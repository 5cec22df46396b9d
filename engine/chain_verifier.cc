#include "engine/chain_verifier.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include "engine/log_format.h"
#include "events/codec.h"

namespace tally {
namespace {

// Every check of a record needs only its own bytes and the hash stored in
// the record before it: hash(n) must equal SHA-256(stored hash(n-1) ||
// envelope(n)). If every record passes, the stored chain is the recomputed
// chain, and the first record that fails is the one a sequential
// recomputation names. So the range is cut into segments, each scanned and
// checked by its own thread from the hash stored just before it; the scan,
// not the hashing, is what one thread is limited by.

// Below this many records per segment, threads cost more than they save.
constexpr uint64_t kMinSegmentRecords = 4096;

struct SegmentResult {
  uint64_t checked = 0;    // records examined, the bad one included
  uint64_t first_bad = 0;  // 0: the whole segment verified
  std::string reason;
};

class Segment {
 public:
  // Positions [from, to] of a range that ends at `range_to`.
  Segment(const EventLog& log, uint64_t from, uint64_t to, uint64_t range_to, std::atomic<uint64_t>& verified,
          std::atomic<uint64_t>& earliest_bad)
      : log_(log), from_(from), to_(to), range_to_(range_to), verified_(verified), earliest_bad_(earliest_bad) {}

  Result<SegmentResult> Run() {
    auto previous = log_.HashAt(from_ - 1);
    if (!previous.ok()) {
      Fail(from_ - 1, "cannot read the hash before the range: " + previous.error().message());
      return result_;
    }
    previous_ = *previous;
    expected_ = from_;
    uint64_t unreported = 0;
    Status s = log_.ScanRecords(from_, to_, [&](const EventView& v) {
      const bool good = Check(v);
      if (++unreported == 4096 || !good) {
        verified_.fetch_add(unreported, std::memory_order_relaxed);
        unreported = 0;
        // A bad record before this segment makes the rest of it moot.
        if (good && earliest_bad_.load(std::memory_order_relaxed) < v.position) return false;
      }
      return good;
    });
    verified_.fetch_add(unreported, std::memory_order_relaxed);
    if (!s.ok() && s.error().code() == ErrorCode::kCorruption && result_.first_bad == 0) {
      // The storage could not read a record (a table block that fails its
      // checksum): the record at expected_ is the first one not seen.
      Fail(expected_, "cannot be read: " + s.error().message());
      return result_;
    }
    if (!s.ok()) return s.error();
    if (result_.first_bad == 0 && expected_ == to_ + 1) result_.checked = to_ - from_ + 1;
    if (result_.first_bad == 0 && expected_ != to_ + 1 && earliest_bad_.load() > expected_) {
      result_.checked = expected_ - from_;
      result_.first_bad = expected_;
      result_.reason = "missing event: log ends before the head " + std::to_string(range_to_);
      if (to_ != range_to_) {  // name the next stored record, as a sequential pass would
        Status next = log_.ScanRecords(to_ + 1, range_to_, [&](const EventView& v) {
          result_.reason = "missing event: next stored position is " + std::to_string(v.position);
          ++result_.checked;  // counted as a bad record, as a sequential pass counts it
          return false;
        });
        if (!next.ok()) return next.error();
      }
      Publish(expected_);
    }
    return result_;
  }

 private:
  // Checks one record; false (with result_ set) at the first bad one.
  bool Check(const EventView& v) {
    if (v.position != expected_) {
      return Fail(expected_, "missing event: next stored position is " + std::to_string(v.position));
    }
    if (v.stored_hash.size() != log_format::kHashSize) {
      return Fail(v.position, "record shorter than its 32-byte hash");
    }
    auto env = events::VerifyEnvelope(v.envelope);
    if (!env.ok()) return Fail(v.position, env.error().message());
    if ((*env)->position() != v.position) {
      return Fail(v.position, "envelope says position " + std::to_string((*env)->position()));
    }
    ChainDigest stored;
    std::memcpy(stored.data(), v.stored_hash.data(), stored.size());
    if (hasher_.Next(previous_, v.envelope) != stored) return Fail(v.position, "chain hash mismatch");
    previous_ = stored;
    ++expected_;
    return true;
  }

  bool Fail(uint64_t position, std::string reason) {
    result_.checked = position >= from_ ? position - from_ + 1 : 0;
    result_.first_bad = position;
    result_.reason = std::move(reason);
    Publish(position);
    return false;
  }

  void Publish(uint64_t position) {
    uint64_t seen = earliest_bad_.load();
    while (position < seen && !earliest_bad_.compare_exchange_weak(seen, position)) {
    }
  }

  const EventLog& log_;
  const uint64_t from_, to_, range_to_;
  std::atomic<uint64_t>& verified_;
  std::atomic<uint64_t>& earliest_bad_;
  ChainHasher hasher_;
  ChainDigest previous_{};
  uint64_t expected_ = 0;
  SegmentResult result_;
};

}  // namespace

Result<VerifyReport> VerifyChain(const EventLog& log, uint64_t from, uint64_t to,
                                 const std::function<void(uint64_t)>& progress, unsigned threads) {
  VerifyReport report;
  if (from == 0) from = 1;
  const uint64_t head = log.Head();
  if (to == 0 || to > head) to = head;
  if (from > to) return report;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const uint64_t records = to - from + 1;
  const uint64_t segments = std::clamp<uint64_t>(records / kMinSegmentRecords, 1, threads);

  std::atomic<uint64_t> verified{0};
  std::atomic<uint64_t> earliest_bad{UINT64_MAX};
  std::vector<std::unique_ptr<Segment>> parts;
  std::vector<std::future<Result<SegmentResult>>> running;
  for (uint64_t i = 0; i < segments; ++i) {
    const uint64_t first = from + records * i / segments;
    const uint64_t last = from + records * (i + 1) / segments - 1;
    parts.push_back(std::make_unique<Segment>(log, first, last, to, verified, earliest_bad));
    Segment* part = parts.back().get();
    running.push_back(std::async(std::launch::async, [part] { return part->Run(); }));
  }
  // Progress from this thread, in steps of 65536 records, while the
  // segments run.
  uint64_t next_progress = 65536;
  auto report_progress = [&] {
    const uint64_t n = verified.load(std::memory_order_relaxed);
    if (!progress || n < next_progress) return;
    progress(n / 65536 * 65536);
    next_progress = (n / 65536 + 1) * 65536;
  };
  for (auto& f : running) {
    while (f.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) report_progress();
  }
  report_progress();

  // The earliest segment with a bad record holds the first bad record.
  std::optional<Error> failed;
  for (auto& f : running) {
    auto r = f.get();
    if (!r.ok()) {
      if (!failed) failed = r.error();
      continue;  // still collect every future
    }
    if (report.first_bad != 0 || failed) continue;  // already decided
    report.checked += r->checked;
    if (r->first_bad != 0) {
      report.first_bad = r->first_bad;
      report.reason = std::move(r->reason);
    }
  }
  if (failed && report.first_bad == 0) return *failed;
  // What a verifier finds, the log knows from then on (a running tallyd
  // refuses writes).
  if (report.first_bad != 0) log.damage().Report({report.first_bad, report.first_bad, "chain", report.reason});
  return report;
}

}  // namespace tally
