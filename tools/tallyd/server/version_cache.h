// Customers' stream versions (their ETags) as writes through this API
// answered with them, so that a read or an If-Match check does not walk the
// customer's stream in the log (EventLog::StreamVersion) each time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "engine/base/mutex.h"

namespace tally::server {

// Thread-safety: any method from any thread.
class VersionCache {
 public:
  static constexpr size_t kDefaultMax = 200'000;
  explicit VersionCache(size_t max_entries = kDefaultMax) : max_(max_entries) {}

  // `customer` is at `version` or later; returns the version now cached
  // (versions only grow: an older answer arriving late changes nothing).
  uint64_t Remember(const std::string& customer, uint64_t version) EXCLUDES(mu_);
  std::optional<uint64_t> Find(const std::string& customer) const EXCLUDES(mu_);

 private:
  const size_t max_;
  mutable Mutex mu_;
  std::unordered_map<std::string, uint64_t> versions_ GUARDED_BY(mu_);
};

}  // namespace tally::server
