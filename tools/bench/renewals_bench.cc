// tally-bench renewals: a renewal storm (issue 19). N subscriptions fall due
// at one instant of a manual clock; their AdvanceSubscription commands go
// through the writer as tallyd's scheduler sends them (request ids from
// subscription and due time, --storm-in-flight at once) while other clients keep
// sending ordinary commands. Baseline from the same run: the same clients'
// commands alone, before the storm. Prints the renewal rate against the
// commands rate and the other commands' p99 during the storm against their
// p99 alone.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "engine/command_processor.h"
#include "engine/domain/catalog.h"
#include "engine/domain/terms.h"
#include "engine/group_commit_writer.h"
#include "engine/rocksdb_event_log.h"
#include "events/codec.h"
#include "tools/bench/bench.h"
#include "tools/common/workload.h"

namespace tally::bench {
namespace {

// Runs `count` commands from `next` with `in_flight` of them outstanding;
// returns the seconds taken, latencies (us) appended to `latencies` when
// not null. Stops early when `stop` becomes true.
double Drive(GroupCommitWriter& writer, CommandProcessor& processor, uint64_t count, int in_flight,
             const std::function<std::pair<domain::Command, domain::CommandMeta>(uint64_t)>& next,
             std::vector<double>* latencies, std::atomic<uint64_t>& failures, const std::atomic<bool>* stop = nullptr,
             bool background = false) {
  std::atomic<uint64_t> issued{0};
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  Clock clock;
  std::function<void(int)> send = [&](int lane) {
    const uint64_t i = issued.fetch_add(1);
    if (i >= count || (stop != nullptr && stop->load())) {
      std::lock_guard<std::mutex> lock(mu);
      if (++finished == in_flight) cv.notify_one();
      return;
    }
    auto [command, meta] = next(i);
    auto started = std::make_shared<Clock>();
    auto task = processor.Task(std::move(command), std::move(meta), [&, lane, started](Result<CommandOutcome> r) {
      if (latencies != nullptr) {
        std::lock_guard<std::mutex> lock(mu);
        latencies->push_back(started->Seconds() * 1e6);
      }
      if (!r.ok()) failures.fetch_add(1);
      send(lane);
    });
    if (background) {
      writer.SubmitBackground(std::move(task));
    } else {
      writer.Submit(std::move(task));
    }
  };
  for (int lane = 0; lane < in_flight; ++lane) send(lane);
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return finished == in_flight; });
  return clock.Seconds();
}

}  // namespace

