// tally-bench append / open.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <condition_variable>
#include <functional>
#include <map>
#include <tuple>
#include <mutex>
#include <thread>
#include <vector>

#include <unistd.h>

#include "engine/group_commit_writer.h"
#include "engine/log_format.h"
#include "engine/log_witnesses.h"
#include "engine/rocksdb_event_log.h"
#include "engine/rocksdb_event_log_options.h"
#include "events/samples.h"
#include "tools/bench/bench.h"
#include "tools/common/progress.h"

namespace tally::bench {
double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p * (v.size() - 1));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

// Synced WriteBatches of exactly `records`, `per_batch` records each, into a
// fresh default-options RocksDB: the baseline.
double RawSyncedWrites(const std::string& dir, const Records& records, size_t per_batch) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) {
    std::fprintf(stderr, "raw open: %s\n", s.ToString().c_str());
    std::exit(2);
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  Clock clock;
  for (size_t i = 0; i < records.size(); i += per_batch) {
    rocksdb::WriteBatch wb;
    for (size_t j = i; j < std::min(records.size(), i + per_batch); ++j) {
      wb.Put(records[j].first, records[j].second);
    }
    s = db->Write(wo, &wb);
    if (!s.ok()) {
      std::fprintf(stderr, "raw write: %s\n", s.ToString().c_str());
      std::exit(2);
    }
  }
  return clock.Seconds();
}

std::vector<LogEntry> CaptureLogEntries(const std::string& path) {
  const std::vector<std::string> families = {log_format::kEventsCf, log_format::kStreamsCf,
                                             log_format::kRequestsCf};
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()}};
  for (const auto& f : families) descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, descriptors, &handles, &raw);
  if (!s.ok()) {
    std::fprintf(stderr, "reading the log's entries: %s\n", s.ToString().c_str());
    std::exit(2);
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  std::vector<LogEntry> entries;
  for (size_t i = 0; i < families.size(); ++i) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i + 1]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      // events: the key is the position; streams and requests: the value
      // starts with it (events/FORMAT.md).
      const std::string_view at = i == 0 ? it->key().ToStringView() : it->value().ToStringView();
      entries.push_back({families[i], it->key().ToString(), it->value().ToString(), log_format::GetBigEndian64(at)});
    }
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  std::stable_sort(entries.begin(), entries.end(),
                   [](const LogEntry& a, const LogEntry& b) { return a.position < b.position; });
  return entries;
}

