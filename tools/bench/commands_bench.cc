// tally-bench commands: the write pipeline on a realistic command mix.
#include <rocksdb/db.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>

#include <unistd.h>

#include "engine/command_processor.h"
#include "engine/domain/catalog.h"
#include "engine/group_commit_writer.h"
#include "engine/log_format.h"
#include "engine/rocksdb_event_log.h"
#include "tools/bench/bench.h"

namespace tally::bench {
namespace {

const std::string kBasic = "3b555118-da6a-4418-894f-7df1e2096870";
const std::string kE3 = "6fd2c87f-b296-42f0-b197-1e91e994b900";
const std::string kStandard = "f245ecc8-75af-4f8e-b61f-27d8114de5f3";
const std::string kTeamsPhone = "d0d3ce6b-8f2c-44c8-a5a0-6ffa6f1d4d71";

domain::LineItem Line(const std::string& offer, int64_t q, const std::string& parent = "") {
  domain::LineItem i;
  i.offer_id = offer;
  i.quantity = q;
  i.parent_subscription_id = parent;
  return i;
}

// One client: its customer, its subscriptions, and what to send next.
struct Client {
  std::mt19937_64 rng;
  std::string customer_id, order_id;
  std::vector<std::string> subscriptions;  // base subscriptions
  std::vector<bool> suspended;
  int sent = 0;
  int next_prefix = 0;
  Clock started;

  domain::Command Next(int id) {
    if (customer_id.empty() || rng() % 10 == 0) {  // a new customer, 1-3 line items
      domain::AddCustomer a;
      a.domain_prefix = "c" + std::to_string(id) + "x" + std::to_string(next_prefix++);
      a.company_name = "Contoso Ltd";
      a.billing = {"ada@contoso.example", "en-US", "en", "Contoso Ltd",
                   {"Ada", "Lovelace", "1 Microsoft Way", "", "", "Redmond", "WA", "98052", "US", "4255550100"}};
      a.agreement = domain::AgreementInput{"Ada", "Lovelace", "ada@contoso.example", "", 1'704'067'200'000'000,
                                           domain::kCustomerAgreementTemplateId};  // needed to buy (13605)
      const std::string offers[] = {kBasic, kE3, kStandard};
      for (int i = 0, n = 1 + static_cast<int>(rng() % 3); i < n; ++i) {
        a.line_items.push_back(Line(offers[rng() % 3], 1 + static_cast<int64_t>(rng() % 50)));
      }
      return a;
    }
    const size_t i = rng() % subscriptions.size();
    const int pick = static_cast<int>(rng() % 10);
    if (pick < 2) return domain::CreateOrder{customer_id, {Line(kE3, 1 + static_cast<int64_t>(rng() % 50))}};
    if (pick < 3 && !suspended[i]) {
      return domain::AddAddOn{customer_id, order_id, {Line(kTeamsPhone, 1 + static_cast<int64_t>(rng() % 5), subscriptions[i])}};
    }
    domain::UpdateSubscription u{customer_id, subscriptions[i]};
    if (pick < 5) {
      u.status = suspended[i] ? domain::SubscriptionStatus::kActive : domain::SubscriptionStatus::kSuspended;
      suspended[i] = !suspended[i];
    } else if (suspended[i]) {
      u.status = domain::SubscriptionStatus::kActive;
      suspended[i] = false;
    } else {
      u.quantity = 1 + static_cast<int64_t>(rng() % 100);
    }
    return u;
  }

