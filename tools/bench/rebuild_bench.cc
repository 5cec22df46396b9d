// tally-bench rebuild: rebuilding all the read models from a log of real
// domain events, next to a raw RocksDB scan of the same log in the same run.
#include <rocksdb/db.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "engine/command_processor.h"
#include "engine/domain/catalog.h"
#include "engine/rocksdb_event_log.h"
#include "projections/projection.h"
#include "projections/rebuild.h"
#include "tools/bench/bench.h"
#include "tools/common/progress.h"
#include "tools/common/workload.h"

namespace tally::bench {
namespace {

// Runs the realistic workload (no invalid commands) until the log holds at
// least `events` events. Run in a child process, so that the parent's peak
// memory is the rebuild's alone.
int Generate(const std::string& dir, const std::string& catalog_path, uint64_t events) {
  auto catalog = domain::Catalog::Load(catalog_path);
  if (!catalog.ok()) {
    std::fprintf(stderr, "%s\n", catalog.error().ToString().c_str());
    return 2;
  }
  RocksDbEventLogOptions fast;
  fast.sync = false;  // generation only; not what is measured
  auto log = RocksDbEventLog::Open(dir, fast);
  if (!log.ok()) return 2;
  domain::RandomIdSource ids(11);
  CommandProcessor processor(**log, *catalog, domain::Instance::kGlobal, ids);
  tools::WorkloadOptions options;
  options.invalid_commands = false;
  options.partners = {"p1", "p2", "p3", "p4"};
  tools::Workload workload(7, options);
  tools::Progress progress("generating", events);
  uint64_t commands = 0;
  while ((*log)->Head() < events) {
    auto [command, meta] = workload.Next(processor);
    workload.Learn(command, processor.Execute(command, meta));
    if (++commands % 20'000 == 0) progress.Update((*log)->Head());
  }
  progress.Done();
  if (Status s = (*log)->Flush(); !s.ok()) {  // a read-only open must not replay a huge WAL
    std::fprintf(stderr, "%s\n", s.error().ToString().c_str());
    return 2;
  }
  std::printf("  generated %llu events from %llu commands in %.1fs\n",
              static_cast<unsigned long long>((*log)->Head()), static_cast<unsigned long long>(commands),
              progress.Elapsed());
  return 0;
}

}  // namespace

Result<std::unique_ptr<RocksDbEventLog>> OpenGeneratedLog(const std::string& dir, const std::string& catalog,
                                                          uint64_t events) {
  const std::string log_dir = dir + "/rebuild-log-" + std::to_string(events);
  bool reuse = false;
  if (std::filesystem::exists(log_dir)) {
    auto existing = RocksDbEventLog::OpenReadOnly(log_dir);
    reuse = existing.ok() && (*existing)->Head() >= events;
  }
  if (!reuse) {
    std::filesystem::remove_all(log_dir);
    std::filesystem::create_directories(log_dir);
    std::fflush(stdout);
    const pid_t child = fork();
    if (child == 0) _exit(Generate(log_dir, catalog, events));
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return Error(ErrorCode::kIoError, "generating the log failed");
    }
  }
  return RocksDbEventLog::OpenReadOnly(log_dir);
}

Result<RawScan> BestRawScan(RocksDbEventLog& log) {
  const uint64_t head = log.Head();
  RawScan best;
  best.seconds = 1e9;
  for (int round = 0; round < 3; ++round) {
    Clock clock;
    uint64_t n = 0, bytes = 0;
    std::unique_ptr<rocksdb::Iterator> it(log.db()->NewIterator(rocksdb::ReadOptions(), log.events_cf()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      bytes += it->key().size() + it->value().size() + static_cast<uint8_t>(it->value()[0]);
      ++n;
    }
    if (n != head) {
      return Error(ErrorCode::kCorruption,
                   "raw scan saw " + std::to_string(n) + " events, head is " + std::to_string(head));
    }
    if (round > 0) best.seconds = std::min(best.seconds, clock.Seconds());
    best.bytes = bytes;
  }
  return best;
}

int RunRebuildBench(const RebuildBenchOptions& o) {
  std::printf("tally-bench rebuild: the read models (customer, license, relationship, billing) from a log of >= %llu events\n",
              static_cast<unsigned long long>(o.events));
  auto log = OpenGeneratedLog(o.dir, o.catalog, o.events);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.error().ToString().c_str());
    return 2;
  }
  const uint64_t head = (*log)->Head();

