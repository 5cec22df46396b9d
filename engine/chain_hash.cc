#include "engine/chain_hash.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace tally {

struct ChainHasher::Impl {
  EVP_MD* md = nullptr;
  EVP_MD_CTX* ctx = nullptr;
};

ChainHasher::ChainHasher() : impl_(new Impl) {
  impl_->md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->md == nullptr || impl_->ctx == nullptr) {
    std::fprintf(stderr, "tally: OpenSSL has no SHA-256\n");
    std::abort();
  }
}

ChainHasher::~ChainHasher() {
  EVP_MD_CTX_free(impl_->ctx);
  EVP_MD_free(impl_->md);
  delete impl_;
}

ChainDigest ChainHasher::Next(const ChainDigest& previous, std::string_view envelope) {
  ChainDigest out;
  unsigned int len = 0;
  // Each step either succeeds or OpenSSL is broken; treat failure as fatal.
  if (EVP_DigestInit_ex2(impl_->ctx, impl_->md, nullptr) != 1 ||
      EVP_DigestUpdate(impl_->ctx, previous.data(), previous.size()) != 1 ||
      EVP_DigestUpdate(impl_->ctx, envelope.data(), envelope.size()) != 1 ||
      EVP_DigestFinal_ex(impl_->ctx, out.data(), &len) != 1 || len != out.size()) {
    std::fprintf(stderr, "tally: SHA-256 failed\n");
    std::abort();
  }
  return out;
}

std::string ToHex(const ChainDigest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace tally
