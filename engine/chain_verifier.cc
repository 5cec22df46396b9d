#include "engine/chain_verifier.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <future>
#include <thread>

#include "engine/log_format.h"
#include "events/codec.h"

namespace tally {
namespace {

// Every check of a record needs only its own bytes and the hash stored in the
// record before it: hash(n) must equal SHA-256(stored hash(n-1) || envelope(n)).
// If every record passes, the stored chain is the recomputed chain, and the
// first record that fails is the one a sequential recomputation names. So
// the scan hands chunks of records, with the stored hash before each chunk,
// to other threads.
struct Chunk {
  uint64_t first_position = 0;
  ChainDigest previous{};             // stored hash of the record before the chunk
  std::string bytes;                  // envelopes, each at an 8-byte aligned offset
  std::vector<std::pair<uint32_t, uint32_t>> envelopes;  // offset, size
  std::vector<ChainDigest> stored;    // each record's stored hash
  size_t size() const { return envelopes.size(); }
};

struct ChunkResult {
  size_t bad_index = SIZE_MAX;  // SIZE_MAX: every record verified
  std::string reason;
};

ChunkResult VerifyChunk(const Chunk& chunk) {
  ChunkResult result;
  ChainHasher hasher;
  const ChainDigest* previous = &chunk.previous;
  for (size_t i = 0; i < chunk.size(); ++i) {
    const uint64_t position = chunk.first_position + i;
    const std::string_view envelope(chunk.bytes.data() + chunk.envelopes[i].first, chunk.envelopes[i].second);
    auto env = events::VerifyEnvelope(envelope);
    if (!env.ok()) {
      result = {i, env.error().message()};
      return result;
    }
    if ((*env)->position() != position) {
      result = {i, "envelope says position " + std::to_string((*env)->position())};
      return result;
    }
    if (hasher.Next(*previous, envelope) != chunk.stored[i]) {
      result = {i, "chain hash mismatch"};
      return result;
    }
    previous = &chunk.stored[i];
  }
  return result;
}

constexpr size_t kChunkRecords = 4096;

}  // namespace

Result<VerifyReport> VerifyChain(const EventLog& log, uint64_t from, uint64_t to,
                                 const std::function<void(uint64_t)>& progress) {
  VerifyReport report;
  if (from == 0) from = 1;
  const uint64_t head = log.Head();
  if (to == 0 || to > head) to = head;
  if (from > to) return report;
  auto previous = log.HashAt(from - 1);
  if (!previous.ok()) {
    report.first_bad = from - 1;
    report.reason = "cannot read the hash before the range: " + previous.error().message();
    return report;
  }
  // Chunks in flight, oldest first, each with the number of records before
  // it; at most a few per core, so memory stays bounded when verifying is
  // slower than reading.
  const size_t max_in_flight = 2 * std::max(1u, std::thread::hardware_concurrency());
  std::deque<std::pair<uint64_t, std::future<ChunkResult>>> in_flight;
  uint64_t dispatched = 0;  // records handed to chunks so far
  bool chunk_failed = false;

  ChainDigest last_stored = *previous;
  uint64_t expected = from;
  Chunk chunk;
  chunk.first_position = from;
  chunk.previous = last_stored;
  bool scan_failed = false;
  uint64_t scan_bad = 0;
  std::string scan_reason;
  uint64_t next_progress = 65536;

  auto dispatch = [&] {
    if (chunk.size() == 0) return;
    const uint64_t before = dispatched;
    dispatched += chunk.size();
    auto shared = std::make_shared<Chunk>(std::move(chunk));
    in_flight.emplace_back(before, std::async(std::launch::async, [shared] { return VerifyChunk(*shared); }));
    chunk = Chunk();
    chunk.first_position = expected;
    chunk.previous = last_stored;
  };
  // Waits for the oldest chunk; the first failing chunk in position order
  // holds the first bad record.
  auto collect_one = [&] {
    auto [before, future] = std::move(in_flight.front());
    in_flight.pop_front();
    ChunkResult r = future.get();
    if (chunk_failed) return;
    if (r.bad_index != SIZE_MAX) {
      chunk_failed = true;
      report.first_bad = from + before + r.bad_index;
      report.reason = std::move(r.reason);
      report.checked = before + r.bad_index + 1;
      return;
    }
    const uint64_t verified = in_flight.empty() ? dispatched : in_flight.front().first;
    if (progress && verified >= next_progress) {
      progress(verified);
      next_progress = (verified / 65536 + 1) * 65536;
    }
  };

  Status s = log.Scan(from, to, [&](const EventView& v) {
    if (v.position != expected) {
      scan_failed = true;
      scan_bad = expected;
      scan_reason = "missing event: next stored position is " + std::to_string(v.position);
      return false;
    }
    if (v.stored_hash.size() != log_format::kHashSize) {
      scan_failed = true;
      scan_bad = v.position;
      scan_reason = "record shorter than its 32-byte hash";
      return false;
    }
    ++expected;
    const size_t offset = (chunk.bytes.size() + 7) & ~size_t{7};
    chunk.bytes.resize(offset + v.envelope.size());
    std::memcpy(chunk.bytes.data() + offset, v.envelope.data(), v.envelope.size());
    chunk.envelopes.emplace_back(static_cast<uint32_t>(offset), static_cast<uint32_t>(v.envelope.size()));
    std::memcpy(last_stored.data(), v.stored_hash.data(), last_stored.size());
    chunk.stored.push_back(last_stored);
    if (chunk.size() == kChunkRecords) {
      dispatch();
      while (in_flight.size() >= max_in_flight) collect_one();
      if (chunk_failed) return false;
    }
    return true;
  });
  dispatch();
  while (!in_flight.empty()) collect_one();
  if (!s.ok()) return s.error();
  if (chunk_failed) return report;  // the earliest bad record: in a chunk, before anything the scan saw
  if (scan_failed) {
    report.first_bad = scan_bad;
    report.reason = std::move(scan_reason);
    report.checked = dispatched + 1;
    return report;
  }
  report.checked = dispatched;
  if (expected != to + 1) {
    report.first_bad = expected;
    report.reason = "missing event: log ends before the head " + std::to_string(to);
  }
  return report;
}

}  // namespace tally