double RawSyncedLogWrites(const std::string& dir, const std::vector<LogEntry>& entries, size_t per_batch) {
  // The log's own RocksDB settings (hash memtables for the index families,
  // bloom filters, compression): what is compared is the engine's work, not
  // its storage tuning.
  EventLogStorageOptions storage = MakeEventLogStorageOptions(RocksDbEventLogOptions().block_cache_bytes);
  storage.db.create_if_missing = true;
  storage.db.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(storage.db, dir, storage.families, &handles, &raw);
  if (!s.ok()) {
    std::fprintf(stderr, "raw open: %s\n", s.ToString().c_str());
    std::exit(2);
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  std::map<std::string, rocksdb::ColumnFamilyHandle*> family;
  for (size_t i = 0; i < handles.size(); ++i) family[storage.families[i].name] = handles[i];
  rocksdb::WriteOptions wo;
  wo.sync = true;
  Clock clock;
  std::vector<const LogEntry*> index;
  for (size_t i = 0; i < entries.size();) {
    // The entries of events [position, end): the events, then the index
    // entries sorted by family and key, as the log's batches have them.
    rocksdb::WriteBatch wb;
    index.clear();
    const uint64_t end = entries[i].position + per_batch;
    for (; i < entries.size() && entries[i].position < end; ++i) {
      if (entries[i].cf == log_format::kEventsCf) {
        wb.Put(family[entries[i].cf], entries[i].key, entries[i].value);
      } else {
        index.push_back(&entries[i]);
      }
    }
    std::sort(index.begin(), index.end(), [](const LogEntry* a, const LogEntry* b) {
      return std::tie(a->cf, a->key) < std::tie(b->cf, b->key);
    });
    for (const LogEntry* e : index) wb.Put(family[e->cf], e->key, e->value);
    s = db->Write(wo, &wb);
    if (!s.ok()) {
      std::fprintf(stderr, "raw write: %s\n", s.ToString().c_str());
      std::exit(2);
    }
  }
  const double seconds = clock.Seconds();
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  return seconds;
}

Records CaptureRecords(std::unique_ptr<RocksDbEventLog>& log) {
  Records records;
  records.reserve(log->Head());
  auto s = log->Scan(1, log->Head(), [&](const EventView& v) {
    records.emplace_back(log_format::EventKey(v.position), std::string(v.raw_value));
    return true;
  });
  if (!s.ok()) {
    std::fprintf(stderr, "reading the engine's records: %s\n", s.error().ToString().c_str());
    std::exit(2);
  }
  log.reset();
  return records;
}

RawBaseline MeasureRawBaseline(const Records& records, const GroupCommitStats& stats, const std::string& dir) {
  RawBaseline raw;
  raw.records = records.size();
  raw.per_batch = std::max<size_t>(
      1, static_cast<size_t>(double(stats.events) / std::max<uint64_t>(1, stats.commits) + 0.5));
  raw.seconds = RawSyncedWrites(dir, records, raw.per_batch);
  return raw;
}

int RunAppendBench(const AppendBenchOptions& o) {
  const int k = std::max(1, o.events_per_request);
  const uint64_t total_requests = o.events / k;
  std::printf("tally-bench append: %llu events, %d per request, %d concurrent callers (commands in flight)\n",
              static_cast<unsigned long long>(total_requests * k), k, o.callers);

  // Pre-built envelopes (building them is the callers' work, not the log's).
  std::vector<std::vector<AppendRequest>> work(o.callers);
  size_t bytes = 0;
  {
    events::SampleEvents samples(1);
    std::vector<std::string> customers;
    for (int i = 0; i < 10'000; ++i) customers.push_back(samples.Uuid());
    for (uint64_t r = 0; r < total_requests; ++r) {
      AppendRequest req;
      req.request_id = samples.Uuid();
      req.fingerprint = req.request_id;
      const std::string& c = customers[r % customers.size()];
      for (int e = 0; e < k; ++e) {
        req.events.push_back(samples.OfType(events::Payload::SubscriptionQuantityChanged, c));
        bytes += req.events.back().size();
      }
      work[r % o.callers].push_back(std::move(req));
    }
  }
  const double avg_event = static_cast<double>(bytes) / (total_requests * k);

  // Engine: the log behind the group-commit writer, many callers.
  const std::string engine_dir = FreshDir(o.dir, "append-engine");
  auto log = RocksDbEventLog::Open(engine_dir);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.error().ToString().c_str());
    return 2;
  }
  // Each caller is a client with one command in flight at a time, as an
  // HTTP connection is: its completion (on the commit thread) submits its
  // next command. No thread per caller: the server does not have one either.
  std::vector<std::vector<double>> latencies(o.callers);
  std::atomic<uint64_t> failures{0};
  GroupCommitStats stats;
  double engine_secs = 0, engine_cpu = 0;
  ThreadCpu threads_before = SampleThreadCpu(), threads_after;
  {
    GroupCommitWriter writer(**log);
    std::mutex done_mu;
    std::condition_variable done_cv;
    int clients_done = 0;
    struct Client {
      size_t next = 0;
      Clock sent;
    };
    std::vector<Client> clients(o.callers);
    std::function<void(int)> send = [&](int c) {
      Client& client = clients[c];
      if (client.next == work[c].size()) {
        std::lock_guard<std::mutex> lock(done_mu);
        if (++clients_done == o.callers) done_cv.notify_one();
        return;
      }
      client.sent = Clock();
      writer.Submit(std::move(work[c][client.next++]), [&, c](Result<AppendOutcome> r) {
        latencies[c].push_back(clients[c].sent.Seconds() * 1e6);
        if (!r.ok()) failures.fetch_add(1);
        send(c);
      });
    };
    Clock clock;
    CpuClock cpu;
    for (int c = 0; c < o.callers; ++c) {
      latencies[c].reserve(work[c].size());
      send(c);
    }
    {
      std::unique_lock<std::mutex> lock(done_mu);
      done_cv.wait(lock, [&] { return clients_done == o.callers; });
    }
    engine_secs = clock.Seconds();
    engine_cpu = cpu.Seconds();
    stats = writer.Stats();
    threads_after = SampleThreadCpu();  // before the writer's threads end
  }
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());

  const Records records = CaptureRecords(*log);
  const RawBaseline raw = MeasureRawBaseline(records, stats, FreshDir(o.dir, "append-raw"));
  const size_t per_batch = raw.per_batch;
  const double raw256_secs = RawSyncedWrites(FreshDir(o.dir, "append-raw256"), records, 256);
  const std::vector<LogEntry> entries = CaptureLogEntries(engine_dir);
  const double same_entries_secs = RawSyncedLogWrites(FreshDir(o.dir, "append-raw-entries"), entries, per_batch);

  const double engine_rate = stats.events / engine_secs;
  const double raw_rate = raw.rate();
  std::printf("  event size            %.0f bytes on average (stored value: +32-byte chain hash)\n", avg_event);
  std::printf("  engine                %10.0f events/s  %8.0f commands/s  (%llu syncs, %.1f events/sync, %llu prepared batches, largest sync %llu requests, %llu failed)\n",
              engine_rate, stats.requests / engine_secs,
              static_cast<unsigned long long>(stats.commits), double(stats.events) / stats.commits,
              static_cast<unsigned long long>(stats.prepared_batches),
              static_cast<unsigned long long>(stats.largest_commit),
              static_cast<unsigned long long>(failures.load()));
  std::printf("  engine latency        p50 %.0f us, p99 %.0f us, max %.0f us per command\n",
              Percentile(all, 0.50), Percentile(all, 0.99), Percentile(all, 1.0));
  std::printf("  raw RocksDB           %10.0f events/s  (synced WriteBatches of %zu records, same records)\n",
              raw_rate, per_batch);
  std::printf("  raw RocksDB, 256/batch%10.0f events/s\n", records.size() / raw256_secs);
  const double same_entries_rate = records.size() / same_entries_secs;
  std::printf("  raw RocksDB, same entries%7.0f events/s  (%zu entries: events, stream index, request ids; the log's RocksDB settings; synced WriteBatches of %zu events' entries)\n",
              same_entries_rate, entries.size(), per_batch);
  std::printf("  ratio engine/raw      %.2f against one entry per event; %.2f against the same entries (goal >= 0.80)\n",
              engine_rate / raw_rate, engine_rate / same_entries_rate);
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  std::printf("  engine CPU            %.2f CPU-s in %.2f s on %ld cores (%.0f%% busy); by thread: %s\n", engine_cpu,
              engine_secs, cores, 100.0 * engine_cpu / (engine_secs * cores),
              DescribeThreadCpu(threads_before, threads_after).c_str());
  if (!o.keep) std::filesystem::remove_all(o.dir);
  return failures.load() == 0 ? 0 : 1;
}

