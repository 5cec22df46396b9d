// tally-bench: benchmarks that print the engine's figure next to a baseline
// measured in the same run, and their ratio. Never used as pass/fail tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <map>
#include <string>
#include <vector>

#include "engine/group_commit_writer.h"
#include "engine/rocksdb_event_log.h"
#include "projections/rebuild.h"

namespace tally::bench {

struct Clock {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
};

// Peak resident memory of this process from the last ResetPeakRss (or its
// start), in MiB: Linux's VmHWM. ResetPeakRss returns false where the
// kernel cannot reset it (then PeakRssMib is the whole run's peak).
bool ResetPeakRss();
double PeakRssMib();

// CPU time (user + system, all threads) of this process since construction.
struct CpuClock {
  double start = Now();
  double Seconds() const { return Now() - start; }
  static double Now();
};

// CPU seconds per thread name (several threads of one name are summed),
// from the `task` folder of a process's /proc folder (`proc`); CpuUsed gives
// what each name used between two samples.
using ThreadCpu = std::map<std::string, double>;
ThreadCpu SampleThreadCpu(const std::string& proc = "/proc/self");
ThreadCpu CpuUsed(const ThreadCpu& before, const ThreadCpu& after);
double TotalCpu(const ThreadCpu& before, const ThreadCpu& after);
std::string DescribeThreadCpu(const ThreadCpu& before, const ThreadCpu& after);

// Runs `command` through the shell; its standard output (add 2>&1 for its
// errors too). `status`: pclose's status, -1 when it could not start.
std::string RunCommand(const std::string& command, int* status = nullptr);

// A fresh folder for one benchmark under `base` (removed first if present).
std::string FreshDir(const std::string& base, const std::string& name);

// The p-th percentile (0..1) of `values` (reordered).
double Percentile(std::vector<double>& values, double p);

using Records = std::vector<std::pair<std::string, std::string>>;

// Every record the engine stored (key, hash and stamped envelope); then
// closes `log`, so that the baseline does not share the disk with it.
Records CaptureRecords(std::unique_ptr<RocksDbEventLog>& log);

// The same-run baseline: `records` written again to a fresh default-options
// RocksDB in synced WriteBatches of the engine's average events per sync.
struct RawBaseline {
  size_t records = 0;
  size_t per_batch = 0;
  double seconds = 0;
  double rate() const { return records / seconds; }
};
// Synced WriteBatches of exactly `records`, `per_batch` records each, into a
// fresh default-options RocksDB; returns the seconds taken.
double RawSyncedWrites(const std::string& dir, const Records& records, size_t per_batch);

// Every entry the log wrote for its events, in position order: the event,
// its stream-index entry and its request-id record (the one that ends a
// request), each with its column family's name. Read from the closed log
// folder at `path`.
struct LogEntry {
  std::string cf;
  std::string key, value;
  uint64_t position = 0;
};
std::vector<LogEntry> CaptureLogEntries(const std::string& path);
// Writes `entries` again into a fresh RocksDB with the log's column
// families and settings, in synced WriteBatches of the entries of
// `per_batch` events each (events first, then the index entries sorted, as
// the log writes them); returns the seconds taken.
double RawSyncedLogWrites(const std::string& dir, const std::vector<LogEntry>& entries, size_t per_batch);
RawBaseline MeasureRawBaseline(const Records& records, const GroupCommitStats& stats, const std::string& dir);

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

struct RenewalsBenchOptions {
  std::string dir = "./bench-data";
  std::string catalog = TALLY_DEFAULT_CATALOG;
  uint64_t subscriptions = 100'000;
  uint64_t commands = 100'000;  // other commands, alone (the baseline)
  int clients = 64;
  int storm_in_flight = 32;  // lifecycle steps outstanding at once (tallyd's scheduler: SchedulerOptions::in_flight)
  size_t background_per_batch = GroupCommitWriterOptions{}.max_background_per_batch;  // the writer's share for them
  bool keep = false;
};
int RunRenewalsBench(const RenewalsBenchOptions& options);

struct RebuildBenchOptions {
  std::string dir = "./bench-data";
  std::string catalog = TALLY_DEFAULT_CATALOG;
  uint64_t events = 5'000'000;
  size_t bulk_events = projections::RebuildOptions().bulk_events;  // 0: through the memtable
  bool each_model = true;  // also rebuild each model alone
  bool keep = false;
};
int RunRebuildBench(const RebuildBenchOptions& options);

// The realistic workload's log of at least `events` events, generated under
// `dir` on first use and reused after (rebuild and verify share it), opened
// read-only.
Result<std::unique_ptr<RocksDbEventLog>> OpenGeneratedLog(const std::string& dir, const std::string& catalog,
                                                          uint64_t events);
// A plain RocksDB iterator over every stored event (key and value touched):
// the fastest of two timed runs after a warm-up.
struct RawScan {
  double seconds = 0;
  uint64_t bytes = 0;
};
Result<RawScan> BestRawScan(RocksDbEventLog& log);

struct VerifyBenchOptions {
  std::string dir = "./bench-data";
  std::string catalog = TALLY_DEFAULT_CATALOG;
  uint64_t events = 5'000'000;
  bool keep = false;
};
int RunVerifyBench(const VerifyBenchOptions& options);

struct KafkaBenchOptions {
  std::string dir = "./bench-data";
  uint64_t events = 500'000;       // relayed, and sent by the raw producer
  uint64_t load_events = 200'000;  // appended while the relay runs (lag)
  int partitions = 6;
  // RelayOptions::commit_interval: how long the relay's transactions stay
  // open while there is more to publish.
  // 0: RelayOptions' default.
  int commit_interval_ms = 0;
  bool keep = false;
  // A real cluster's bootstrap list; empty: an embedded mock cluster.
  // Against a cluster the bench creates its own three topics (replication
  // factor min(brokers, 3), min.insync.replicas min(brokers, 2)).
  std::string bootstrap;
  // librdkafka properties KEY=VALUE given to both producers (e.g.
  // compression.type=lz4), after the relay's defaults.
  std::vector<std::string> properties;
};
int RunKafkaBench(const KafkaBenchOptions& options);

struct HttpBenchOptions {
  std::string dir = "./bench-data";
  std::string catalog = TALLY_DEFAULT_CATALOG;
  std::string tallyd;  // default: beside tally-bench
  int customers = 1000;
  int threads = 1;       // wrk threads
  int connections = 64;  // wrk connections (= in-process commands in flight)
  int seconds = 10;      // per wrk run
  bool keep = false;
};
int RunHttpBench(const HttpBenchOptions& options);

// What a wrk run measured.
struct WrkResult {
  double requests_per_second = 0;
  double p50_ms = 0, p99_ms = 0;
  uint64_t requests = 0, errors = 0;  // errors: socket errors + non-2xx
  bool ok = false;
};
bool HaveWrk();  // false after saying how to install it

// A real tallyd on a fresh folder, seeded over HTTP with `customers`
// customers of one subscription each, for wrk runs; killed when destroyed.
class SeededTallyd {
 public:
  SeededTallyd();
  ~SeededTallyd();
  // `binary` empty: the tallyd beside tally-bench.
  bool Start(std::string binary, const std::string& data, int customers);
  // `write_every` 0: reads only (a customer, a subscription); 1: writes only
  // (PATCH quantity, each a real change); k: one write in k.
  WrkResult Run(int write_every, int threads, int connections, int seconds);
  int Stop();  // tallyd's exit code
  const std::string& url() const { return url_; }
  std::string proc() const;  // tallyd's /proc folder

 private:
  struct Server;
  std::unique_ptr<Server> server_;
  std::string data_, url_;
  std::vector<std::pair<std::string, std::string>> subs_;  // (customer, subscription)
};

// The same quantity changes in-process (CommandProcessor + GroupCommitWriter
// on a fresh log in `dir`, `clients` commands in flight, no HTTP) for
// `seconds`; commands/s.
double InProcessRate(const std::string& dir, const std::string& catalog_path, int customers, int clients,
                     double seconds, double* cpu_seconds_per_command = nullptr);

struct PeerPgBenchOptions {
  std::string dir = "./bench-data";
  std::string catalog = TALLY_DEFAULT_CATALOG;
  std::string tallyd;   // default: beside tally-bench
  std::string pg_bin;   // PostgreSQL's bin folder (default: the newest /usr/lib/postgresql/*/bin)
  int customers = 1000;
  int threads = 1;      // wrk and pgbench threads
  std::vector<int> connections = {64, 256};
  int seconds = 10;
  bool keep = false;
};
int RunPeerPgBench(const PeerPgBenchOptions& options);

}  // namespace tally::bench
