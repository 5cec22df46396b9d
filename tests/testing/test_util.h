// Shared test support: temporary folders and repeatable seeds.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace tally::testing {

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it on
// destruction unless TALLY_KEEP_TEST_DIRS is set.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/tally-test-XXXXXX";
    char* p = mkdtemp(tmpl.data());
    if (p == nullptr) std::abort();
    path_ = p;
  }
  ~TempDir() {
    if (std::getenv("TALLY_KEEP_TEST_DIRS") == nullptr) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The seed for a randomized test: TALLY_SEED if set, else GoogleTest's
// --gtest_random_seed if given, else a fixed default.
// Printed so a failure can be replayed.
inline uint64_t TestSeed(uint64_t fallback = 20261123) {
  uint64_t seed = fallback;
  if (const char* env = std::getenv("TALLY_SEED")) {
    seed = std::strtoull(env, nullptr, 10);
  } else if (int s = GTEST_FLAG_GET(random_seed); s != 0) {
    seed = static_cast<uint64_t>(s);
  }
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  std::fprintf(stderr, "[ seed     ] %llu (replay with TALLY_SEED=%llu)\n",
               static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  return seed;
}

}  // namespace tally::testing
