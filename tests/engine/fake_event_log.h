// An in-memory EventLog for testing the writer's logic: positions without
// storage, a gate that holds a commit in flight, and an injectable failure.
#pragma once

#include <condition_variable>
#include <mutex>
#include <vector>

#include "engine/event_log.h"

namespace tally::testing {

class FakeEventLog final : public EventLog {
 public:
  std::unique_ptr<PreparedBatch> Prepare(std::span<AppendRequest> requests) override {
    auto batch = std::make_unique<PreparedBatch>();
    for (auto& r : requests) {
      AppendOutcome o;
      o.first_position = staged_head_ + 1;
      staged_head_ += r.events.size();
      o.last_position = staged_head_;
      o.outcome = r.outcome;
      batch->results.emplace_back(std::move(o));
    }
    std::lock_guard<std::mutex> l(mu_);
    prepared_requests_ += requests.size();
    prepare_sizes_.push_back(requests.size());
    cv_.notify_all();
    return batch;
  }

  Status Commit(std::span<PreparedBatch* const> batches) override {
    std::unique_lock<std::mutex> lock(mu_);
    size_t requests = 0;
    for (auto* b : batches) requests += b->results.size();
    commit_sizes_.push_back(requests);
    ++commits_entered_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !held_; });
    if (fail_) return Error(ErrorCode::kIoError, "injected");
    return OkStatus();
  }

  uint64_t Head() const override { return 0; }
  Result<std::vector<StoredEvent>> Read(uint64_t, size_t) const override { return Unsupported(); }
  Result<std::vector<StoredEvent>> ReadStream(std::string_view, uint64_t, size_t) const override {
    return Unsupported();
  }
  Status ScanRecords(uint64_t, uint64_t, const std::function<bool(const EventView&)>&) const override {
    return Unsupported();
  }
  Result<uint64_t> StreamVersion(std::string_view) const override { return Unsupported(); }
  Result<std::optional<std::string>> UniqueOwner(std::string_view) const override { return Unsupported(); }
  Result<personal::KeyRecord> FindKey(std::string_view) const override { return personal::KeyRecord{}; }
  Result<ChainDigest> HashAt(uint64_t) const override { return Unsupported(); }
  Result<std::optional<RequestRecord>> FindRequest(std::string_view) const override { return Unsupported(); }

  // While held, Commit blocks after recording its size.
  void Hold() { std::lock_guard<std::mutex> l(mu_); held_ = true; }
  void Release() { std::lock_guard<std::mutex> l(mu_); held_ = false; cv_.notify_all(); }
  // Block until Commit has been entered `n` times / `n` requests were prepared.
  void WaitCommitsEntered(int n) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return commits_entered_ >= n; });
  }
  void WaitPrepared(size_t n) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return prepared_requests_ >= n; });
  }
  void FailCommits(bool fail) { std::lock_guard<std::mutex> l(mu_); fail_ = fail; }
  std::vector<size_t> CommitSizes() { std::lock_guard<std::mutex> l(mu_); return commit_sizes_; }
  std::vector<size_t> PrepareSizes() { std::lock_guard<std::mutex> l(mu_); return prepare_sizes_; }

 private:
  static Error Unsupported() { return Error(ErrorCode::kInvalidArgument, "fake: not supported"); }
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  bool fail_ = false;
  int commits_entered_ = 0;
  size_t prepared_requests_ = 0;
  std::vector<size_t> commit_sizes_, prepare_sizes_;
  uint64_t staged_head_ = 0;  // staging thread only
};

}  // namespace tally::testing
