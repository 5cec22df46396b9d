// An in-memory EventLog for testing the writer's logic: positions without
// storage, a gate to hold a batch in flight, and an injectable write error.
#pragma once

#include <condition_variable>
#include <mutex>
#include <vector>

#include "engine/event_log.h"

namespace tally::testing {

class FakeEventLog final : public EventLog {
 public:
  std::vector<Result<AppendOutcome>> AppendBatch(std::span<AppendRequest> requests) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      batch_sizes_.push_back(requests.size());
      ++entered_;
      cv_.notify_all();
      cv_.wait(lock, [this] { return !held_; });
    }
    std::vector<Result<AppendOutcome>> out;
    for (auto& r : requests) {
      if (fail_) {
        out.emplace_back(Error(ErrorCode::kIoError, "injected"));
        continue;
      }
      AppendOutcome o;
      o.first_position = head_ + 1;
      head_ += r.events.size();
      o.last_position = head_;
      o.outcome = r.outcome;
      out.emplace_back(std::move(o));
    }
    return out;
  }
  uint64_t Head() const override { return head_; }
  Result<std::vector<StoredEvent>> Read(uint64_t, size_t) const override { return Unsupported(); }
  Result<std::vector<StoredEvent>> ReadStream(std::string_view, uint64_t, size_t) const override {
    return Unsupported();
  }
  Status Scan(uint64_t, uint64_t, const std::function<bool(const EventView&)>&) const override {
    return Unsupported();
  }
  Result<uint64_t> StreamVersion(std::string_view) const override { return Unsupported(); }
  Result<std::optional<std::string>> UniqueOwner(std::string_view) const override { return Unsupported(); }
  Result<ChainDigest> HashAt(uint64_t) const override { return Unsupported(); }

  // While held, AppendBatch blocks after recording its batch size.
  void Hold() { std::lock_guard<std::mutex> l(mu_); held_ = true; }
  void Release() { std::lock_guard<std::mutex> l(mu_); held_ = false; cv_.notify_all(); }
  // Blocks until AppendBatch has been entered `n` times.
  void WaitEntered(int n) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return entered_ >= n; });
  }
  void FailWrites(bool fail) { fail_ = fail; }
  std::vector<size_t> BatchSizes() { std::lock_guard<std::mutex> l(mu_); return batch_sizes_; }

 private:
  static Error Unsupported() { return Error(ErrorCode::kInvalidArgument, "fake: not supported"); }
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  int entered_ = 0;
  std::vector<size_t> batch_sizes_;
  bool fail_ = false;   // set only while no batch is in flight
  uint64_t head_ = 0;   // writer thread only
};

}  // namespace tally::testing
