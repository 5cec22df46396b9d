#include "tools/tallyd/descriptors.h"

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>

namespace tally {
namespace {

size_t OpenDescriptors() {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

}  // namespace

ConnectionBudget BudgetConnections(size_t requested, size_t reserve) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return {requested, ""};
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  const size_t max = limit.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(limit.rlim_cur);
  const size_t open = OpenDescriptors();
  const size_t spare = max > open + reserve ? max - open - reserve : 0;
  ConnectionBudget b;
  b.max_connections = std::max<size_t>(16, std::min(requested, spare));
  b.note = "at most " + std::to_string(b.max_connections) + " connections (descriptor limit " +
           std::to_string(max) + ", " + std::to_string(open) + " open, " + std::to_string(reserve) +
           " kept for the log, the read models and Kafka)";
  if (spare < std::min<size_t>(requested, 16)) b.note += "; the limit is low: raise it (ulimit -n)";
  return b;
}

}  // namespace tally
