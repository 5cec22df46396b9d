#include "projections/runner.h"

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <system_error>

#include "events/codec.h"

namespace tally::projections {

Status LogEventSource::Read(uint64_t from, uint64_t to,
                            const std::function<bool(uint64_t, std::string_view)>& fn) {
  return log_.Scan(from, to, [&](const EventView& v) { return fn(v.position, v.envelope); });
}

// Runs job(0) on the calling thread and job(1..n-1) on threads of its own,
// worker k always taking job(k); returns when all are done.
class ProjectionRunner::ApplyPool {
 public:
  ApplyPool() = default;
  ApplyPool(const ApplyPool&) = delete;
  ApplyPool& operator=(const ApplyPool&) = delete;
  ~ApplyPool() {
    {
      MutexLock lock(&mu_);
      stop_ = true;
    }
    start_cv_.SignalAll();
    for (auto& t : threads_) t.join();
  }

  void Run(size_t n, const std::function<void(size_t)>& job) {
    try {
      while (threads_.size() + 1 < n) {
        const size_t k = threads_.size() + 1;
        threads_.emplace_back([this, k] { Work(k); });
      }
    } catch (const std::system_error&) {
      // No thread to be had: the calling thread does the jobs without one.
    }
    const size_t threaded = std::min(n, threads_.size() + 1);
    {
      MutexLock lock(&mu_);
      job_ = &job;
      jobs_ = threaded;
      pending_ = threaded - 1;
      failure_ = nullptr;
      ++round_;
    }
    start_cv_.SignalAll();
    std::exception_ptr mine;
    try {
      job(0);
      for (size_t k = threaded; k < n; ++k) job(k);
    } catch (...) {
      mine = std::current_exception();
    }
    MutexLock lock(&mu_);
    while (pending_ != 0) done_cv_.Wait(&mu_);
    job_ = nullptr;
    if (mine) std::rethrow_exception(mine);
    if (failure_) std::rethrow_exception(failure_);
  }

 private:
  void Work(size_t k) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(size_t)>* job = nullptr;
      {
        MutexLock lock(&mu_);
        while (!stop_ && round_ == seen) start_cv_.Wait(&mu_);
        if (stop_) return;
        seen = round_;
        if (k >= jobs_) continue;  // not needed this round
        job = job_;
      }
      std::exception_ptr failure;
      try {
        (*job)(k);
      } catch (...) {
        failure = std::current_exception();
      }
      {
        MutexLock lock(&mu_);
        if (failure && !failure_) failure_ = failure;
        --pending_;
      }
      done_cv_.Signal();
    }
  }

  Mutex mu_;
  CondVar start_cv_, done_cv_;  // with mu_
  std::vector<std::thread> threads_;
  const std::function<void(size_t)>* job_ GUARDED_BY(mu_) = nullptr;
  size_t jobs_ GUARDED_BY(mu_) = 0;
  size_t pending_ GUARDED_BY(mu_) = 0;
  uint64_t round_ GUARDED_BY(mu_) = 0;
  bool stop_ GUARDED_BY(mu_) = false;
  std::exception_ptr failure_ GUARDED_BY(mu_);
};

ProjectionRunner::ProjectionRunner(EventSource& source, ProjectionStore& store, RunnerOptions options)
    : source_(source), store_(store), options_(options) {}

ProjectionRunner::~ProjectionRunner() {
  Stop();
  std::vector<std::function<void(bool)>> unanswered;
  {
    MutexLock lock(&state_mu_);
    waiters_stop_ = true;
    for (auto& [position, w] : waiters_) unanswered.push_back(std::move(w.done));
    waiters_.clear();
  }
  waiters_cv_.SignalAll();
  if (timer_.joinable()) timer_.join();
  for (auto& done : unanswered) done(false);
  pool_.reset();
}

