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
