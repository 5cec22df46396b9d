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
// from the log. Stops at the first bad record. `progress`, if set, is called
// every 65536 records with the count so far (from this thread). The checks
// run on several threads, a chunk of records each; the report is what a
// sequential pass would give. An error result means the log
// could not be read at all (I/O), not that it failed verification.
Result<VerifyReport> VerifyChain(const EventLog& log, uint64_t from = 1, uint64_t to = 0,
                                 const std::function<void(uint64_t)>& progress = nullptr);

}  // namespace tally
