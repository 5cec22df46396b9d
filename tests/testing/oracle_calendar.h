// The property tests' own calendar (issues 19 and 20), written apart from
// the engine's (engine/domain/terms.cc uses std::chrono): struct tm, timegm
// and a days-in-month table, so that an oracle built on it does not share
// the code it checks.
#pragma once

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <ctime>

namespace tally::testing {

// 00:00 UTC of the date `months` after the date of `start_us`
// (microseconds since the epoch), the month's last day where that day does
// not exist.
inline int64_t OracleAddMonths(int64_t start_us, int months) {
  constexpr int64_t kSecond = 1'000'000;
  const time_t secs = static_cast<time_t>(start_us / kSecond);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  int year = tm.tm_year + 1900, month = tm.tm_mon + months;  // month 0-based
  year += month / 12;
  month %= 12;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  std::tm end{};
  end.tm_year = year - 1900;
  end.tm_mon = month;
  end.tm_mday = std::min(tm.tm_mday, kDays[month] + (month == 1 && leap ? 1 : 0));
  return static_cast<int64_t>(timegm(&end)) * kSecond;
}

}  // namespace tally::testing
