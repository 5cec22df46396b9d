// The read-model rebuild an operator asked for through the API
// (POST /admin/v1/rebuild): one at a time, on a thread of its own, with its
// progress for GET /admin/v1/rebuild and the console.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/mutex.h"
#include "engine/base/result.h"
#include "engine/event_log.h"

namespace tally::server {

// Rebuilds read models (names), calling `progress` after each batch; blocks
// until done. tallyd: ControlServer::RebuildModels.
using RebuildFunction = std::function<Status(const std::vector<std::string>& models,
                                             const std::function<void(uint64_t position, uint64_t head)>& progress)>;

// Thread-safety: any method from any thread.
class RebuildJob {
 public:
  // `log` (its head and clock) must outlive this object.
  RebuildJob(RebuildFunction rebuild, const EventLog* log) : rebuild_(std::move(rebuild)), log_(log) {}
  ~RebuildJob() { Stop(); }
  RebuildJob(const RebuildJob&) = delete;
  RebuildJob& operator=(const RebuildJob&) = delete;

  // Starts rebuilding `models` (known names); kBusy while a rebuild runs,
  // kShuttingDown once Stop was called.
  Status Start(std::vector<std::string> models, const std::string& operator_id) EXCLUDES(mu_);
  // {"state": idle|running|done|failed, "models", "position", "head",
  //  "startedAt", "finishedAt", "error" (when failed)}.
  nlohmann::json State() const EXCLUDES(mu_);
  // Refuses new rebuilds and waits for the one running.
  void Stop() EXCLUDES(mu_);

 private:
  struct Progress {
    std::string state = "idle";
    nlohmann::json models = nlohmann::json::array();
    uint64_t position = 0, head = 0;
    std::string started_at, finished_at, error;
  };
  void Run(std::vector<std::string> models) EXCLUDES(mu_);

  const RebuildFunction rebuild_;
  const EventLog* const log_;
  mutable Mutex mu_;
  Progress progress_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_ GUARDED_BY(mu_);  // the last rebuild's; joined by Start or Stop
};

}  // namespace tally::server
