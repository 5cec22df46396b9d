// The API's metrics, rendered as Prometheus text (GET /metrics): commands by
// type and outcome with a latency histogram, HTTP requests by method and
// status with a latency histogram; the engine's figures (group-commit sizes,
// log head, read-model positions and lag) are added at render time by the
// caller.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "engine/base/mutex.h"

namespace tally::server {

// Latency in fixed buckets (seconds), lock-free to observe.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                     0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
  void Observe(std::chrono::nanoseconds elapsed);
  // `name`_bucket{labels,le=...}, `name`_sum, `name`_count lines.
  void Render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};  // the last: +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

// Thread-safety: Record* from any thread; Render from any thread.
class ApiMetrics {
 public:
  // `type` like "AddCustomer"; `outcome` "ok" or an error name.
  void RecordCommand(std::string_view type, std::string_view outcome, std::chrono::nanoseconds elapsed);
  void RecordRequest(std::string_view method, unsigned status, std::chrono::nanoseconds elapsed);
  // Appends this object's metrics.
  void Render(std::string& out) const;

 private:
  mutable Mutex mu_;  // guards the maps (not the values inside)
  std::map<std::pair<std::string, std::string>, std::atomic<uint64_t>> commands_ GUARDED_BY(mu_);  // (type, outcome)
  std::map<std::string, LatencyHistogram> command_latency_ GUARDED_BY(mu_);                        // by type
  std::map<std::pair<std::string, unsigned>, std::atomic<uint64_t>> requests_ GUARDED_BY(mu_);     // (method, status)
  LatencyHistogram request_latency_;
};

// Prometheus text helpers.
void AppendHelp(std::string& out, std::string_view name, std::string_view type, std::string_view help);
void AppendSample(std::string& out, std::string_view name, std::string_view labels, double value);

}  // namespace tally::server
