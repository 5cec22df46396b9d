#include "engine/domain/ids.h"

#include "events/uuid.h"

namespace tally::domain {

std::string RandomIdSource::NewId() {
  uint64_t a, b;
  {
    MutexLock lock(&mu_);
    a = rng_();
    b = rng_();
  }
  return events::FormatUuidV4(a, b);
}

}  // namespace tally::domain
