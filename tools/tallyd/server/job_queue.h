// A bounded queue of jobs run one at a time on a thread of its own, started
// with the first job: the admin calls that block (erasure, the event browser,
// chain verification) wait here, never on an I/O thread.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>

#include "engine/base/mutex.h"

namespace tally::server {

// Thread-safety: any method from any thread.
class JobQueue {
 public:
  // `thread_name`: up to 15 characters (pthread_setname_np).
  JobQueue(std::string thread_name, size_t max_waiting) : thread_name_(std::move(thread_name)), max_(max_waiting) {}
  ~JobQueue() { Stop(); }
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  // Queues `job`; false (and nothing queued) once stopping or when
  // `max_waiting` jobs wait already.
  [[nodiscard]] bool Post(std::function<void()> job) EXCLUDES(mu_);
  // Refuses new jobs, runs those accepted so far, and joins the thread.
  void Stop() EXCLUDES(mu_);

 private:
  void Work() EXCLUDES(mu_);

  const std::string thread_name_;
  const size_t max_;
  Mutex mu_;
  CondVar cv_;  // with mu_: a job came, or stopping
  std::deque<std::function<void()>> jobs_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_ GUARDED_BY(mu_);
};

}  // namespace tally::server
