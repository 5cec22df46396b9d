// Where new ids (customers, subscriptions, orders, invitations, events) come
// from: random UUIDs in production, a seeded sequence in tests.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "engine/base/mutex.h"

namespace tally::domain {

class IdSource {
 public:
  virtual ~IdSource() = default;
  // A new UUID-shaped id (version 4 layout). Thread-safe.
  virtual std::string NewId() = 0;
};

// UUIDs from a generator seeded by std::random_device (ids are unique, not
// secret: secrets come from OpenSSL, see password.h). `seed` != 0 makes the
// sequence repeatable (tests, benchmarks).
class RandomIdSource final : public IdSource {
 public:
  explicit RandomIdSource(uint64_t seed = 0)
      : rng_(seed != 0 ? seed : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()) {}
  std::string NewId() override;

 private:
  Mutex mu_;
  std::mt19937_64 rng_ GUARDED_BY(mu_);
};

}  // namespace tally::domain
