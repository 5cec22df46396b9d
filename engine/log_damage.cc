#include "engine/log_damage.h"

#include <algorithm>
#include <cstdio>

namespace tally {

std::string LogDamage::ToString() const {
  std::string where = first == last ? "position " + std::to_string(first)
                                    : "positions " + std::to_string(first) + "-" + std::to_string(last);
  return where + " (" + witness + "): " + detail;
}

void LogDamageLatch::Report(LogDamage damage) {
  bool fresh = false;
  {
    MutexLock lock(&mu_);
    ++reports_;
    if (std::find(kept_.begin(), kept_.end(), damage) == kept_.end() && kept_.size() < kMaxKept) {
      kept_.push_back(damage);
      fresh = true;
    }
  }
  // Said once per finding, where operators look first.
  if (fresh && print_.load(std::memory_order_relaxed)) std::fprintf(stderr, "tally event log: DAMAGE at %s; writes are refused\n", damage.ToString().c_str());
}

bool LogDamageLatch::damaged() const {
  MutexLock lock(&mu_);
  return !kept_.empty();
}

std::vector<LogDamage> LogDamageLatch::List() const {
  MutexLock lock(&mu_);
  return kept_;
}

uint64_t LogDamageLatch::reports() const {
  MutexLock lock(&mu_);
  return reports_;
}

std::optional<Error> LogDamageLatch::AsError() const {
  MutexLock lock(&mu_);
  if (kept_.empty()) return std::nullopt;
  return Error(ErrorCode::kLogDamaged,
               "the event log is damaged at " + kept_.front().ToString() +
                   "; writes are refused until it is healed (tallyctl restore --from-kafka --heal) or the loss "
                   "is accepted (tallyctl accept-loss), tallyd stopped; see README, \"Damage to the log\"");
}

}  // namespace tally
