// tally-bench: benchmarks that print the engine's figure next to a baseline
// measured in the same run, and their ratio. Never used as pass/fail tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tally::bench {

struct Clock {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
};

// A fresh folder for one benchmark under `base` (removed first if present).
std::string FreshDir(const std::string& base, const std::string& name);

struct AppendBenchOptions {
  std::string dir = "./bench-data";
  uint64_t events = 1'000'000;
  int callers = 128;             // concurrent callers (threads)
  int events_per_request = 1;
  bool keep = false;
};
int RunAppendBench(const AppendBenchOptions& options);

struct OpenBenchOptions {
  std::string dir = "./bench-data";
  uint64_t events = 10'000'000;
  bool keep = false;
};
int RunOpenBench(const OpenBenchOptions& options);

struct CommandsBenchOptions {
  std::string dir = "./bench-data";
  std::string catalog = TALLY_DEFAULT_CATALOG;
  uint64_t commands = 200'000;
  int clients = 256;
  bool keep = false;
};
int RunCommandsBench(const CommandsBenchOptions& options);

}  // namespace tally::bench
