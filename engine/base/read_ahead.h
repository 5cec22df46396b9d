// One long-lived helper thread that reads the next chunk of the log while
// its owner works on the current one: the Kafka relay produces a chunk while
// the next is scanned and verified; the projection runner applies a batch to
// the read models while the next is read. (Each used to start a std::async
// thread per chunk.) The thread starts with the first read and ends with the
// object.
#pragma once

#include <pthread.h>

#include <functional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "engine/base/mutex.h"

namespace tally {

// Thread-safety: one owner thread calls Start, pending and Take; the read
// runs on the helper thread.
template <typename Chunk>
class ReadAhead {
 public:
  // `thread_name`: up to 15 characters (pthread_setname_np).
  explicit ReadAhead(std::string thread_name) : thread_name_(std::move(thread_name)) {}
  ~ReadAhead() {
    std::thread helper;
    {
      MutexLock lock(&mu_);
      stop_ = true;
      helper = std::move(thread_);
    }
    start_cv_.SignalAll();
    if (helper.joinable()) helper.join();  // after a read in progress
  }
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // Starts `read` on the helper thread, filling `storage` (moved from; its
  // buffers are reused). Nothing may be pending (Take it first). False, and
  // `storage` untouched, when no thread could be started: read it yourself.
  bool Start(std::function<void(Chunk&)> read, Chunk& storage) EXCLUDES(mu_) {
    {
      MutexLock lock(&mu_);
      if (!thread_.joinable()) {
        try {
          thread_ = std::thread([this] { Loop(); });
        } catch (const std::system_error&) {
          return false;
        }
      }
      read_ = std::move(read);
      chunk_ = std::move(storage);
      state_ = State::kReading;
    }
    start_cv_.Signal();
    return true;
  }

  // True from Start until Take.
  bool pending() const EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return state_ != State::kIdle;
  }

  // Waits for the read Start began and returns its chunk.
  Chunk Take() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    while (state_ == State::kReading) done_cv_.Wait(&mu_);
    state_ = State::kIdle;
    return std::move(chunk_);
  }

 private:
  enum class State { kIdle, kReading, kRead };

  void Loop() EXCLUDES(mu_) {
    pthread_setname_np(pthread_self(), thread_name_.c_str());
    MutexLock lock(&mu_);
    for (;;) {
      while (!stop_ && !read_) start_cv_.Wait(&mu_);
      if (!read_) return;  // stopping, nothing asked
      auto read = std::move(read_);
      read_ = nullptr;
      Chunk chunk = std::move(chunk_);
      lock.Unlock();
      read(chunk);
      lock.Lock();
      chunk_ = std::move(chunk);
      state_ = State::kRead;
      done_cv_.SignalAll();
    }
  }

  const std::string thread_name_;
  mutable Mutex mu_;
  CondVar start_cv_, done_cv_;  // with mu_: a read asked for; a read done
  std::function<void(Chunk&)> read_ GUARDED_BY(mu_);
  Chunk chunk_ GUARDED_BY(mu_);
  State state_ GUARDED_BY(mu_) = State::kIdle;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_ GUARDED_BY(mu_);
};

}  // namespace tally
