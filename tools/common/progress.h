// Progress lines for long-running commands: shown on a terminal (stderr),
// silent in pipes and files.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace tally::tools {

class Progress {
 public:
  // `total` may be 0 when unknown (then no ETA).
  Progress(const char* what, uint64_t total)
      : what_(what), total_(total), enabled_(isatty(STDERR_FILENO) != 0),
        start_(std::chrono::steady_clock::now()) {}

  void Update(uint64_t done) {
    if (!enabled_) return;
    const double secs = Elapsed();
    const double rate = secs > 0 ? done / secs : 0;
    if (total_ > 0 && rate > 0) {
      std::fprintf(stderr, "\r%s: %llu/%llu (%.0f/s, ETA %.0fs)   ", what_,
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_),
                   rate, (total_ - done) / rate);
    } else {
      std::fprintf(stderr, "\r%s: %llu (%.0f/s)   ", what_, static_cast<unsigned long long>(done),
                   rate);
    }
  }
  void Done() {
    if (enabled_) std::fprintf(stderr, "\r\033[K");
  }
  double Elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  const char* what_;
  uint64_t total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace tally::tools