Status ProjectionRunner::Add(std::unique_ptr<Projection> projection) {
  auto checkpoint = store_.ReadCheckpoint(*projection->copy());
  if (!checkpoint.ok()) return checkpoint.error();
  {
    MutexLock lock(&step_mu_);
    auto slot = std::make_unique<Slot>();
    slot->projection = std::move(projection);
    slot->applied = slot->flushed = *checkpoint;
    slots_.push_back(std::move(slot));
    Publish();
  }
  return OkStatus();
}

uint64_t ProjectionRunner::NextFrom(const std::vector<Slot*>& slots) {
  uint64_t from = UINT64_MAX;
  for (Slot* s : slots) {
    if (!s->failed) from = std::min(from, s->applied.position + 1);
  }
  return from;
}

ProjectionRunner::Chunk ProjectionRunner::ReadChunk(uint64_t from, uint64_t to, Chunk chunk) {
  // Reuses `chunk`'s storage: a fresh arena per batch (tens of MB during a
  // rebuild) costs more in page faults than copying the events into it.
  chunk.items.clear();
  chunk.errors.clear();
  chunk.used = 0;
  chunk.from = from;
  chunk.to = to;
  chunk.items.reserve(std::min<uint64_t>(to - from + 1, options_.batch_events));
  chunk.status = source_.Read(from, to, [&](uint64_t position, std::string_view envelope) {
    Chunk::Item item;
    item.position = position;
    auto verified = events::VerifyEnvelope(envelope);
    if (verified.ok()) {
      item.known = (*verified)->payload_type() <= events::Payload::MAX;
      item.offset = chunk.used;
      item.size = envelope.size();
      const size_t words = (envelope.size() + 7) / 8;
      if (chunk.arena.size() * 8 < chunk.used + words * 8) {
        chunk.arena.resize(std::max(chunk.arena.size() * 2, (chunk.used / 8) + words + 1024));
      }
      std::memcpy(reinterpret_cast<char*>(chunk.arena.data()) + chunk.used, envelope.data(), envelope.size());
      chunk.used += words * 8;
    } else {
      item.error = static_cast<int>(chunk.errors.size());
      chunk.errors.push_back(verified.error().message());
    }
    chunk.items.push_back(item);
    return true;
  });
  return chunk;
}

Status ProjectionRunner::ApplyChunk(Slot* s, const Chunk& chunk, bool last) {
  auto fail = [s](uint64_t position, const std::string& why) {
    s->projection->Discard();
    s->applied = s->flushed;
    s->failed = true;
    s->failed_position = position;
    s->error = why;
  };
  for (const Chunk::Item& item : chunk.items) {
    if (s->failed) return OkStatus();
    const uint64_t position = item.position;
    if (s->applied.position >= position) continue;
    if (s->applied.position + 1 != position) {
      fail(position, "the source skipped from " + std::to_string(s->applied.position) + " to " +
                         std::to_string(position));
      return OkStatus();
    }
    if (item.error >= 0) {
      fail(position, "the event does not verify: " + chunk.errors[item.error]);
      return OkStatus();
    }
    if (item.known) {
      Status applied = s->projection->Apply(position, *events::UnverifiedEnvelope(chunk.Bytes(item)));
      if (!applied.ok()) {
        fail(position, applied.error().message());
        return OkStatus();
      }
    } else {
      ++s->applied.skipped_unknown;
    }
    s->applied.position = position;
    ++s->applied.events;
  }
  if (s->applied == s->flushed) return OkStatus();
  const bool bulk = options_.bulk_events > 0;
  if (bulk && !last && s->applied.position - s->flushed.position < options_.bulk_events) return OkStatus();
  // This model's rows and its checkpoint in one batch: exactly once.
  rocksdb::WriteBatch batch;
  Status written = s->projection->Flush(batch);
  if (written.ok()) {
    const rocksdb::Status put = batch.Put(s->projection->copy()->cf(), kCheckpointKey, s->applied.Encode());
    if (!put.ok()) written = FromRocks(put, "staging the checkpoint");
  }
  if (written.ok()) written = bulk ? store_.Load(*s->projection->copy(), batch) : store_.Write(batch, options_.wal);
  if (!written.ok()) {
    s->projection->Discard();
    s->applied = s->flushed;
    return written;
  }
  s->flushed = s->applied;
  return OkStatus();
}

