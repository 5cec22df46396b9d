// The command pipeline's writer: callers on any thread submit append
// requests; a staging thread takes everything queued and prepares it (checks,
// stamps, chains) while a commit thread writes and syncs what was prepared
// before, then answers those callers. Throughput comes from the batch (one
// fsync for many commands) and from staging overlapping the fsync; latency
// from never waiting for a timer.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "engine/base/mutex.h"
#include <thread>
#include <vector>

#include "engine/event_log.h"

namespace tally {

struct GroupCommitWriterOptions {
  // Upper bound on requests per prepared batch.
  size_t max_batch_requests = 8192;
  // Submissions beyond this many queued requests fail fast with kBusy.
  size_t max_queued_requests = 200'000;
  // Background tasks (SubmitBackground) one batch takes at most: a storm of
  // them (the lifecycle scheduler's steps, each one customer's
  // subscriptions due at one instant) adds at most this many to the batch
  // partners' commands share. tally-bench renewals (2 cores, 5 subscriptions
  // per customer; share / steps in flight: renewal rate over the commands
  // rate, others' p99 during over alone): 4/16: 0.79-0.91, 1.18-1.24x;
  // 8/32: 1.20-1.40, 1.17-1.59x; 16/64: 2.06, 1.60x; 40/160: 2.20-2.73,
  // 2.60-3.71x. Before steps were grouped, 40/160 gave 0.36-0.52, 1.3-2.4x.
  size_t max_background_per_batch = 8;
  // Prepared batches waiting for the commit thread before staging pauses
  // (while it pauses, requests pile up and make the next batch bigger).
  size_t max_prepared_batches = 4;
  // Called on the commit thread after each successful commit, before the
  // callers are answered, with the log's new head (e.g. to wake the
  // projection runner). Must be quick and must not call back into the writer.
  std::function<void(uint64_t head)> on_commit;
};

// A unit of work for the writer. Its three steps run in order: Decide and
// Staged on the staging thread (so a task decides against everything staged
// before it, durable or not), Done on the commit thread once the outcome is
// durable or has failed.
class WriteTask {
 public:
  virtual ~WriteTask() = default;
  // The request to append, or an error that rejects the task (Done is then
  // called with it; nothing is appended). `key` groups tasks that must be
  // staged one after another (e.g. the customer): tasks with different keys
  // are prepared together in one batch.
  virtual Result<AppendRequest> Decide() = 0;
  virtual std::string Key() const { return {}; }
  // The request's staged result; on success its events are stamped in
  // `request.events`. Not yet durable.
  virtual void Staged(const Result<AppendOutcome>& staged, const AppendRequest& request) {}
  // The final outcome: durable, or failed. Called exactly once.
  virtual void Done(Result<AppendOutcome> outcome) = 0;
};

// Counters for metrics; monotonic since start.
struct GroupCommitStats {
  uint64_t commits = 0;           // synced writes
  uint64_t prepared_batches = 0;  // batches prepared and handed to the commit thread
  uint64_t requests = 0;
  uint64_t events = 0;            // appended (durable) events
  uint64_t failed_requests = 0;
  uint64_t largest_commit = 0;    // most requests made durable by one sync
  // Requests per sync as a histogram: commit_sizes[i] counts syncs of at
  // most kCommitSizeBounds[i] requests (the last bucket: any size).
  static constexpr std::array<uint64_t, 15> kCommitSizeBounds = {1,   2,   4,    8,    16,   32,    64,   128,
                                                                 256, 512, 1024, 2048, 4096, 8192, UINT64_MAX};
  std::array<uint64_t, 15> commit_sizes{};
};

// Thread-safety: Submit, Append, Stats and Stop may be called from any
// thread. `log` must outlive the writer, and nothing else may call
// log.Prepare or log.Commit while the writer runs.
class GroupCommitWriter {
 public:
  // Runs on the commit thread once the request's batch is durable (or has
  // failed). Keep it short: post work elsewhere rather than doing it here.
  using Callback = std::function<void(Result<AppendOutcome>)>;

  explicit GroupCommitWriter(EventLog& log, GroupCommitWriterOptions options = {});
  // Stops (see Stop) and joins both threads.
  ~GroupCommitWriter();
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // Queues `request`; `done` is called exactly once: with the outcome, or
  // with kBusy / kShuttingDown (then on the calling thread, immediately).
  void Submit(AppendRequest request, Callback done);

  // Queues a task; its Done is called exactly once (with kBusy or
  // kShuttingDown on the calling thread, immediately, if refused).
  void Submit(std::unique_ptr<WriteTask> task);
  // The same, in the background lane: each batch takes every queued
  // foreground task it has room for, and up to max_background_per_batch
  // background ones, so that background work never queues ahead of
  // foreground work. Order within each lane is kept; between lanes a
  // background task may be staged after a foreground one submitted later.
  void SubmitBackground(std::unique_ptr<WriteTask> task);
  void SubmitBackground(AppendRequest request, Callback done);

  // Submit and wait for the outcome.
  Result<AppendOutcome> Append(AppendRequest request);

  // Refuses new submissions, finishes everything already queued, and joins
  // both threads. Idempotent.
  void Stop();

  GroupCommitStats Stats() const;

 private:
  struct Prepared {
    std::unique_ptr<PreparedBatch> batch;
    std::vector<std::unique_ptr<WriteTask>> tasks;  // one per result of `batch`
    // Tasks rejected by Decide or by staging: answered after the commit so
    // that answers keep submission order per commit.
    std::vector<std::pair<std::unique_ptr<WriteTask>, Error>> rejected;
  };
  void StageTasks(std::vector<std::unique_ptr<WriteTask>>& tasks);
  // Staging thread: after a failed commit, waits until the commit thread has
  // answered every prepared batch, then lets the log try to recover.
  void RecoverLog();
  void StageLoop();
  void CommitLoop();

  EventLog& log_;
  const GroupCommitWriterOptions options_;

  Mutex mu_;
  CondVar queue_cv_;  // with mu_
  std::deque<std::unique_ptr<WriteTask>> queue_ GUARDED_BY(mu_);
  std::deque<std::unique_ptr<WriteTask>> background_ GUARDED_BY(mu_);
  // Queues `task` in the foreground or background lane; false when refused
  // (then Done was called with the reason).
  bool Enqueue(std::unique_ptr<WriteTask>& task, bool background) EXCLUDES(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;

  Mutex prepared_mu_;
  CondVar prepared_cv_;  // with prepared_mu_: the commit thread waits for work
  CondVar space_cv_;     // with prepared_mu_: the staging thread waits for room
  std::deque<Prepared> prepared_ GUARDED_BY(prepared_mu_);
  bool staging_done_ GUARDED_BY(prepared_mu_) = false;
  bool committing_ GUARDED_BY(prepared_mu_) = false;  // the commit thread holds batches

  std::atomic<uint64_t> commits_{0}, prepared_batches_{0}, requests_{0}, events_{0}, failed_{0},
      largest_{0};
  std::array<std::atomic<uint64_t>, 15> commit_sizes_{};
  std::once_flag stop_once_;
  // Last: they start once every member above is ready.
  std::thread committer_;
  std::thread stager_;
};

}  // namespace tally
