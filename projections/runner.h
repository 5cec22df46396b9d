// The projection runner: feeds events, in log order, to read models and
// writes each batch of changed rows together with the models' checkpoints in
// one WriteBatch, so that every event is applied exactly once even when the
// process dies at any moment (a restart resumes after the checkpoint).
//
// Events come from an EventSource: the local event log (LogEventSource) in
// tallyd and tallyctl, or, in a separate process, a Kafka topic.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/base/mutex.h"
#include "engine/base/read_ahead.h"
#include "engine/event_log.h"
#include "projections/projection.h"
#include "projections/store.h"

namespace tally::projections {

// Where events come from, in position order with no gaps.
class EventSource {
 public:
  virtual ~EventSource() = default;
  // The highest position that can be read now.
  virtual uint64_t Head() const = 0;
  // Calls `fn` for each event in [from, to] in order until it returns
  // false. `envelope` is valid during the call only and 8-byte aligned.
  // CatchUp calls it from a helper thread (one call at a time), so that the
  // next batch is read while the models apply the current one.
  virtual Status Read(uint64_t from, uint64_t to,
                      const std::function<bool(uint64_t position, std::string_view envelope)>& fn) = 0;
  // Where the customers' personal-data keys are (null: nowhere). A rebuild
  // gives it to the models it builds.
  virtual const personal::KeyRing* Keys() const { return nullptr; }
};

// The local event log as a source. `log` must outlive it; any thread.
class LogEventSource final : public EventSource {
 public:
  explicit LogEventSource(const EventLog& log) : log_(log) {}
  uint64_t Head() const override { return log_.Head(); }
  Status Read(uint64_t from, uint64_t to,
              const std::function<bool(uint64_t, std::string_view)>& fn) override;
  const personal::KeyRing* Keys() const override { return &log_; }

 private:
  const EventLog& log_;
};

struct RunnerOptions {
  // Events applied between two writes (and the most a crash makes redo).
  size_t batch_events = 16384;
  // false: write rows without RocksDB's WAL (rebuild copies only, which
  // ProjectionStore::Activate flushes before they count).
  bool wal = true;
  // How often the tail thread looks for new events when nobody calls Notify.
  std::chrono::milliseconds poll{50};
  // A batch of at least this many events is applied to the models in
  // parallel, one thread per model (smaller ones on the calling thread).
  size_t parallel_min_events = 512;
  // Bulk mode, for rebuild copies built from position 1 (0: off). CatchUp
  // keeps each model's changes in its memory for up to this many events
  // (rows changed many times are encoded once), then loads them with the
  // checkpoint as one sorted table file (ProjectionStore::Load) instead of a
  // WriteBatch through the memtable; CatchUp always loads what it applied
  // before it returns. Step (the tail, Replace) writes batches as usual.
  size_t bulk_events = 0;
};

// One model as the runner sees it.
struct ModelStatus {
  std::string model;
  uint64_t generation = 0;
  Checkpoint checkpoint;   // as written (durable against a process crash)
  uint64_t head = 0;       // the source's head when last looked at
  bool failed = false;     // stopped at `failed_position`
  uint64_t failed_position = 0;
  std::string error;
  uint64_t lag() const { return head > checkpoint.position ? head - checkpoint.position : 0; }
};

// Thread-safety: Add, CatchUp, Start, Stop and Replace from one controlling
// thread; Notify, WaitFor and Statuses from any thread. `source` and `store`
// must outlive the runner.
class ProjectionRunner {
 public:
  ProjectionRunner(EventSource& source, ProjectionStore& store, RunnerOptions options = {});
  ~ProjectionRunner();  // Stop()
  ProjectionRunner(const ProjectionRunner&) = delete;
  ProjectionRunner& operator=(const ProjectionRunner&) = delete;

  // Adds a model; it resumes after the checkpoint stored in its copy.
  Status Add(std::unique_ptr<Projection> projection);

  // Applies events on the calling thread until every model that has not
  // failed has reached `target` (clamped to the source's head). `progress`
  // is called after each batch with the lowest checkpoint. An error: a
  // write failed, or a model failed (the error names it and the position).
  Status CatchUp(uint64_t target, const std::function<void(uint64_t)>& progress = {});

  // Tails the source on a background thread until Stop.
  void Start();
  void Stop();
  // New events may be available (e.g. from the writer's commit hook).
  void Notify();

  // Waits until `model` has applied `position`. False on timeout, for an
  // unknown model, or when the model has failed before reaching it.
  [[nodiscard]] bool WaitFor(std::string_view model, uint64_t position, std::chrono::milliseconds timeout);

  // Calls `done(true)` once every model this runner runs has applied
  // `position`; `done(false)` at `deadline`, when a model has failed short
  // of it, or when the runner stops. Never blocks: `done` runs on the
  // calling thread when the answer is known at once, otherwise on the tail
  // thread (as it publishes) or the runner's timer thread, so it must be
  // quick (e.g. post the real work to another thread). Any thread.
  void WhenApplied(uint64_t position, std::chrono::steady_clock::time_point deadline,
                   std::function<void(bool reached)> done);
  // True when every model has applied `position` now. Any thread.
  bool Applied(uint64_t position) const;

