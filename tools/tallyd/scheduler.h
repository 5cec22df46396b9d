// The lifecycle scheduler (a process manager): time drives commands. Each
// pass reads the license read model's due list (the subscriptions whose next
// lifecycle step, renew, expire, disable or delete (domain/terms.h), is due
// at the clock's time, earliest first), and submits an AdvanceSubscription for each through the
// group-commit writer, like any command. Its request id names the
// subscription and the due time, so that a crash, a restart or a second
// scheduler never takes a step twice (the log answers a retried request id
// with its first outcome). After a pass that appended events it waits for
// the read models to apply them and passes again, so a clock that jumped
// years catches up term after term, in order.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "engine/base/mutex.h"
#include "engine/command_processor.h"
#include "engine/group_commit_writer.h"
#include "projections/runner.h"
#include "projections/store.h"

namespace tally {

struct SchedulerOptions {
  // How often a pass runs without being woken (the real clock moving on:
  // steps fall due at 00:00 UTC, a minute late is on time).
  std::chrono::milliseconds tick{60'000};
  // Steps outstanding at once (each one customer's subscriptions due at
  // one instant). They go through the writer's background lane (at most
  // GroupCommitWriterOptions::max_background_per_batch in a batch, never
  // queued ahead of partners' commands); figures there.
  size_t in_flight = 32;
  // Steps one pass collects at most (the next pass takes the rest).
  size_t max_per_pass = 1'000'000;
};

struct SchedulerStats {
  uint64_t passes = 0;
  uint64_t steps = 0;     // commands that appended events
  uint64_t failures = 0;  // commands answered with an error (logged, retried at the next pass)
};

// Thread-safe. All references must outlive the scheduler.
class Scheduler {
 public:
  Scheduler(CommandProcessor& processor, GroupCommitWriter& writer, const EventLog& log,
            projections::ProjectionStore& store, projections::ProjectionRunner& runner, SchedulerOptions options = {});
  ~Scheduler();  // Stop()
  void Start();
  void Stop();
  // Runs a pass now (the simulated clock moved).
  void Wake();
  SchedulerStats Stats() const;

  // The partner id in the envelopes of the events the scheduler causes.
  static constexpr const char* kActor = "system:lifecycle";

 private:
  void Loop();
  // One pass: the steps due now; returns the last position appended (0: none).
  uint64_t Pass();

  CommandProcessor& processor_;
  GroupCommitWriter& writer_;
  const EventLog& log_;
  projections::ProjectionStore& store_;
  projections::ProjectionRunner& runner_;
  const SchedulerOptions options_;

  Mutex mu_;
  CondVar cv_;  // with mu_: woken or stopping
  bool woken_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
  std::atomic<uint64_t> passes_{0}, steps_{0}, failures_{0};
  std::atomic<bool> warned_no_due_list_{false};
};

}  // namespace tally