int RunRenewalsBench(const RenewalsBenchOptions& o) {
  auto catalog = domain::Catalog::Load(o.catalog);
  if (!catalog.ok()) {
    std::fprintf(stderr, "%s\n", catalog.error().ToString().c_str());
    return 2;
  }
  const std::string dir = FreshDir(o.dir, "renewals");
  ManualClock time(1'767'225'600'000'000);  // 2026-01-01T00:00:00Z
  RocksDbEventLogOptions log_options;
  log_options.clock = &time;
  auto log = RocksDbEventLog::Open(dir, log_options);
  if (!log.ok()) return 2;
  domain::RandomIdSource ids(11);
  CommandProcessor processor(**log, *catalog, domain::Instance::kGlobal, ids);
  GroupCommitWriterOptions writer_options;
  writer_options.max_background_per_batch = o.background_per_batch;
  GroupCommitWriter writer(**log, writer_options);
  std::atomic<uint64_t> failures{0};
  constexpr int kPerCustomer = 5;
  const uint64_t customers = (o.subscriptions + kPerCustomer - 1) / kPerCustomer;
  std::printf("tally-bench renewals: %llu subscriptions (%llu customers x %d) due at one instant, %d renewals in "
              "flight; %d other clients\n",
              static_cast<unsigned long long>(customers * kPerCustomer), static_cast<unsigned long long>(customers),
              kPerCustomer, o.storm_in_flight, o.clients);
  std::printf("  the writer takes at most %zu renewals per batch (--background-per-batch)\n", o.background_per_batch);

  // The subscriptions, all bought at the same instant on P1M.
  std::vector<std::pair<std::string, std::string>> subs;  // (customer, subscription)
  const double setup = Drive(writer, processor, customers, 256, [&](uint64_t i) {
    domain::AddCustomer a = tools::ValidAddCustomer("r" + std::to_string(i));
    for (int k = 0; k < kPerCustomer; ++k) a.line_items.push_back(tools::Item(tools::offers::kBusinessBasic, 10));
    return std::pair<domain::Command, domain::CommandMeta>{std::move(a), {"partner-1", "", ""}};
  }, nullptr, failures);
  // Learn the ids from the states (the processor holds them).
  {
    auto events = (*log)->Read(1, (*log)->Head());
    if (!events.ok()) return 2;
    for (const auto& e : *events) {
      auto env = events::VerifyEnvelope(e.envelope);
      if (!env.ok() || (*env)->payload_type() != events::Payload::SubscriptionCreated) continue;
      subs.emplace_back((*env)->customer_id()->str(), (*env)->payload_as_SubscriptionCreated()->subscription_id()->str());
    }
  }
  std::printf("  setup             %.1f s (%llu events)\n", setup, static_cast<unsigned long long>((*log)->Head()));

  // Other clients' commands: renames of random subscriptions (accepted in
  // any state the storm leaves them in).
  std::mt19937_64 rng(5);
  std::mutex rng_mu;
  auto other = [&](uint64_t i) {
    std::lock_guard<std::mutex> lock(rng_mu);
    const auto& [c, s] = subs[rng() % subs.size()];
    domain::UpdateSubscription u{c, s, {}, {}, {}, {}, {}};
    u.friendly_name = "Team " + std::to_string(i);
    return std::pair<domain::Command, domain::CommandMeta>{std::move(u), {"partner-1", "", ""}};
  };
  std::vector<double> alone;
  const double alone_secs = Drive(writer, processor, o.commands, o.clients, other, &alone, failures);
  const double commands_rate = o.commands / alone_secs;

  // The storm: every subscription due now.
  const int64_t due = domain::TermOverAt(1'767'225'600'000'000, "P1M");
  time.Set(due);
  std::atomic<bool> storm_over{false};
  std::vector<double> during;
  std::thread others([&] { Drive(writer, processor, UINT64_MAX, o.clients, other, &during, failures, &storm_over); });
  // As tallyd's scheduler groups them: one step per customer and instant.
  std::vector<domain::AdvanceSubscription> steps;
  for (const auto& [c, s] : subs) domain::AddDueSubscription(steps, c, s, due);
  const double storm_secs = Drive(writer, processor, steps.size(), o.storm_in_flight, [&](uint64_t i) {
    domain::CommandMeta meta{"system:lifecycle", domain::LifecycleRequestId(steps[i]), "lifecycle-" + steps[i].customer_id};
    return std::pair<domain::Command, domain::CommandMeta>{steps[i], std::move(meta)};
  }, nullptr, failures, nullptr, /*background=*/true);
  storm_over = true;
  others.join();
  const double renewals_rate = subs.size() / storm_secs;
  const double p99_alone = Percentile(alone, 0.99), p99_during = Percentile(during, 0.99);
  std::printf("  commands alone    %9.0f commands/s, p99 %.0f us (%d clients)\n", commands_rate, p99_alone, o.clients);
  std::printf("  renewal storm     %9.0f renewals/s (%zu in %.2f s, %zu steps), other commands meanwhile: %zu, p99 %.0f us\n",
              renewals_rate, subs.size(), storm_secs, steps.size(), during.size(), p99_during);
  std::printf("  ratio renewals/commands %.2f  (goal >= 0.50)\n", renewals_rate / commands_rate);
  std::printf("  p99 during/alone        %.2f  (goal <= 2.00)\n", p99_during / std::max(1.0, p99_alone));
  std::printf("  rejected          %llu\n", static_cast<unsigned long long>(failures.load()));
  writer.Stop();
  log->reset();
  if (!o.keep) std::filesystem::remove_all(o.dir);
  return failures.load() == 0 ? 0 : 1;
}

}  // namespace tally::bench
