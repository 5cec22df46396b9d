// tally-bench: tally's benchmarks. Each prints the engine's figure, a
// baseline from the same run on the same machine, and the ratio.
//
//   tally-bench append [--events N] [--callers C] [--events-per-request K] [--dir D]
//   tally-bench open   [--events N] [--dir D]
//   tally-bench commands [--commands N] [--clients C] [--catalog F] [--dir D]
//   tally-bench renewals [--subscriptions N] [--commands N] [--clients C] [--dir D]
//   tally-bench rebuild [--events N] [--catalog F] [--dir D] [--keep]
//   tally-bench http [--customers N] [--threads T] [--connections C] [--seconds S]
#include <CLI/CLI.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>
#include <unistd.h>

#include "tools/bench/bench.h"
#include "tools/common/allocator.h"
#include "tools/common/cli.h"

namespace tally::bench {

std::string FreshDir(const std::string& base, const std::string& name) {
  const std::string dir = base + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");  // "5": reset the peak RSS to the current RSS
  out << "5";
  out.flush();
  return out.good();
}

double PeakRssMib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // "VmHWM:  123456 kB"
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

double CpuClock::Now() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

ThreadCpu SampleThreadCpu(const std::string& proc) {
  ThreadCpu out;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(proc + "/task", ec)) {
    std::ifstream in(task.path() / "stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    // pid (comm) state ... field 14 utime, 15 stime; comm may hold spaces.
    const size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    const std::string name = line.substr(open + 1, close - open - 1);
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stod(field);
      if (i == 15) stime = std::stod(field);
    }
    out[name] += (utime + stime) / tick;
  }
  return out;
}

std::string RunCommand(const std::string& command, int* status) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    if (status != nullptr) *status = -1;
    return out;
  }
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int rc = pclose(pipe);
  if (status != nullptr) *status = rc;
  return out;
}

ThreadCpu CpuUsed(const ThreadCpu& before, const ThreadCpu& after) {
  ThreadCpu used;
  for (const auto& [name, secs] : after) {
    auto it = before.find(name);
    used[name] = secs - (it == before.end() ? 0 : it->second);
  }
  return used;
}

double TotalCpu(const ThreadCpu& before, const ThreadCpu& after) {
  double total = 0;
  for (const auto& [name, secs] : CpuUsed(before, after)) total += secs;
  return total;
}

std::string DescribeThreadCpu(const ThreadCpu& before, const ThreadCpu& after) {
  std::vector<std::pair<double, std::string>> used;
  for (const auto& [name, secs] : CpuUsed(before, after)) {
    if (secs >= 0.01) used.emplace_back(secs, name);
  }
  std::sort(used.rbegin(), used.rend());
  std::string out;
  char buf[96];
  for (const auto& [secs, name] : used) {
    std::snprintf(buf, sizeof buf, "%s%s %.2f", out.empty() ? "" : ", ", name.c_str(), secs);
    out += buf;
  }
  return out;
}

}  // namespace tally::bench