int RunOpenBench(const OpenBenchOptions& o) {
  const std::string dir = o.dir + "/open-" + std::to_string(o.events);
  bool reuse = false;
  if (std::filesystem::exists(dir)) {
    auto existing = RocksDbEventLog::OpenReadOnly(dir);
    reuse = existing.ok() && (*existing)->Head() == o.events;
  }
  if (!reuse) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    RocksDbEventLogOptions fast;
    fast.sync = false;  // generation only; the timed part is the open
    auto log = RocksDbEventLog::Open(dir, fast);
    if (!log.ok()) return 2;
    events::SampleEvents samples(3);
    std::vector<std::string> customers;
    for (int i = 0; i < 100'000; ++i) customers.push_back(samples.Uuid());
    tools::Progress progress("generating", o.events);
    uint64_t done = 0;
    while (done < o.events) {
      std::vector<AppendRequest> batch;
      for (int i = 0; i < 1000 && done + batch.size() < o.events; ++i) {
        AppendRequest r;
        r.events.push_back(samples.OfType(events::Payload::SubscriptionQuantityChanged,
                                          customers[(done + i) % customers.size()]));
        batch.push_back(std::move(r));
      }
      for (auto& r : (*log)->AppendBatch(batch)) {
        if (!r.ok()) {
          std::fprintf(stderr, "generate: %s\n", r.error().ToString().c_str());
          return 2;
        }
      }
      done += batch.size();
      if (done % 100'000 == 0) progress.Update(done);
    }
    progress.Done();
    std::printf("generated %llu events in %.1fs\n", static_cast<unsigned long long>(done), progress.Elapsed());
  }
  std::printf("tally-bench open: log of %llu events\n", static_cast<unsigned long long>(o.events));
  double best_engine = 1e9, best_raw = 1e9;
  for (int i = 0; i < 3; ++i) {
    Clock clock;
    auto log = RocksDbEventLog::Open(dir);
    const double secs = clock.Seconds();
    if (!log.ok() || (*log)->Head() != o.events) {
      std::fprintf(stderr, "open failed or wrong head\n");
      return 2;
    }
    best_engine = std::min(best_engine, secs);
    log->reset();
    // Baseline: RocksDB opening the same folder and column families, nothing else.
    std::vector<std::string> names;
    if (!rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok()) return 2;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    Clock raw_clock;
    if (!rocksdb::DB::Open(rocksdb::DBOptions(), dir, cfs, &handles, &raw).ok()) return 2;
    best_raw = std::min(best_raw, raw_clock.Seconds());
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    delete raw;
    std::printf("  run %d: engine open %.3fs\n", i + 1, secs);
  }
  // tallyd's start-up check after the open (log_witnesses.h): against the
  // head mark at the head (a clean stop), and with no usable mark (the last
  // 65536 positions verified), warm.
  double best_marked = 1e9, best_unmarked = 1e9;
  {
    auto log = RocksDbEventLog::Open(dir);
    auto mark = ReadHeadMark(dir);
    if (!log.ok() || !mark.ok() || !mark->has_value()) {
      std::fprintf(stderr, "open bench: no head mark in %s\n", dir.c_str());
      return 2;
    }
    for (int i = 0; i < 3; ++i) {
      Clock marked;
      auto a = CheckAgainstWitnesses(**log, *mark, {});
      best_marked = std::min(best_marked, marked.Seconds());
      Clock unmarked;
      auto b = CheckAgainstWitnesses(**log, std::nullopt, {});
      best_unmarked = std::min(best_unmarked, unmarked.Seconds());
      if (!a.ok() || !b.ok() || !a->damage.empty() || !b->damage.empty()) {
        std::fprintf(stderr, "open bench: the start-up check failed\n");
        return 2;
      }
    }
  }
  std::printf("  engine open (best of 3)   %.3f s  (goal < 1 s)\n", best_engine);
  std::printf("  start-up check, head mark at the head    %.4f s  (open + check %.3f s)\n", best_marked,
              best_engine + best_marked);
  std::printf("  start-up check, no mark (last 65536 verified) %.4f s  (open + check %.3f s)\n", best_unmarked,
              best_engine + best_unmarked);
  std::printf("  raw RocksDB open          %.3f s  (same folder, same column families)\n", best_raw);
  std::printf("  ratio engine/raw          %.2f\n", best_engine / best_raw);
  if (!o.keep) std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace tally::bench
