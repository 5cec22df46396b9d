#include "tools/tallyd/server/metrics.h"

#include <cstdio>

namespace tally::server {

void AppendHelp(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void AppendSample(std::string& out, std::string_view name, std::string_view labels, double value) {
  char number[64];
  if (value == static_cast<double>(static_cast<uint64_t>(value)) && value < 1e18) {
    std::snprintf(number, sizeof number, "%llu", static_cast<unsigned long long>(value));
  } else {
    std::snprintf(number, sizeof number, "%.9g", value);
  }
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(number).append("\n");
}

void LatencyHistogram::Observe(std::chrono::nanoseconds elapsed) {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(elapsed.count()), std::memory_order_relaxed);
}

void LatencyHistogram::Render(std::string& out, std::string_view name, std::string_view labels) const {
  const std::string prefix = labels.empty() ? "" : std::string(labels) + ",";
  uint64_t cumulative = 0;
  char le[32];
  for (size_t i = 0; i <= kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    if (i < kBounds.size()) {
      std::snprintf(le, sizeof le, "%g", kBounds[i]);
    } else {
      std::snprintf(le, sizeof le, "+Inf");
    }
    AppendSample(out, std::string(name) + "_bucket", prefix + "le=\"" + le + "\"", static_cast<double>(cumulative));
  }
  AppendSample(out, std::string(name) + "_sum", labels, static_cast<double>(sum_ns_.load()) / 1e9);
  AppendSample(out, std::string(name) + "_count", labels, static_cast<double>(count_.load()));
}

void ApiMetrics::RecordCommand(std::string_view type, std::string_view outcome, std::chrono::nanoseconds elapsed) {
  MutexLock lock(&mu_);
  commands_[{std::string(type), std::string(outcome)}].fetch_add(1, std::memory_order_relaxed);
  command_latency_[std::string(type)].Observe(elapsed);
}

void ApiMetrics::RecordRequest(std::string_view method, unsigned status, std::chrono::nanoseconds elapsed) {
  request_latency_.Observe(elapsed);
  MutexLock lock(&mu_);
  requests_[{std::string(method), status}].fetch_add(1, std::memory_order_relaxed);
}

void ApiMetrics::Render(std::string& out) const {
  MutexLock lock(&mu_);
  AppendHelp(out, "tally_commands_total", "counter", "Commands by type and outcome (ok or the error's name).");
  for (const auto& [key, n] : commands_) {
    AppendSample(out, "tally_commands_total", "type=\"" + key.first + "\",outcome=\"" + key.second + "\"",
                 static_cast<double>(n.load()));
  }
  AppendHelp(out, "tally_command_duration_seconds", "histogram",
             "From a command's submission to its answer (durable or rejected), by type.");
  for (const auto& [type, h] : command_latency_) h.Render(out, "tally_command_duration_seconds", "type=\"" + type + "\"");
  AppendHelp(out, "tally_http_requests_total", "counter", "HTTP requests answered, by method and status.");
  for (const auto& [key, n] : requests_) {
    AppendSample(out, "tally_http_requests_total",
                 "method=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"",
                 static_cast<double>(n.load()));
  }
  AppendHelp(out, "tally_http_request_duration_seconds", "histogram",
             "From a request's arrival at the API to its answer.");
  request_latency_.Render(out, "tally_http_request_duration_seconds", "");
}

}  // namespace tally::server
