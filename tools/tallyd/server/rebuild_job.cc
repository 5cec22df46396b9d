#include "tools/tallyd/server/rebuild_job.h"

#include <pthread.h>

#include <algorithm>
#include <cstdio>

#include "projections/as_of.h"

namespace tally::server {

Status RebuildJob::Start(std::vector<std::string> models, const std::string& operator_id) {
  MutexLock lock(&mu_);
  if (progress_.state == "running") {
    return Error(ErrorCode::kBusy, "a rebuild of " + progress_.models.dump() + " is running; retry when it is done");
  }
  if (stopping_) return Error(ErrorCode::kShuttingDown, "tallyd is stopping");
  if (thread_.joinable()) thread_.join();  // the last one, finished
  progress_ = Progress{};
  progress_.state = "running";
  progress_.models = models;
  progress_.head = log_->Head();
  progress_.started_at = projections::FormatUtcTime(log_->NowMicros());
  std::fprintf(stderr, "tallyd: operator %s: rebuild of %s\n", operator_id.c_str(), progress_.models.dump().c_str());
  thread_ = std::thread([this, models = std::move(models)]() mutable { Run(std::move(models)); });
  return OkStatus();
}

void RebuildJob::Run(std::vector<std::string> models) {
  pthread_setname_np(pthread_self(), "tally-rebuild");
  Status s = rebuild_(models, [this](uint64_t position, uint64_t head) {
    MutexLock lock(&mu_);
    progress_.position = position;
    progress_.head = head;
  });
  MutexLock lock(&mu_);
  progress_.state = s.ok() ? "done" : "failed";
  if (!s.ok()) progress_.error = s.error().ToString();
  if (s.ok()) progress_.position = std::max(progress_.position, progress_.head);
  progress_.finished_at = projections::FormatUtcTime(log_->NowMicros());
}

nlohmann::json RebuildJob::State() const {
  MutexLock lock(&mu_);
  nlohmann::json body = {{"state", progress_.state},         {"models", progress_.models},
                         {"position", progress_.position},   {"head", progress_.head},
                         {"startedAt", progress_.started_at}, {"finishedAt", progress_.finished_at}};
  if (!progress_.error.empty()) body["error"] = progress_.error;
  return body;
}

void RebuildJob::Stop() {
  std::thread running;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    running = std::move(thread_);
  }
  if (running.joinable()) running.join();
}

}  // namespace tally::server
