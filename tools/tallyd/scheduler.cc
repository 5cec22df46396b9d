#include "tools/tallyd/scheduler.h"

#include <pthread.h>

#include <cstdio>
#include <vector>

#include "engine/domain/terms.h"
#include "projections/license/license.h"

namespace tally {

Scheduler::Scheduler(CommandProcessor& processor, GroupCommitWriter& writer, const EventLog& log,
                     projections::ProjectionStore& store, projections::ProjectionRunner& runner,
                     SchedulerOptions options)
    : processor_(processor), writer_(writer), log_(log), store_(store), runner_(runner), options_(options) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "tally-schedule");
    Loop();
  });
}

void Scheduler::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Wake() {
  {
    MutexLock lock(&mu_);
    woken_ = true;
  }
  cv_.SignalAll();
}

SchedulerStats Scheduler::Stats() const { return {passes_.load(), steps_.load(), failures_.load()}; }

void Scheduler::Loop() {
  MutexLock lock(&mu_);
  while (!stopping_) {
    woken_ = false;
    lock.Unlock();
    // Pass after pass while steps are taken: each waits until the read
    // models show the last one, so the next sees the new state.
    for (uint64_t last = Pass(); last > 0; last = Pass()) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!runner_.Applied(last) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      MutexLock check(&mu_);
      if (stopping_) return;
    }
    lock.Lock();
    const auto next_pass = std::chrono::steady_clock::now() + options_.tick;
    while (!stopping_ && !woken_ && cv_.WaitUntil(&mu_, next_pass)) {
    }
  }
}

uint64_t Scheduler::Pass() {
  passes_.fetch_add(1);
  const int64_t now = log_.NowMicros();
  std::vector<domain::AdvanceSubscription> due;
  size_t subscriptions = 0;
  // One step for a customer's subscriptions due at one instant (one append
  // to its stream); the due list yields them one after another.
  auto add = [&](std::string_view customer, std::string_view subscription, int64_t at) {
    domain::AddDueSubscription(due, customer, subscription, at);
    return ++subscriptions < options_.max_per_pass;
  };
  const projections::LicenseReader license(store_);
  // The due list: only what is due, earliest first.
  auto listed = license.ForEachDue(now, add);
  Status scanned = listed.ok() ? OkStatus() : Status(listed.error());
  if (listed.ok() && !*listed) {
    // A license model built before the due list: every row, every pass
    // (tallyctl rebuild license makes the list).
    if (!warned_no_due_list_.exchange(true)) {
      std::fprintf(stderr, "tallyd: scheduler: the license model has no due list (built by an older tallyd): "
                           "scanning every subscription each pass; rebuild it (tallyctl rebuild license) to stop that\n");
    }
    scanned = license.ForEach([&](const projections::SubscriptionRow& row) {
      const domain::NextStep next = domain::NextLifecycleStep(row.status, row.term_duration, row.term_start_us,
                                                              row.auto_renew, row.status_since_us);
      if (next.step != domain::LifecycleStep::kNone && next.due_us <= now) return add(row.customer_id, row.id, next.due_us);
      return true;
    });
  }
  if (!scanned.ok()) {
    std::fprintf(stderr, "tallyd: scheduler: %s\n", scanned.error().ToString().c_str());
    return 0;
  }
  // A sliding window of options_.in_flight steps outstanding. The window's
  // state is shared with the callbacks, so none outlives it.
  struct Window {
    Mutex mu;
    CondVar answered;  // with mu
    size_t outstanding GUARDED_BY(mu) = 0;
    uint64_t last GUARDED_BY(mu) = 0;
  };
  auto window = std::make_shared<Window>();
  for (auto& step : due) {
    {
      MutexLock lock(&window->mu);
      while (window->outstanding >= options_.in_flight) window->answered.Wait(&window->mu);
      ++window->outstanding;
    }
    domain::CommandMeta meta{kActor, domain::LifecycleRequestId(step), "lifecycle-" + step.customer_id};
    writer_.SubmitBackground(processor_.Task(std::move(step), std::move(meta), [this, window](Result<CommandOutcome> r) {
      if (!r.ok()) {
        failures_.fetch_add(1);
        std::fprintf(stderr, "tallyd: scheduler: %s\n", r.error().ToString().c_str());
      } else if (r->last_position > 0 && !r->replayed) {
        steps_.fetch_add(1);
      }
      MutexLock lock(&window->mu);
      if (r.ok() && !r->replayed) window->last = std::max(window->last, r->last_position);
      --window->outstanding;
      window->answered.SignalAll();
    }));
  }
  MutexLock lock(&window->mu);
  while (window->outstanding > 0) window->answered.Wait(&window->mu);
  return window->last;
}

}  // namespace tally