  std::vector<ModelStatus> Statuses() const;

  // Takes `model` out of this runner (for a rebuild's hand-over).
  std::unique_ptr<Projection> Release(std::string_view model);

  // Blue/green hand-over: brings `fresh` (a new copy of a model this runner
  // runs, built by a rebuild) up to the live model's checkpoint while the
  // tail is paused, makes its copy the active one, and runs it instead of
  // the live model from then on.
  Status Replace(std::unique_ptr<Projection> fresh);

 private:
  struct Slot {
    std::unique_ptr<Projection> projection;
    Checkpoint applied;  // in memory, ahead of `flushed` within a batch
    Checkpoint flushed;  // as written
    bool failed = false;
    uint64_t failed_position = 0;
    std::string error;
  };
  // Events [from, to] as read from the source, each verified once and
  // shared by the models.
  struct Chunk {
    struct Item {
      uint64_t position = 0;
      size_t offset = 0;  // in `arena`, 8-byte aligned
      size_t size = 0;
      int error = -1;     // index into `errors`: the event does not verify
      bool known = false; // a payload type this build knows
    };
    uint64_t from = 0, to = 0;
    std::vector<uint64_t> arena;  // envelope bytes (uint64_t: 8-byte alignment)
    size_t used = 0;              // bytes of `arena` in use
    std::vector<Item> items;
    std::vector<std::string> errors;
    Status status;                // the read failed (items before it are valid)
    std::string_view Bytes(const Item& item) const {
      return {reinterpret_cast<const char*>(arena.data()) + item.offset, item.size};
    }
  };
  // Reads [from, to] into `storage` (reusing its buffers).
  Chunk ReadChunk(uint64_t from, uint64_t to, Chunk storage);
  // Where the next batch starts: after the lowest position applied by a
  // model that has not failed (UINT64_MAX: none).
  static uint64_t NextFrom(const std::vector<Slot*>& slots);
  // Applies `chunk` to one model and writes its rows with its checkpoint
  // (in bulk mode: only when `last` or bulk_events have gone by).
  Status ApplyChunk(Slot* slot, const Chunk& chunk, bool last);
  // Applies `chunk` to `slots` (in parallel when it is large); returns the
  // number of events in it. Caller holds step_mu_.
  Result<size_t> ApplyToAll(std::vector<Slot*>& slots, const Chunk& chunk, bool last = true) REQUIRES(step_mu_);
  // Reads and applies one batch (at most up to `limit`) to `slots`;
  // returns the number of events read. Caller holds step_mu_.
  Result<size_t> Step(std::vector<Slot*>& slots, uint64_t limit) REQUIRES(step_mu_);
  // Publishes the slots' checkpoints and answers the waiters they satisfy.
  // Caller holds step_mu_.
  void Publish() REQUIRES(step_mu_) EXCLUDES(state_mu_);
  void Loop();
  // WhenApplied's answer for `position` from `published_`: reached, never
  // (a model failed short of it), or not yet (nullopt). Requires state_mu_.
  std::optional<bool> AppliedLocked(uint64_t position) const REQUIRES(state_mu_);
  // The timer thread: answers waiters whose deadline has passed.
  void ExpireWaiters();

  EventSource& source_;
  ProjectionStore& store_;
  const RunnerOptions options_;

  Mutex step_mu_ ACQUIRED_BEFORE(state_mu_);  // one batch at a time; held by Replace
  std::vector<std::unique_ptr<Slot>> slots_ GUARDED_BY(step_mu_);
  // CatchUp reads the next batch on it while the models apply this one.
  ReadAhead<Chunk> read_ahead_ GUARDED_BY(step_mu_){"tally-read"};

  mutable Mutex state_mu_;
  CondVar state_cv_;  // with state_mu_: checkpoints published
  std::vector<ModelStatus> published_ GUARDED_BY(state_mu_);
  bool wake_ GUARDED_BY(state_mu_) = false;
  bool stop_ GUARDED_BY(state_mu_) = false;
  std::thread thread_;
  struct Waiter {
    std::chrono::steady_clock::time_point deadline;
    std::function<void(bool)> done;
  };
  std::multimap<uint64_t, Waiter> waiters_ GUARDED_BY(state_mu_);  // by position
  CondVar waiters_cv_;  // with state_mu_: a waiter was added, or stopping
  bool waiters_stop_ GUARDED_BY(state_mu_) = false;
  std::thread timer_;                        // started by the first WhenApplied
  // Threads that apply batches to the second, third, ... model; started at
  // the first parallel batch and kept, so that each model's rows stay in
  // one thread's malloc arena. Used under step_mu_.
  class ApplyPool;
  std::unique_ptr<ApplyPool> pool_;
};

}  // namespace tally::projections
