// Which malloc the running program uses: benchmark figures depend on it, so
// tally-bench and tallyd's start-up lines name it.
#pragma once

#include <dlfcn.h>

#include <string>

namespace tally {

inline std::string AllocatorName() {
  // gperftools' tcmalloc exports tc_version; glibc has no such symbol.
  using Version = const char* (*)(int* major, int* minor, const char** patch);
  if (auto version = reinterpret_cast<Version>(dlsym(RTLD_DEFAULT, "tc_version"))) {
    return std::string("tcmalloc (") + version(nullptr, nullptr, nullptr) + ")";
  }
  return "glibc malloc";
}

}  // namespace tally
