#include "engine/group_commit_writer.h"

#include <pthread.h>

#include <algorithm>
#include <future>
#include <unordered_set>

namespace tally {

GroupCommitWriter::GroupCommitWriter(EventLog& log, GroupCommitWriterOptions options)
    : log_(log),
      options_(options),
      committer_([this] { CommitLoop(); }),
      stager_([this] { StageLoop(); }) {}

GroupCommitWriter::~GroupCommitWriter() { Stop(); }

namespace {

// A plain append request as a task.
class AppendTask final : public WriteTask {
 public:
  AppendTask(AppendRequest request, GroupCommitWriter::Callback done)
      : request_(std::move(request)), done_(std::move(done)) {}
  Result<AppendRequest> Decide() override { return std::move(request_); }
  void Done(Result<AppendOutcome> outcome) override { done_(std::move(outcome)); }

 private:
  AppendRequest request_;
  GroupCommitWriter::Callback done_;
};

}  // namespace

void GroupCommitWriter::Submit(AppendRequest request, Callback done) {
  Submit(std::make_unique<AppendTask>(std::move(request), std::move(done)));
}

bool GroupCommitWriter::Enqueue(std::unique_ptr<WriteTask>& task, bool background) {
  bool stopping;
  {
    MutexLock lock(&mu_);
    stopping = stopping_;
    if (!stopping && queue_.size() + background_.size() < options_.max_queued_requests) {
      const bool was_empty = queue_.empty() && background_.empty();
      (background ? background_ : queue_).push_back(std::move(task));
      if (was_empty) queue_cv_.Signal();
      return true;
    }
  }
  task->Done(stopping ? Error(ErrorCode::kShuttingDown, "the writer is shutting down")
                      : Error(ErrorCode::kBusy, "the command queue is full; retry later"));
  return false;
}

void GroupCommitWriter::SubmitBackground(AppendRequest request, Callback done) {
  SubmitBackground(std::make_unique<AppendTask>(std::move(request), std::move(done)));
}

void GroupCommitWriter::Submit(std::unique_ptr<WriteTask> task) { Enqueue(task, /*background=*/false); }

void GroupCommitWriter::SubmitBackground(std::unique_ptr<WriteTask> task) { Enqueue(task, /*background=*/true); }

Result<AppendOutcome> GroupCommitWriter::Append(AppendRequest request) {
  std::promise<Result<AppendOutcome>> promise;
  auto future = promise.get_future();
  Submit(std::move(request), [&promise](Result<AppendOutcome> r) { promise.set_value(std::move(r)); });
  return future.get();
}

void GroupCommitWriter::Stop() {
  std::call_once(stop_once_, [this] {
    {
      MutexLock lock(&mu_);
      stopping_ = true;
    }
    queue_cv_.Signal();
    stager_.join();  // drains the queue, then tells the committer
    committer_.join();
  });
}

GroupCommitStats GroupCommitWriter::Stats() const {
  GroupCommitStats s;
  s.commits = commits_.load(std::memory_order_relaxed);
  s.prepared_batches = prepared_batches_.load(std::memory_order_relaxed);
  s.requests = requests_.load(std::memory_order_relaxed);
  s.events = events_.load(std::memory_order_relaxed);
  s.failed_requests = failed_.load(std::memory_order_relaxed);
  s.largest_commit = largest_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < s.commit_sizes.size(); ++i) s.commit_sizes[i] = commit_sizes_[i].load(std::memory_order_relaxed);
  return s;
}