Result<size_t> ProjectionRunner::ApplyToAll(std::vector<Slot*>& slots, const Chunk& chunk, bool last) {
  std::vector<Slot*> active;
  for (Slot* s : slots) {
    if (!s->failed) active.push_back(s);
  }
  std::vector<Status> results(active.size(), OkStatus());
  if (active.size() > 1 && chunk.items.size() >= options_.parallel_min_events) {
    // One thread per model (the calling thread takes the first). The models
    // share nothing but the chunk (read-only) and the store (thread-safe).
    if (pool_ == nullptr) pool_ = std::make_unique<ApplyPool>();
    pool_->Run(active.size(), [&](size_t i) {
      if (i > 0) {
        const std::string name = "apply-" + active[i]->projection->name();  // "apply-license" in top -H
        pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
      }
      results[i] = ApplyChunk(active[i], chunk, last);
    });
  } else {
    for (size_t i = 0; i < active.size(); ++i) results[i] = ApplyChunk(active[i], chunk, last);
  }
  // A model whose write failed is back where it was (the next step redoes
  // its part); the others have written theirs. After a failed read, the
  // events read before the failure are applied and written.
  for (Status& r : results) {
    if (!r.ok()) return r.error();
  }
  if (!chunk.status.ok()) return chunk.status.error();
  return chunk.items.size();
}

Result<size_t> ProjectionRunner::Step(std::vector<Slot*>& slots, uint64_t limit) {
  const uint64_t from = NextFrom(slots);
  const uint64_t head = source_.Head();
  if (from == UINT64_MAX || from > head || from > limit) return size_t{0};
  const uint64_t to = std::min({head, limit, from + options_.batch_events - 1});
  return ApplyToAll(slots, ReadChunk(from, to, Chunk()));
}

void ProjectionRunner::Publish() {
  std::vector<ModelStatus> statuses;
  const uint64_t head = source_.Head();
  for (const auto& s : slots_) {
    statuses.push_back(ModelStatus{s->projection->name(), s->projection->copy()->generation(), s->flushed,
                                   head, s->failed, s->failed_position, s->error});
  }
  std::vector<std::pair<std::function<void(bool)>, bool>> answers;
  {
    MutexLock lock(&state_mu_);
    published_ = std::move(statuses);
    // Waiters are by position: those at or below every model's checkpoint
    // are answered; a failed model answers its waiters above it (never).
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      const std::optional<bool> applied = AppliedLocked(it->first);
      if (!applied) {
        if (std::none_of(published_.begin(), published_.end(), [](const ModelStatus& m) { return m.failed; })) break;
        ++it;
        continue;
      }
      answers.emplace_back(std::move(it->second.done), *applied);
      it = waiters_.erase(it);
    }
  }
  state_cv_.SignalAll();
  for (auto& [done, reached] : answers) done(reached);
}

std::optional<bool> ProjectionRunner::AppliedLocked(uint64_t position) const {
  bool all = true;
  for (const auto& m : published_) {
    if (m.checkpoint.position >= position) continue;
    if (m.failed) return false;
    all = false;
  }
  if (all) return true;
  return std::nullopt;
}

bool ProjectionRunner::Applied(uint64_t position) const {
  MutexLock lock(&state_mu_);
  return AppliedLocked(position) == true;
}

void ProjectionRunner::WhenApplied(uint64_t position, std::chrono::steady_clock::time_point deadline,
                                   std::function<void(bool)> done) {
  MutexLock lock(&state_mu_);
  std::optional<bool> now = AppliedLocked(position);
  if (!now && (waiters_stop_ || std::chrono::steady_clock::now() >= deadline)) now = false;
  if (!now.has_value()) {  // parked
    waiters_.emplace(position, Waiter{deadline, std::move(done)});
    if (!timer_.joinable()) timer_ = std::thread([this] { ExpireWaiters(); });
    lock.Unlock();
    waiters_cv_.SignalAll();
    return;
  }
  lock.Unlock();
  done(*now);
}

