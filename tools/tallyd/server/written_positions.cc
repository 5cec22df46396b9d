#include "tools/tallyd/server/written_positions.h"

#include <algorithm>

namespace tally::server {

void WrittenPositions::Record(const std::string& partner, const std::string& customer, uint64_t position) {
  MutexLock lock(&mu_);
  uint64_t& last = by_partner_[partner];
  last = std::max(last, position);
  uint64_t& written = by_customer_[customer];
  written = std::max(written, position);
  if (by_customer_.size() > prune_above_) PruneApplied();
}

uint64_t WrittenPositions::OfPartner(const std::string& partner) const {
  MutexLock lock(&mu_);
  auto it = by_partner_.find(partner);
  return it == by_partner_.end() ? 0 : it->second;
}

uint64_t WrittenPositions::OfCustomer(const std::string& customer) const {
  MutexLock lock(&mu_);
  auto it = by_customer_.find(customer);
  return it == by_customer_.end() ? 0 : it->second;
}

void WrittenPositions::PruneApplied() {
  // One entry per partner stays (partners are few); customers are many.
  const uint64_t applied = applied_by_all_();
  std::erase_if(by_customer_, [applied](const auto& entry) { return entry.second <= applied; });
  prune_above_ = std::max<size_t>(4096, by_customer_.size() * 2);
}

}  // namespace tally::server