void GroupCommitWriter::StageLoop() {
  pthread_setname_np(pthread_self(), "tally-stage");  // for top, perf and gdb
  std::vector<std::unique_ptr<WriteTask>> tasks;
  for (;;) {
    // Wait for room first: while the commit thread is behind, tasks keep
    // queuing and the next batch grows.
    {
      MutexLock lock(&prepared_mu_);
      while (prepared_.size() >= options_.max_prepared_batches) space_cv_.Wait(&prepared_mu_);
    }
    tasks.clear();
    {
      MutexLock lock(&mu_);
      // While the log refuses writes, look every second whether it has
      // recovered, so that /healthz says so before the next command comes.
      while (!stopping_ && queue_.empty() && background_.empty()) {
        if (queue_cv_.WaitFor(&mu_, std::chrono::seconds(1))) continue;
        if (stopping_ || !queue_.empty() || !background_.empty() || !log_.WriteFailure()) continue;
        lock.Unlock();
        RecoverLog();
        lock.Lock();
      }
      if (queue_.empty() && background_.empty()) break;  // stopping, and everything is staged
      // Background work has its share of every batch, never more.
      const size_t m = std::min({background_.size(), std::max<size_t>(1, options_.max_background_per_batch),
                                 options_.max_batch_requests});
      const size_t n = std::min(queue_.size(), options_.max_batch_requests - m);
      tasks.reserve(n + m);
      for (size_t i = 0; i < n; ++i) {
        tasks.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      for (size_t i = 0; i < m; ++i) {
        tasks.push_back(std::move(background_.front()));
        background_.pop_front();
      }
    }
    RecoverLog();  // a no-op unless a commit failed
    StageTasks(tasks);
  }
  {
    MutexLock lock(&prepared_mu_);
    staging_done_ = true;
  }
  prepared_cv_.Signal();
}

void GroupCommitWriter::RecoverLog() {
  if (!log_.WriteFailure()) return;
  {
    // Recover resets what was staged: nothing prepared may still be waiting
    // for (or in) a commit. Those batches fail, as the log has failed.
    MutexLock lock(&prepared_mu_);
    while (!prepared_.empty() || committing_) space_cv_.Wait(&prepared_mu_);
  }
  // Not recovered: this batch is refused by Prepare with the reason.
  (void)log_.Recover();
}

void GroupCommitWriter::StageTasks(std::vector<std::unique_ptr<WriteTask>>& tasks) {
  // Tasks are decided in order. A group of tasks with distinct keys is
  // prepared in one batch; a task whose key is already in the group starts a
  // new group, so that it decides against the state its predecessor staged.
  size_t next = 0;
  while (next < tasks.size()) {
    Prepared p;
    std::vector<AppendRequest> requests;
    std::unordered_set<std::string> keys;
    for (; next < tasks.size(); ++next) {
      std::string key = tasks[next]->Key();
      if (!key.empty() && keys.count(key) > 0) break;
      auto request = tasks[next]->Decide();
      if (!request.ok()) {
        p.rejected.emplace_back(std::move(tasks[next]), request.error());
        continue;
      }
      if (!key.empty()) keys.insert(std::move(key));
      requests.push_back(std::move(*request));
      p.tasks.push_back(std::move(tasks[next]));
    }
    p.batch = log_.Prepare(requests);
    for (size_t i = 0; i < p.tasks.size(); ++i) p.tasks[i]->Staged(p.batch->results[i], requests[i]);
    {
      MutexLock lock(&prepared_mu_);
      prepared_.push_back(std::move(p));
      // Counted once handed to the commit thread (tests wait on this).
      prepared_batches_.fetch_add(1, std::memory_order_relaxed);
    }
    prepared_cv_.Signal();
  }
}

void GroupCommitWriter::CommitLoop() {
  pthread_setname_np(pthread_self(), "tally-commit");
  std::vector<Prepared> taken;
  std::vector<PreparedBatch*> batches;
  for (;;) {
    taken.clear();
    {
      MutexLock lock(&prepared_mu_);
      while (!staging_done_ && prepared_.empty()) prepared_cv_.Wait(&prepared_mu_);
      if (prepared_.empty()) return;  // staging done and everything answered
      while (!prepared_.empty()) {
        taken.push_back(std::move(prepared_.front()));
        prepared_.pop_front();
      }
      committing_ = true;
    }
    space_cv_.Signal();
    batches.clear();
    for (auto& p : taken) batches.push_back(p.batch.get());
    Status s = log_.Commit(batches);

    // Count before answering: a caller who has its answer sees it counted.
    uint64_t requests = 0, events = 0, failed = 0;
    for (auto& p : taken) {
      requests += p.tasks.size() + p.rejected.size();
      failed += p.rejected.size();
      for (auto& r : p.batch->results) {
        if (r.ok() && !s.ok()) r = s.error();
        if (!r.ok()) {
          ++failed;
        } else if (!r->replayed && r->first_position > 0) {
          events += r->last_position - r->first_position + 1;
        }
      }
    }
    commits_.fetch_add(1, std::memory_order_relaxed);
    requests_.fetch_add(requests, std::memory_order_relaxed);
    events_.fetch_add(events, std::memory_order_relaxed);
    failed_.fetch_add(failed, std::memory_order_relaxed);
    for (size_t i = 0; i < GroupCommitStats::kCommitSizeBounds.size(); ++i) {
      if (requests <= GroupCommitStats::kCommitSizeBounds[i]) {
        commit_sizes_[i].fetch_add(1, std::memory_order_relaxed);
        break;
      }
    }
    if (requests > largest_.load(std::memory_order_relaxed)) {
      largest_.store(requests, std::memory_order_relaxed);
    }
    if (s.ok() && options_.on_commit) options_.on_commit(log_.Head());
    for (auto& p : taken) {
      for (size_t i = 0; i < p.tasks.size(); ++i) p.tasks[i]->Done(std::move(p.batch->results[i]));
      for (auto& [task, error] : p.rejected) task->Done(std::move(error));
    }
    {
      MutexLock lock(&prepared_mu_);
      committing_ = false;
    }
    space_cv_.Signal();
  }
}

}  // namespace tally
