// Time source, behind an interface so tests can set the time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace tally {

// Thread-safe: NowMicros() may be called from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch, UTC.
  virtual int64_t NowMicros() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // A process-wide instance; lives forever.
  static SystemClock& Instance() {
    static SystemClock clock;
    return clock;
  }
};

// tallyd's simulated clock (`--clock simulated:TIME`): it stands still
// until an operator moves it (POST /admin/v1/clock), and never backwards.
// For tests and demonstrations, not for production.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(int64_t start_us) : now_(start_us) {}
  int64_t NowMicros() const override { return now_.load(); }
  // Moves the clock to `now_us`; false (and no move) when that is earlier
  // than the clock's time.
  bool MoveTo(int64_t now_us) {
    int64_t current = now_.load();
    while (now_us >= current) {
      if (now_.compare_exchange_weak(current, now_us)) return true;
    }
    return false;
  }

 private:
  std::atomic<int64_t> now_;
};

// A clock that moves only when told to. For tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_us = 1'700'000'000'000'000) : now_(now_us) {}
  int64_t NowMicros() const override { return now_.load(); }
  void Set(int64_t now_us) { now_.store(now_us); }
  void Advance(int64_t delta_us) { now_.fetch_add(delta_us); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace tally