void ProjectionRunner::ExpireWaiters() {
  pthread_setname_np(pthread_self(), "tally-waits");
  MutexLock lock(&state_mu_);
  while (!waiters_stop_) {
    auto next = std::chrono::steady_clock::time_point::max();
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::function<void(bool)>> expired;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second.done));
        it = waiters_.erase(it);
      } else {
        next = std::min(next, it->second.deadline);
        ++it;
      }
    }
    if (!expired.empty()) {
      lock.Unlock();
      for (auto& done : expired) done(false);
      lock.Lock();
      continue;
    }
    if (next == std::chrono::steady_clock::time_point::max()) {
      waiters_cv_.Wait(&state_mu_);
    } else {
      waiters_cv_.WaitUntil(&state_mu_, next);
    }
  }
}

Status ProjectionRunner::CatchUp(uint64_t target, const std::function<void(uint64_t)>& progress) {
  MutexLock lock(&step_mu_);
  target = std::min(target, source_.Head());
  std::vector<Slot*> all;
  for (auto& s : slots_) all.push_back(s.get());
  // The next batch is read on the helper thread while the models apply this
  // one; a read still going is waited for on every way out.
  struct TakeLeftover {
    ReadAhead<Chunk>& ahead;
    ~TakeLeftover() {
      if (ahead.pending()) ahead.Take();
    }
  } take_leftover{read_ahead_};
  Chunk chunk, spare;  // the batch being applied; storage for the next one
  for (;;) {
    const uint64_t from = NextFrom(all);
    const uint64_t end = std::min(target, source_.Head());
    if (from == UINT64_MAX || from > end) break;
    const uint64_t to = std::min(end, from + options_.batch_events - 1);
    if (read_ahead_.pending()) {
      chunk = read_ahead_.Take();
      if (chunk.from != from || chunk.to != to) chunk = ReadChunk(from, to, std::move(chunk));
    } else {
      chunk = ReadChunk(from, to, std::move(spare));
    }
    if (to < end && chunk.status.ok()) {
      const uint64_t next_to = std::min(end, to + options_.batch_events);
      // false: no helper thread; the next batch is read when it is due.
      (void)read_ahead_.Start([this, to, next_to](Chunk& c) { c = ReadChunk(to + 1, next_to, std::move(c)); }, spare);
    }
    auto read = ApplyToAll(all, chunk, /*last=*/to == end);
    spare = std::move(chunk);
    Publish();
    if (!read.ok()) return read.error();
    uint64_t lowest = UINT64_MAX;
    for (Slot* s : all) {  // applied: in bulk mode, written only now and then
      if (!s->failed) lowest = std::min(lowest, s->applied.position);
    }
    if (progress && lowest != UINT64_MAX) progress(lowest);
    if (*read == 0) break;
  }
  for (Slot* s : all) {
    if (s->failed) {
      return Error(ErrorCode::kCorruption, "the " + s->projection->name() + " model stopped at position " +
                                               std::to_string(s->failed_position) + ": " + s->error);
    }
  }
  return OkStatus();
}

