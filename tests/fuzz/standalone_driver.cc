// A stand-in for libFuzzer's driver where the compiler has none (GCC): runs
// the target on the seed corpus, then on seeded random mutations of it for
// --seconds=N. Deterministic for a given --seed=S.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv);
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  double seconds = 10;
  uint64_t seed = 1;
  std::string corpus;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--seconds=", 0) == 0) seconds = std::atof(a.c_str() + 10);
    else if (a.rfind("--seed=", 0) == 0) seed = std::strtoull(a.c_str() + 7, nullptr, 10);
    else corpus = a;
  }
  LLVMFuzzerInitialize(&argc, &argv);
  std::vector<std::string> inputs;
  if (!corpus.empty()) {
    for (const auto& f : std::filesystem::directory_iterator(corpus)) {
      std::ifstream in(f.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      inputs.push_back(ss.str());
    }
  }
  if (inputs.empty()) inputs.push_back("");
  for (const auto& in : inputs) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(in.data()), in.size());
  }
  std::mt19937_64 rng(seed);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string m = inputs[rng() % inputs.size()];
    for (int k = 0, n = 1 + static_cast<int>(rng() % 8); k < n; ++k) {
      switch (rng() % 4) {
        case 0: if (!m.empty()) m[rng() % m.size()] ^= static_cast<char>(1u << (rng() % 8)); break;
        case 1: if (!m.empty()) m[rng() % m.size()] = static_cast<char>(rng()); break;
        case 2: if (!m.empty()) m.resize(rng() % m.size()); break;
        case 3: m.insert(m.begin() + (m.empty() ? 0 : rng() % m.size()), static_cast<char>(rng())); break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(m.data()), m.size());
    ++runs;
  }
  std::printf("standalone fuzz driver: %llu runs, seed %llu, no crash\n",
              static_cast<unsigned long long>(runs), static_cast<unsigned long long>(seed));
  return 0;
}
