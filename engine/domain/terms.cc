#include "engine/domain/terms.h"

#include <algorithm>
#include <chrono>

#include "engine/domain/catalog.h"

namespace tally::domain {

void ChangeSeats(std::vector<Seats>& seats, int32_t from, int32_t to, int64_t at_us) {
  if (to > from) {
    seats.push_back(Seats{to - from, at_us});
    return;
  }
  int32_t removed = from - to;
  while (removed > 0 && !seats.empty()) {
    const int32_t take = std::min(removed, seats.back().quantity);
    seats.back().quantity -= take;
    removed -= take;
    if (seats.back().quantity == 0) seats.pop_back();
  }
}

int64_t RemovableSeats(const std::vector<Seats>& seats, int64_t now_us) {
  int64_t removable = 0;
  for (const Seats& s : seats) {
    if (now_us < s.added_at_us + kWindowMicros) removable += s.quantity;
  }
  return removable;
}

NextStep NextLifecycleStep(std::string_view status, std::string_view term, int64_t term_start_us, bool auto_renew,
                           int64_t status_since_us) {
  if (!IsTermDuration(term)) return {};
  if (status == "active") {
    return {auto_renew ? LifecycleStep::kRenew : LifecycleStep::kExpire, TermOverAt(term_start_us, term)};
  }
  if (status == "suspended") return {LifecycleStep::kDisable, TermOverAt(term_start_us, term)};
  if (status == "expired") return {LifecycleStep::kDisable, status_since_us + kExpiredMicros};
  if (status == "disabled") return {LifecycleStep::kDelete, status_since_us + kDisabledMicros};
  return {};
}

int64_t AddMonthsDay(int64_t start_us, int months) {
  using namespace std::chrono;
  const sys_days start_day = floor<days>(sys_time<microseconds>(microseconds(start_us)));
  year_month_day end = year_month_day(start_day) + std::chrono::months(months);
  if (!end.ok()) end = year_month_day(end.year() / end.month() / last);
  return duration_cast<microseconds>(sys_days(end).time_since_epoch()).count();
}

int64_t CommitmentEndDay(int64_t start_us, std::string_view term) {
  const int months = TermMonths(term);
  if (months == 0) return 0;
  return AddMonthsDay(start_us, months) - kDayMicros;
}

}  // namespace tally::domain
