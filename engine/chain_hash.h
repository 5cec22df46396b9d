// The log's hash chain: hash(n) = SHA-256(hash(n-1) || envelope bytes(n)),
// hash(0) = 32 zero bytes. SHA-256 (OpenSSL, SHA-NI accelerated where the CPU
// has it) was chosen over BLAKE2 because auditors can recompute it with any
// standard tool (`sha256sum`) and it is the faster of the two here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tally {

using ChainDigest = std::array<uint8_t, 32>;

inline constexpr ChainDigest kGenesisDigest{};

// Computes chain hashes, reusing one OpenSSL context. Not thread-safe: use
// one per thread. Construction aborts if OpenSSL has no SHA-256 (a broken
// install, not a runtime condition).
class ChainHasher {
 public:
  ChainHasher();
  ~ChainHasher();
  ChainHasher(const ChainHasher&) = delete;
  ChainHasher& operator=(const ChainHasher&) = delete;

  ChainDigest Next(const ChainDigest& previous, std::string_view envelope);

 private:
  struct Impl;
  Impl* impl_;
};

// Lowercase hex of a digest, for reports.
std::string ToHex(const ChainDigest& digest);

}  // namespace tally
