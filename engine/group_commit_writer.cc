#include "engine/group_commit_writer.h"

#include <future>
#include <vector>

namespace tally {

GroupCommitWriter::GroupCommitWriter(EventLog& log, GroupCommitWriterOptions options)
    : log_(log), options_(options), thread_([this] { Run(); }) {}

GroupCommitWriter::~GroupCommitWriter() { Stop(); }

void GroupCommitWriter::Submit(AppendRequest request, Callback done) {
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping = stopping_;
    if (!stopping && queue_.size() < options_.max_queued_requests) {
      queue_.push_back(Pending{std::move(request), std::move(done)});
      if (queue_.size() == 1) cv_.notify_one();
      return;
    }
  }
  done(stopping ? Error(ErrorCode::kShuttingDown, "the writer is shutting down")
                : Error(ErrorCode::kBusy, "the command queue is full; retry later"));
}

Result<AppendOutcome> GroupCommitWriter::Append(AppendRequest request) {
  std::promise<Result<AppendOutcome>> promise;
  auto future = promise.get_future();
  Submit(std::move(request), [&promise](Result<AppendOutcome> r) { promise.set_value(std::move(r)); });
  return future.get();
}

void GroupCommitWriter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

GroupCommitStats GroupCommitWriter::Stats() const {
  GroupCommitStats s;
  s.batches = batches_.load(std::memory_order_relaxed);
  s.requests = requests_.load(std::memory_order_relaxed);
  s.events = events_.load(std::memory_order_relaxed);
  s.failed_requests = failed_.load(std::memory_order_relaxed);
  s.largest_batch = largest_.load(std::memory_order_relaxed);
  return s;
}

void GroupCommitWriter::Run() {
  std::vector<Pending> taken;
  std::vector<AppendRequest> requests;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is answered
      const size_t n = std::min(queue_.size(), options_.max_batch_requests);
      taken.clear();
      taken.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        taken.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    requests.clear();
    requests.reserve(taken.size());
    uint64_t events = 0;
    for (auto& p : taken) {
      events += p.request.events.size();
      requests.push_back(std::move(p.request));
    }
    auto results = log_.AppendBatch(requests);
    // Count before answering: a caller who has its answer sees it counted.
    uint64_t failed = 0;
    for (const auto& r : results) failed += r.ok() ? 0 : 1;
    batches_.fetch_add(1, std::memory_order_relaxed);
    requests_.fetch_add(taken.size(), std::memory_order_relaxed);
    events_.fetch_add(events, std::memory_order_relaxed);
    failed_.fetch_add(failed, std::memory_order_relaxed);
    if (taken.size() > largest_.load(std::memory_order_relaxed)) {
      largest_.store(taken.size(), std::memory_order_relaxed);
    }
    for (size_t i = 0; i < taken.size(); ++i) taken[i].done(std::move(results[i]));
  }
}

}  // namespace tally