void ProjectionRunner::Start() {
  {
    MutexLock lock(&state_mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void ProjectionRunner::Stop() {
  {
    MutexLock lock(&state_mu_);
    stop_ = true;
  }
  state_cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

void ProjectionRunner::Notify() {
  {
    MutexLock lock(&state_mu_);
    wake_ = true;
  }
  state_cv_.SignalAll();
}

void ProjectionRunner::Loop() {
  pthread_setname_np(pthread_self(), "tally-project");
  std::string last_error;
  for (;;) {
    {
      MutexLock lock(&state_mu_);
      if (stop_) return;
      wake_ = false;
    }
    size_t read = 0;
    bool error = false;
    {
      MutexLock lock(&step_mu_);
      std::vector<Slot*> all;
      for (auto& s : slots_) all.push_back(s.get());
      const std::vector<bool> failed_before = [&] {
        std::vector<bool> f;
        for (Slot* s : all) f.push_back(s->failed);
        return f;
      }();
      auto r = Step(all, UINT64_MAX);
      if (r.ok()) {
        read = *r;
        last_error.clear();
      } else if (r.error().message() != last_error) {
        last_error = r.error().message();
        std::fprintf(stderr, "tally projections: %s (retrying)\n", last_error.c_str());
        error = true;
      } else {
        error = true;
      }
      for (size_t i = 0; i < all.size(); ++i) {
        if (all[i]->failed && !failed_before[i]) {
          std::fprintf(stderr, "tally projections: the %s model stopped at position %llu: %s\n",
                       all[i]->projection->name().c_str(),
                       static_cast<unsigned long long>(all[i]->failed_position), all[i]->error.c_str());
        }
      }
      Publish();
    }
    if (read == 0) {
      MutexLock lock(&state_mu_);
      const auto deadline = std::chrono::steady_clock::now() + (error ? std::chrono::milliseconds(1000) : options_.poll);
      while (!wake_ && !stop_ && state_cv_.WaitUntil(&state_mu_, deadline)) {
      }
    }
  }
}

bool ProjectionRunner::WaitFor(std::string_view model, uint64_t position, std::chrono::milliseconds timeout) {
  MutexLock lock(&state_mu_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool reached = false, settled = true;  // an unknown model is settled, not reached
    for (const auto& s : published_) {
      if (s.model != model) continue;
      reached = s.checkpoint.position >= position;
      settled = reached || s.failed;
      break;
    }
    if (settled || std::chrono::steady_clock::now() >= deadline) return reached;
    state_cv_.WaitUntil(&state_mu_, deadline);
  }
}

std::vector<ModelStatus> ProjectionRunner::Statuses() const {
  MutexLock lock(&state_mu_);
  std::vector<ModelStatus> out = published_;
  const uint64_t head = source_.Head();
  for (auto& s : out) s.head = head;
  return out;
}

std::unique_ptr<Projection> ProjectionRunner::Release(std::string_view model) {
  std::unique_ptr<Projection> out;
  {
    MutexLock lock(&step_mu_);
    for (auto it = slots_.begin(); it != slots_.end(); ++it) {
      if ((*it)->projection->name() == model) {
        out = std::move((*it)->projection);
        slots_.erase(it);
        break;
      }
    }
    Publish();
  }
  return out;
}

Status ProjectionRunner::Replace(std::unique_ptr<Projection> fresh) {
  MutexLock lock(&step_mu_);
  Slot* live = nullptr;
  for (auto& s : slots_) {
    if (s->projection->name() == fresh->name()) live = s.get();
  }
  if (live == nullptr) return Error(ErrorCode::kNotFound, "this runner does not run " + fresh->name());
  auto checkpoint = store_.ReadCheckpoint(*fresh->copy());
  if (!checkpoint.ok()) return checkpoint.error();
  Slot next;
  next.projection = std::move(fresh);
  next.applied = next.flushed = *checkpoint;
  std::vector<Slot*> one = {&next};
  while (next.flushed.position < live->flushed.position) {
    auto read = Step(one, live->flushed.position);
    if (!read.ok()) return read.error();
    if (next.failed) {
      return Error(ErrorCode::kCorruption, "the new " + next.projection->name() + " copy stopped at position " +
                                               std::to_string(next.failed_position) + ": " + next.error);
    }
    if (*read == 0) break;
  }
  TALLY_RETURN_IF_ERROR(store_.Activate(next.projection->copy()));
  *live = std::move(next);
  Publish();
  return OkStatus();
}

}  // namespace tally::projections