  void Learn(const domain::Command& sent_command, const CommandOutcome& out) {
    if (std::holds_alternative<domain::AddCustomer>(sent_command)) {
      customer_id = out.customer_id;
      order_id = out.order_id;
      subscriptions = out.subscription_ids;
      suspended.assign(subscriptions.size(), false);
    } else if (std::holds_alternative<domain::CreateOrder>(sent_command)) {
      subscriptions.push_back(out.subscription_ids[0]);
      suspended.push_back(false);
    }
  }
};

}  // namespace

int RunCommandsBench(const CommandsBenchOptions& o) {
  auto catalog = domain::Catalog::Load(o.catalog);
  if (!catalog.ok()) {
    std::fprintf(stderr, "%s\n", catalog.error().ToString().c_str());
    return 2;
  }
  const std::string dir = FreshDir(o.dir, "commands-engine");
  auto log = RocksDbEventLog::Open(dir);
  if (!log.ok()) return 2;
  domain::RandomIdSource ids(7);
  CommandProcessor processor(**log, *catalog, domain::Instance::kGlobal, ids);
  std::printf("tally-bench commands: %llu commands, %d clients in flight\n",
              static_cast<unsigned long long>(o.commands), o.clients);

  std::vector<Client> clients(o.clients);
  for (int i = 0; i < o.clients; ++i) clients[i].rng.seed(1000 + i);
  std::vector<double> latencies;
  latencies.reserve(o.commands);
  std::atomic<uint64_t> sent{0}, failures{0};
  std::mutex done_mu;
  std::condition_variable done_cv;
  int finished = 0;
  GroupCommitStats stats;
  ThreadCpu threads_before = SampleThreadCpu(), threads_after;
  CpuClock cpu;
  Clock clock;
  {
    GroupCommitWriter writer(**log);
    std::function<void(int)> send = [&](int c) {
      if (sent.fetch_add(1) >= o.commands) {
        std::lock_guard<std::mutex> lock(done_mu);
        if (++finished == o.clients) done_cv.notify_one();
        return;
      }
      Client& client = clients[c];
      auto command = std::make_shared<domain::Command>(client.Next(c));
      client.started = Clock();
      writer.Submit(processor.Task(*command, domain::CommandMeta{"partner-1", "", ""},
                                   [&, c, command](Result<CommandOutcome> r) {
                                     latencies.push_back(clients[c].started.Seconds() * 1e6);
                                     if (r.ok()) {
                                       clients[c].Learn(*command, *r);
                                     } else {
                                       failures.fetch_add(1);
                                       if (failures.load() < 5) std::fprintf(stderr, "  rejected: %s\n", r.error().ToString().c_str());
                                     }
                                     send(c);
                                   }));
    };
    for (int c = 0; c < o.clients; ++c) send(c);
    {
      std::unique_lock<std::mutex> lock(done_mu);
      done_cv.wait(lock, [&] { return finished == o.clients; });
    }
    stats = writer.Stats();
    threads_after = SampleThreadCpu();  // before the writer's threads end
  }
  const double secs = clock.Seconds();
  const double cpu_secs = cpu.Seconds();

  const RawBaseline raw = MeasureRawBaseline(CaptureRecords(*log), stats, FreshDir(o.dir, "commands-raw"));
  const double engine_events = stats.events / secs;
  const double raw_events = raw.rate();
  std::printf("  engine            %9.0f commands/s  %9.0f events/s  (%llu syncs, %.1f events/sync, %llu rejected)\n",
              stats.requests / secs, engine_events, static_cast<unsigned long long>(stats.commits),
              double(stats.events) / std::max<uint64_t>(1, stats.commits),
              static_cast<unsigned long long>(failures.load()));
  std::printf("  engine latency    p50 %.0f us, p99 %.0f us per command\n", Percentile(latencies, 0.5),
              Percentile(latencies, 0.99));
  std::printf("  raw RocksDB       %9.0f events/s  (synced WriteBatches of %zu records: the same stored bytes)\n",
              raw_events, raw.per_batch);
  std::printf("  ratio engine/raw  %.2f  (goal >= 0.50; goal >= 150000 commands/s)\n", engine_events / raw_events);
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  std::printf("  engine CPU        %.2f CPU-s in %.2f s on %ld cores (%.0f%% busy); by thread: %s\n", cpu_secs, secs,
              cores, 100.0 * cpu_secs / (secs * cores), DescribeThreadCpu(threads_before, threads_after).c_str());
  if (!o.keep) std::filesystem::remove_all(o.dir);
  return failures.load() == 0 ? 0 : 1;
}

}  // namespace tally::bench
