// New commerce's dates: when a term ends, and the 168-hour windows for
// cancelling and for removing seats (Partner Center's subscription
// lifecycle). Pure functions of times in microseconds since the Unix epoch,
// UTC.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace tally::domain {

// The window after a purchase (or renewal) in which a subscription can be
// cancelled, and after seats were added in which they can be removed.
inline constexpr int64_t kWindowMicros = int64_t{168} * 3600 * 1'000'000;
inline constexpr int64_t kDayMicros = int64_t{24} * 3600 * 1'000'000;

// Seats added at one moment (a purchase or an increase): they can be removed
// until kWindowMicros after that moment.
struct Seats {
  int32_t quantity = 0;
  int64_t added_at_us = 0;
  bool operator==(const Seats&) const = default;
};

// A quantity change from `from` to `to` at `at_us`: an increase adds a batch;
// a decrease removes the newest seats first (the only ones a decision lets
// go: those still inside their window).
void ChangeSeats(std::vector<Seats>& seats, int32_t from, int32_t to, int64_t at_us);

// The seats that can still be removed at `now_us`.
int64_t RemovableSeats(const std::vector<Seats>& seats, int64_t now_us);

// 00:00 UTC of the day on which a term begun at `start_us` ends: the term's
// months added to the start's date, minus one day (bought 2021-01-14 on P1Y:
// 2022-01-13). Where the day does not exist in the end month, the month's
// last day stands for it (2024-01-31 on P1M: 2024-02-29 - 1 = 2024-02-28).
// 0 for a term that is not P1M, P1Y or P3Y.
int64_t CommitmentEndDay(int64_t start_us, std::string_view term);

// 00:00 UTC of the date `months` months after the date of `start_us`, the
// month's last day where that day does not exist (2024-01-31 + 1:
// 2024-02-29). A term's billing periods begin at these dates.
int64_t AddMonthsDay(int64_t start_us, int months);

// When a term begun at `start_us` is over: 00:00 UTC the day after its end
// day (when Partner Center renews, or expires, it).
inline int64_t TermOverAt(int64_t start_us, std::string_view term) {
  return CommitmentEndDay(start_us, term) + kDayMicros;
}

// How long an expired subscription stays expired, and a disabled one
// disabled, before the next step.
inline constexpr int64_t kExpiredMicros = 30 * kDayMicros;
inline constexpr int64_t kDisabledMicros = 90 * kDayMicros;

// A subscription's next lifecycle step and when it is due, from its
// status ("active", "suspended", "expired", "disabled", "deleted"), term
// and dates: an active one renews (auto-renew on) or expires when its term
// is over; a suspended one is disabled then; an expired one is disabled 30
// days later; a disabled one deleted 90 days later. The scheduler and
// Decide both ask this.
enum class LifecycleStep { kNone, kRenew, kExpire, kDisable, kDelete };
struct NextStep {
  LifecycleStep step = LifecycleStep::kNone;
  int64_t due_us = 0;
};
NextStep NextLifecycleStep(std::string_view status, std::string_view term, int64_t term_start_us, bool auto_renew,
                           int64_t status_since_us);

// The term's last instant: the end day's 23:59:59 UTC.
inline int64_t CommitmentEndTime(int64_t end_day_us) { return end_day_us + kDayMicros - 1'000'000; }

}  // namespace tally::domain
