// What a test's stand-in for tallyd's scheduler asks after moving the
// clock (the lifecycle and billing property tests).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/domain/customer_state.h"
#include "engine/domain/terms.h"

namespace tally::testing {

struct DueStep {
  std::string subscription_id;
  int64_t due_us = 0;
};

// The first of `state`'s subscriptions (in id order) whose next lifecycle
// step is due by `now_us`, and when it was due; nullopt when none is.
inline std::optional<DueStep> FirstDueStep(const domain::CustomerState& state, int64_t now_us) {
  for (const auto& [id, sub] : state.subscriptions) {
    const auto next = domain::NextLifecycleStep(StatusName(sub.status), sub.term_duration, sub.term_start_us,
                                                sub.auto_renew, sub.status_since_us);
    if (next.step != domain::LifecycleStep::kNone && next.due_us <= now_us) return DueStep{id, next.due_us};
  }
  return std::nullopt;
}

}  // namespace tally::testing
