#include "tools/tallyd/server/version_cache.h"

#include <algorithm>

namespace tally::server {

uint64_t VersionCache::Remember(const std::string& customer, uint64_t version) {
  MutexLock lock(&mu_);
  if (versions_.size() >= max_ && !versions_.count(customer)) {
    versions_.clear();  // a cache: emptied rather than grown without bound
  }
  uint64_t& v = versions_[customer];
  v = std::max(v, version);
  return v;
}

std::optional<uint64_t> VersionCache::Find(const std::string& customer) const {
  MutexLock lock(&mu_);
  auto it = versions_.find(customer);
  if (it == versions_.end()) return std::nullopt;
  return it->second;
}

}  // namespace tally::server
