// Recomputes the log's hash chain and verifies every envelope: what
// `tallyctl verify` and the crash tests run.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "engine/event_log.h"

namespace tally {

struct VerifyReport {
  uint64_t checked = 0;       // records examined (good ones, plus the bad one if any)
  uint64_t first_bad = 0;     // 0 when everything verified
  std::string reason;         // why first_bad is bad
  bool ok() const { return first_bad == 0; }
};

// Checks positions [from, to] (to clamped to the head; 0 = the head): keys are
// gapless, each value holds a 32-byte hash and an envelope that passes the
// FlatBuffers verifier, the envelope's own position matches its key, and
// hash(n) = SHA-256(hash(n-1) || envelope(n)) where hash(from-1) is read
// from the log. Names the first bad record. The range is cut into up to
// `threads` segments (0: one per core; at least 4096 records each), each
// scanned and checked on its own thread from the hash stored before it;
// the report is what a sequential pass would give. `progress`, if set, is
// called from this thread each time another 65536 records are checked,
// with that multiple of 65536. An error result means the log could not be
// read at all (I/O), not that it failed verification.
Result<VerifyReport> VerifyChain(const EventLog& log, uint64_t from = 1, uint64_t to = 0,
                                 const std::function<void(uint64_t)>& progress = nullptr,
                                 unsigned threads = 0);

}  // namespace tally
