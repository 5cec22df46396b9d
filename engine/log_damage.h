// Damage found in the event log: a position missing, or stored bytes that
// differ from what was written. Whoever finds it (the start-up check against
// the log's witnesses, a reader walking the chain, a table block that fails
// its checksum, the relay finding the topic ahead of the log) reports it
// here; from then on the log refuses writes, so that nothing is decided on
// damaged bytes and no acknowledged position is given to another event.
// Damage is never cleared in a running process: the operator heals the log
// (tallyctl restore --from-kafka --heal) or accepts the loss, and restarts.
// Nor by a restart: each finding is also recorded in a file beside the log
// (kDamageFile), which tallyd's start-up check reads as a witness, and which
// only a heal or an accepted loss whose whole chain then verifies sets aside.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/mutex.h"
#include "engine/base/result.h"

namespace tally {

// One finding: positions [first, last] (equal for one event) and who saw it.
struct LogDamage {
  uint64_t first = 0;
  uint64_t last = 0;
  // The witness or reader that saw it: "head mark", "read model customer",
  // "kafka topic", "chain", "storage", "relay", ...
  std::string witness;
  std::string detail;  // what is wrong, in a sentence
  // "positions 10-12 (head mark): ..." or "position 10 (chain): ...".
  std::string ToString() const;
  bool operator==(const LogDamage&) const = default;
};

// The file beside the log where findings are recorded: one line each,
// "first<TAB>last<TAB>witness<TAB>detail".
inline constexpr char kDamageFile[] = "TALLY-DAMAGE";

// The findings recorded in `path` (none when it does not exist).
Result<std::vector<LogDamage>> ReadRecordedDamage(const std::string& path);

// The damage a log has seen. Thread-safe; bounded (kMaxKept findings kept,
// every report counted).
class LogDamageLatch {
 public:
  static constexpr size_t kMaxKept = 32;

  // Records `damage` (a finding already kept is counted, not kept twice).
  void Report(LogDamage damage) EXCLUDES(mu_);
  // From now on each new finding is also printed to stderr (a server's
  // log; tools print their own report instead).
  void PrintFindings() { print_.store(true, std::memory_order_relaxed); }
  // From now on each new finding is also appended to `path` and synced
  // (the log sets its kDamageFile at open). A failure to record is said on
  // stderr once; the finding still stands in memory.
  void RecordTo(std::string path) EXCLUDES(mu_);
  bool damaged() const EXCLUDES(mu_);
  std::vector<LogDamage> List() const EXCLUDES(mu_);
  uint64_t reports() const EXCLUDES(mu_);
  // The error writes are refused with while damaged (kCorruption, naming the
  // first finding and what to do), or nullopt.
  std::optional<Error> AsError() const EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::vector<LogDamage> kept_ GUARDED_BY(mu_);
  uint64_t reports_ GUARDED_BY(mu_) = 0;
  std::atomic<bool> print_{false};
  std::string record_path_ GUARDED_BY(mu_);
  std::vector<LogDamage> recorded_ GUARDED_BY(mu_);  // in the file already (bounded as kept_)
  bool record_failed_ GUARDED_BY(mu_) = false;
};

}  // namespace tally