  // Baseline: every stored event read by a plain RocksDB iterator (key and
  // value touched), best of two runs after a warm-up.
  auto raw = BestRawScan(**log);
  if (!raw.ok()) {
    std::fprintf(stderr, "%s\n", raw.error().ToString().c_str());
    return 2;
  }
  const double raw_secs = raw->seconds;
  const uint64_t raw_bytes = raw->bytes;

  const std::string store_dir = FreshDir(o.dir, "rebuild-projections");
  auto store = projections::ProjectionStore::Open(store_dir, projections::ModelNames());
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.error().ToString().c_str());
    return 2;
  }
  projections::LogEventSource source(**log);
  // The rebuild's own peak, not the raw scan's (which fills the log's block
  // cache); the whole process's peak is printed too.
  const double before_rebuild_mib = PeakRssMib();
  const bool peak_reset = ResetPeakRss();
  tools::Progress progress("rebuilding", head);
  projections::RebuildOptions options;
  options.progress = [&](uint64_t position, uint64_t) { progress.Update(position); };
  options.bulk_events = o.bulk_events;
  Clock clock;
  Status s = projections::Rebuild(source, **store, projections::ModelNames(), nullptr, options);
  const double rebuild_secs = clock.Seconds();
  progress.Done();
  if (!s.ok()) {
    std::fprintf(stderr, "rebuild failed: %s\n", s.error().ToString().c_str());
    return 2;
  }
  const double rebuild_peak_mib = PeakRssMib();

  const double raw_rate = head / raw_secs, rebuild_rate = head / rebuild_secs;
  std::printf("  log               %llu events, %.0f MiB of keys and values\n",
              static_cast<unsigned long long>(head), raw_bytes / 1048576.0);
  std::printf("  raw RocksDB scan  %10.0f events/s  (%.2fs)\n", raw_rate, raw_secs);
  std::printf("  rebuild (%zu models)%9.0f events/s  (%.2fs, verify + apply + write + load or flush + swap; %s)\n",
              projections::ModelNames().size(), rebuild_rate, rebuild_secs,
              o.bulk_events == 0 ? "rows through the memtable"
                                 : ("table files every " + std::to_string(o.bulk_events) + " events").c_str());
  std::printf("  ratio rebuild/raw %.2f  (goal >= 0.50)\n", rebuild_rate / raw_rate);
  if (peak_reset) {
    std::printf("  peak RSS          %.0f MiB during the rebuild (goal < 1024 MiB); whole process %.0f MiB\n",
                rebuild_peak_mib, std::max(before_rebuild_mib, rebuild_peak_mib));
  } else {
    std::printf("  peak RSS          %.0f MiB  (whole process: scan + rebuild; goal < 1024 MiB)\n", rebuild_peak_mib);
  }
  store->reset();
  // What each model costs: rebuilt alone from the same log (each pass reads
  // and verifies the whole log too, so the times do not add up to the one
  // above), with the size of what it wrote.
  for (const std::string& model : o.each_model ? projections::ModelNames() : std::vector<std::string>{}) {
    const std::string dir = FreshDir(o.dir, "rebuild-" + model);
    auto alone = projections::ProjectionStore::Open(dir, {model});
    if (!alone.ok()) {
      std::fprintf(stderr, "%s\n", alone.error().ToString().c_str());
      return 2;
    }
    Clock model_clock;
    projections::RebuildOptions alone_options;
    alone_options.bulk_events = o.bulk_events;
    Status built = projections::Rebuild(source, **alone, {model}, nullptr, alone_options);
    const double secs = model_clock.Seconds();
    if (!built.ok()) {
      std::fprintf(stderr, "rebuild of %s failed: %s\n", model.c_str(), built.error().ToString().c_str());
      return 2;
    }
    alone->reset();
    uintmax_t bytes = 0;
    for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
      if (f.is_regular_file()) bytes += f.file_size();
    }
    std::printf("  %-13s alone %10.0f events/s  (%.2fs), %.0f MiB on disk\n", model.c_str(), head / secs, secs,
                bytes / 1048576.0);
    std::filesystem::remove_all(dir);
  }
  if (!o.keep) std::filesystem::remove_all(o.dir);
  return 0;
}

}  // namespace tally::bench
