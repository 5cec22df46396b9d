// tally-bench verify: what `tallyctl verify` does (recompute the hash chain,
// verify every envelope with the FlatBuffers verifier) over a generated log,
// next to a raw RocksDB scan of the same log in the same run.
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <thread>

#include "engine/chain_verifier.h"
#include "tools/bench/bench.h"

namespace tally::bench {

int RunVerifyBench(const VerifyBenchOptions& o) {
  std::printf("tally-bench verify: hash chain + envelope verification over a log of >= %llu events\n",
              static_cast<unsigned long long>(o.events));
  auto log = OpenGeneratedLog(o.dir, o.catalog, o.events);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.error().ToString().c_str());
    return 2;
  }
  const uint64_t head = (*log)->Head();
  auto raw = BestRawScan(**log);
  if (!raw.ok()) {
    std::fprintf(stderr, "%s\n", raw.error().ToString().c_str());
    return 2;
  }
  // Best of 2 with `threads` segments (0: one per core, what tallyctl does).
  auto best_verify = [&](unsigned threads) -> double {
    double best = 1e9;
    for (int round = 0; round < 2; ++round) {
      Clock clock;
      auto report = VerifyChain(**log, 1, 0, {}, threads);
      const double secs = clock.Seconds();
      if (!report.ok() || !report->ok() || report->checked != head) {
        std::fprintf(stderr, "verify failed: %s\n",
                     report.ok() ? report->reason.c_str() : report.error().ToString().c_str());
        return -1;
      }
      best = std::min(best, secs);
    }
    return best;
  };
  const double single_secs = best_verify(1);
  const double verify_secs = best_verify(0);
  if (single_secs < 0 || verify_secs < 0) return 2;
  const double raw_rate = head / raw->seconds, verify_rate = head / verify_secs;
  std::printf("  log               %llu events, %.0f MiB of keys and values\n",
              static_cast<unsigned long long>(head), raw->bytes / 1048576.0);
  std::printf("  raw RocksDB scan  %10.0f events/s  (%.2fs)\n", raw_rate, raw->seconds);
  std::printf("  verify            %10.0f events/s  (%.2fs, best of 2, %u threads: SHA-256 chain + FlatBuffers verifier)\n",
              verify_rate, verify_secs, std::max(1u, std::thread::hardware_concurrency()));
  std::printf("  verify, 1 thread %10.0f events/s  (%.2fs)\n", head / single_secs, single_secs);
  std::printf("  ratio verify/raw  %.2f  (goal >= 1000000 events/s)\n", verify_rate / raw_rate);
  log->reset();
  if (!o.keep) std::filesystem::remove_all(o.dir);
  return 0;
}

}  // namespace tally::bench
