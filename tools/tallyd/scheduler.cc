#include "tools/tallyd/scheduler.h"

#include <pthread.h>

#include <cstdio>
#include <future>
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
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

SchedulerStats Scheduler::Stats() const { return {passes_.load(), steps_.load(), failures_.load()}; }

void Scheduler::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    // Pass after pass while steps are taken: each waits until the read
    // models show the last one, so the next sees the new state.
    for (uint64_t last = Pass(); last > 0; last = Pass()) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!runner_.Applied(last) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      std::lock_guard<std::mutex> check(mu_);
      if (stopping_) return;
    }
    lock.lock();
    cv_.wait_for(lock, options_.tick, [this] { return stopping_ || woken_; });
  }
}

uint64_t Scheduler::Pass() {
  passes_.fetch_add(1);
  const int64_t now = log_.NowMicros();
  std::vector<domain::AdvanceSubscription> due;
  const Status scanned = projections::LicenseReader(store_).ForEach([&](const projections::SubscriptionRow& row) {
    const domain::NextStep next = domain::NextLifecycleStep(row.status, row.term_duration, row.term_start_us,
                                                            row.auto_renew, row.status_since_us);
    if (next.step != domain::LifecycleStep::kNone && next.due_us <= now) {
      due.push_back({row.customer_id, row.id, next.due_us});
    }
    return due.size() < options_.batch;
  });
  if (!scanned.ok()) {
    std::fprintf(stderr, "tallyd: scheduler: %s\n", scanned.error().ToString().c_str());
    return 0;
  }
  std::vector<std::future<Result<CommandOutcome>>> answers;
  for (auto& step : due) {
    domain::CommandMeta meta{kActor,
                             "lifecycle-" + step.subscription_id + "-" + std::to_string(step.due_us),
                             "lifecycle-" + step.subscription_id};
    auto promise = std::make_shared<std::promise<Result<CommandOutcome>>>();
    answers.push_back(promise->get_future());
    writer_.Submit(processor_.Task(std::move(step), std::move(meta),
                                   [promise](Result<CommandOutcome> r) { promise->set_value(std::move(r)); }));
  }
  uint64_t last = 0;
  for (auto& answer : answers) {
    Result<CommandOutcome> r = answer.get();
    if (!r.ok()) {
      failures_.fetch_add(1);
      std::fprintf(stderr, "tallyd: scheduler: %s\n", r.error().ToString().c_str());
      continue;
    }
    if (r->last_position > 0 && !r->replayed) {
      steps_.fetch_add(1);
      last = std::max(last, r->last_position);
    }
  }
  return last;
}

}  // namespace tally
