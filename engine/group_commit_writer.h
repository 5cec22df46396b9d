// The command pipeline's single writer: callers on any thread submit
// append requests; one thread takes everything queued, appends it as one
// synced batch, then answers every caller. Throughput comes from the batch
// (one fsync for many commands), latency from never waiting for a timer.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "engine/event_log.h"

namespace tally {

struct GroupCommitWriterOptions {
  // Upper bound on requests per batch (bounds latency of one sync).
  size_t max_batch_requests = 8192;
  // Submissions beyond this many queued requests fail fast with kBusy.
  size_t max_queued_requests = 200'000;
};

// Counters for metrics; monotonic since start.
struct GroupCommitStats {
  uint64_t batches = 0;
  uint64_t requests = 0;
  uint64_t events = 0;
  uint64_t failed_requests = 0;
  uint64_t largest_batch = 0;
};

// Thread-safety: Submit, Append, Stats and Stop may be called from any
// thread. `log` must outlive the writer, and nothing else may call
// log.AppendBatch while the writer runs.
class GroupCommitWriter {
 public:
  // Runs on the writer thread once the request's batch is durable (or has
  // failed). Keep it short: post work elsewhere rather than doing it here.
  using Callback = std::function<void(Result<AppendOutcome>)>;

  GroupCommitWriter(EventLog& log, GroupCommitWriterOptions options = {});
  // Stops (see Stop) and joins the writer thread.
  ~GroupCommitWriter();
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // Queues `request`; `done` is called exactly once: with the outcome, or
  // with kBusy / kShuttingDown (then on the calling thread, immediately).
  void Submit(AppendRequest request, Callback done);

  // Submit and wait for the outcome.
  Result<AppendOutcome> Append(AppendRequest request);

  // Refuses new submissions, finishes everything already queued, and joins
  // the writer thread. Idempotent.
  void Stop();

  GroupCommitStats Stats() const;

 private:
  struct Pending {
    AppendRequest request;
    Callback done;
  };
  void Run();

  EventLog& log_;
  const GroupCommitWriterOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // guarded by mu_
  bool stopping_ = false;      // guarded by mu_

  // Written by the writer thread only.
  std::atomic<uint64_t> batches_{0}, requests_{0}, events_{0}, failed_{0}, largest_{0};
  std::thread thread_;  // last: starts after every member is ready
};

}  // namespace tally
