// Read-your-writes: the log position each partner last wrote, and each
// customer was last written at, through this API. A read waits for the read
// models to reach them (Api::AfterReads; README, "Consistency").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "engine/base/mutex.h"

namespace tally::server {

// Thread-safety: any method from any thread.
class WrittenPositions {
 public:
  // `applied_by_all`: the position every read model has passed; entries at
  // or below it make no read wait and are dropped now and then.
  explicit WrittenPositions(std::function<uint64_t()> applied_by_all) : applied_by_all_(std::move(applied_by_all)) {}

  // `partner` wrote `customer` at `position`.
  void Record(const std::string& partner, const std::string& customer, uint64_t position) EXCLUDES(mu_);
  // The last position `partner` wrote (for its lists); 0 when none.
  uint64_t OfPartner(const std::string& partner) const EXCLUDES(mu_);
  // The last position `customer` was written at, by anyone; 0 when none
  // (or passed by every read model since).
  uint64_t OfCustomer(const std::string& customer) const EXCLUDES(mu_);

 private:
  void PruneApplied() REQUIRES(mu_);

  const std::function<uint64_t()> applied_by_all_;
  mutable Mutex mu_;
  std::map<std::string, uint64_t> by_partner_ GUARDED_BY(mu_);
  std::map<std::string, uint64_t> by_customer_ GUARDED_BY(mu_);
  size_t prune_above_ GUARDED_BY(mu_) = 4096;
};

}  // namespace tally::server