int main(int argc, char** argv) {
  CLI::App app{"tally-bench: engine figures next to same-run baselines"};
  app.require_subcommand(1);

  tally::bench::AppendBenchOptions append;
  auto* a = app.add_subcommand("append", "durable append rate vs raw RocksDB synced WriteBatches");
  a->add_option("--events", append.events, "events to append")->capture_default_str();
  a->add_option("--callers", append.callers, "concurrent callers")->capture_default_str();
  a->add_option("--events-per-request", append.events_per_request)->capture_default_str();
  a->add_option("--dir", append.dir, "scratch folder (on the disk to measure)")->capture_default_str();
  a->add_flag("--keep", append.keep, "keep the scratch data");

  tally::bench::OpenBenchOptions open;
  auto* o = app.add_subcommand("open", "time to open a large log (no replay at start)");
  o->add_option("--events", open.events, "events in the generated log")->capture_default_str();
  o->add_option("--dir", open.dir, "scratch folder")->capture_default_str();
  o->add_flag("--keep", open.keep, "keep the generated log (reused by a later run)");

  tally::bench::CommandsBenchOptions commands;
  auto* c = app.add_subcommand("commands", "the write pipeline on a realistic command mix vs raw RocksDB");
  c->add_option("--commands", commands.commands, "commands to run")->capture_default_str();
  c->add_option("--clients", commands.clients, "commands in flight")->capture_default_str();
  c->add_option("--catalog", commands.catalog, "offer catalog")->capture_default_str();
  c->add_option("--dir", commands.dir, "scratch folder")->capture_default_str();
  c->add_flag("--keep", commands.keep, "keep the scratch data");

  tally::bench::RebuildBenchOptions rebuild;
  tally::bench::RenewalsBenchOptions renewals;
  auto* rn = app.add_subcommand("renewals", "a renewal storm: N subscriptions due at one instant, with other commands");
  rn->add_option("--subscriptions", renewals.subscriptions, "subscriptions due at once")->capture_default_str();
  rn->add_option("--commands", renewals.commands, "other commands for the baseline")->capture_default_str();
  rn->add_option("--clients", renewals.clients, "other commands in flight")->capture_default_str();
  rn->add_option("--storm-in-flight", renewals.storm_in_flight,
                 "lifecycle steps outstanding at once (one per customer and instant, as tallyd's scheduler sends them)")->capture_default_str();
  rn->add_option("--background-per-batch", renewals.background_per_batch,
                 "renewals one writer batch takes at most (its background lane)")
      ->capture_default_str();
  rn->add_option("--dir", renewals.dir, "scratch folder")->capture_default_str();
  rn->add_flag("--keep", renewals.keep, "keep the scratch data");
  auto* r = app.add_subcommand("rebuild", "rebuild of the read models vs a raw RocksDB scan of the log");
  r->add_option("--events", rebuild.events, "events in the generated log")->capture_default_str();
  r->add_option("--catalog", rebuild.catalog, "offer catalog")->capture_default_str();
  r->add_option("--dir", rebuild.dir, "scratch folder")->capture_default_str();
  r->add_flag("--keep", rebuild.keep, "keep the generated log (reused by a later run)");
  r->add_option("--bulk-events", rebuild.bulk_events,
                "events folded in memory before the rows are loaded as table files (0: write through the memtable)")
      ->capture_default_str();
  r->add_flag("!--no-each-model", rebuild.each_model, "skip rebuilding each model alone");

  tally::bench::HttpBenchOptions http;
  auto* h = app.add_subcommand("http", "a real tallyd under wrk: reads, durable writes, a mix; vs in-process commands");
  h->add_option("--customers", http.customers, "customers seeded (each with one subscription)")->capture_default_str();
  h->add_option("--threads", http.threads, "wrk threads")->capture_default_str();
  h->add_option("--connections", http.connections, "wrk connections")->capture_default_str();
  h->add_option("--seconds", http.seconds, "seconds per wrk run")->capture_default_str();
  h->add_option("--tallyd", http.tallyd, "tallyd binary (default: beside tally-bench)");
  h->add_option("--catalog", http.catalog, "offer catalog (in-process run)")->capture_default_str();
  h->add_option("--dir", http.dir, "scratch folder")->capture_default_str();
  h->add_flag("--keep", http.keep, "keep the scratch data");

  tally::bench::PeerPgBenchOptions peer;
  auto* pg = app.add_subcommand("peer-pg", "PostgreSQL as an event store under pgbench vs tally's HTTP writes and in-process commands");
  pg->add_option("--connections", peer.connections, "client counts, each run on both (e.g. 64,256)")
      ->delimiter(',')
      ->capture_default_str();
  pg->add_option("--customers", peer.customers, "tally customers / PostgreSQL streams")->capture_default_str();
  pg->add_option("--threads", peer.threads, "wrk and pgbench threads")->capture_default_str();
  pg->add_option("--seconds", peer.seconds, "seconds per run")->capture_default_str();
  pg->add_option("--pg-bin", peer.pg_bin, "PostgreSQL's bin folder (default: the newest /usr/lib/postgresql/*/bin)");
  pg->add_option("--tallyd", peer.tallyd, "tallyd binary (default: beside tally-bench)");
  pg->add_option("--catalog", peer.catalog, "offer catalog (in-process run)")->capture_default_str();
  pg->add_option("--dir", peer.dir, "scratch folder")->capture_default_str();
  pg->add_flag("--keep", peer.keep, "keep the scratch data");

  tally::bench::KafkaBenchOptions kafka;
  auto* k = app.add_subcommand("kafka", "the Kafka relay vs a raw librdkafka producer, same records, same cluster");
  k->add_option("--events", kafka.events, "events relayed (and sent raw)")->capture_default_str();
  k->add_option("--load-events", kafka.load_events, "events appended while the relay runs")->capture_default_str();
  k->add_option("--partitions", kafka.partitions, "partitions per topic")->capture_default_str();
  k->add_option("--dir", kafka.dir, "scratch folder")->capture_default_str();
  k->add_flag("--keep", kafka.keep, "keep the scratch data");
  k->add_option("--bootstrap", kafka.bootstrap, "a real cluster's bootstrap.servers (default: an embedded mock cluster)");
  k->add_option("--property", kafka.properties, "librdkafka property KEY=VALUE for both producers (repeatable)");
  k->add_option("--commit-interval-ms", kafka.commit_interval_ms,
                "how long the relay's transactions stay open while there is more to publish (default: the relay's)");

  tally::bench::VerifyBenchOptions verify;
  auto* v = app.add_subcommand("verify", "tallyctl verify's hash chain + FlatBuffers check vs a raw RocksDB scan");
  v->add_option("--events", verify.events, "events in the generated log (shared with rebuild)")->capture_default_str();
  v->add_option("--catalog", verify.catalog, "offer catalog")->capture_default_str();
  v->add_option("--dir", verify.dir, "scratch folder")->capture_default_str();
  v->add_flag("--keep", verify.keep, "keep the generated log (reused by a later run)");

  if (auto rc = tally::tools::ParseArgs(app, argc, argv)) return *rc;
  // Every figure depends on the allocator (glibc's malloc halves `commands`).
  std::printf("tally-bench: %s, %ld cores\n", tally::AllocatorName().c_str(), sysconf(_SC_NPROCESSORS_ONLN));
  std::fflush(stdout);
  if (*v) return tally::bench::RunVerifyBench(verify);
  if (*k) return tally::bench::RunKafkaBench(kafka);
  if (*h) return tally::bench::RunHttpBench(http);
  if (*pg) return tally::bench::RunPeerPgBench(peer);
  if (*c) return tally::bench::RunCommandsBench(commands);
  if (*rn) return tally::bench::RunRenewalsBench(renewals);
  if (*a) return tally::bench::RunAppendBench(append);
  if (*o) return tally::bench::RunOpenBench(open);
  if (*r) return tally::bench::RunRebuildBench(rebuild);
  return 2;
}
