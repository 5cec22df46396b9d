// Realistic sample events for tests, benchmarks and fuzz seeds. Deterministic
// for a given seed. Not used by the server.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "events/codec.h"

namespace tally::events {

class SampleEvents {
 public:
  explicit SampleEvents(uint64_t seed) : rng_(seed) {}

  // A random UUID-shaped string (not a CSPRNG: samples only).
  std::string Uuid();

  // A CustomerCreated envelope of about 300 bytes for `customer_id`, stream
  // "customer-<customer_id>".
  std::string CustomerCreated(const std::string& customer_id, const std::string& request_id);

  // A SubscriptionCreated envelope on the same stream.
  std::string SubscriptionCreated(const std::string& customer_id, const std::string& request_id,
                                  int32_t quantity);

  // One envelope of each payload type, for fuzz seeds and JSON tests.
  std::string OfType(Payload type, const std::string& customer_id);

 private:
  std::mt19937_64 rng_;
};

inline std::string CustomerStream(const std::string& customer_id) {
  return "customer-" + customer_id;
}

}  // namespace tally::events
