#include "tools/tallyd/server/job_queue.h"

#include <pthread.h>

namespace tally::server {

bool JobQueue::Post(std::function<void()> job) {
  {
    MutexLock lock(&mu_);
    if (stopping_ || jobs_.size() >= max_) return false;
    jobs_.push_back(std::move(job));
    if (!thread_.joinable()) thread_ = std::thread([this] { Work(); });
  }
  cv_.Signal();
  return true;
}

void JobQueue::Stop() {
  // Once stopping no job starts the thread: it is taken out and joined.
  std::thread worker;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    worker = std::move(thread_);
  }
  cv_.SignalAll();
  if (worker.joinable()) worker.join();
}

void JobQueue::Work() {
  pthread_setname_np(pthread_self(), thread_name_.c_str());
  MutexLock lock(&mu_);
  for (;;) {
    while (!stopping_ && jobs_.empty()) cv_.Wait(&mu_);
    if (jobs_.empty()) return;  // stopping, and every accepted job is done
    auto next = std::move(jobs_.front());
    jobs_.pop_front();
    lock.Unlock();
    next();
    lock.Lock();
  }
}

}  // namespace tally::server
