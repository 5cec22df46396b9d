#include "engine/domain/password.h"

#include <openssl/rand.h>

#include <array>
#include <string_view>

namespace tally::domain {

Result<std::string> GenerateAdminPassword() {
  static constexpr std::array<std::string_view, 4> kClasses = {
      "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "!@#$%^&*-_=+?"};
  constexpr size_t kLength = 20;
  for (;;) {  // rejection sampling: retry until every class is present
    std::array<unsigned char, kLength * 2> random{};
    if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
      return Error(ErrorCode::kIoError, "the system CSPRNG is unavailable");
    }
    std::string out;
    std::array<bool, 4> seen{};
    for (size_t i = 0; i < kLength; ++i) {
      const size_t cls = random[2 * i] % 4;  // 256 % 4 == 0: unbiased
      const std::string_view chars = kClasses[cls];
      const unsigned char r = random[2 * i + 1];
      const unsigned limit = 256 - 256 % chars.size();
      if (r >= limit) continue;  // unbiased: skip values past the last full cycle
      out.push_back(chars[r % chars.size()]);
      seen[cls] = true;
    }
    if (out.size() >= 16 && seen[0] && seen[1] && seen[2] && seen[3]) return out;
  }
}

}  // namespace tally::domain
