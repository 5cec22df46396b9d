#include "engine/rocksdb_logger.h"

#include <rocksdb/env.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <string>

#include "engine/base/mutex.h"

namespace tally {
namespace {

class StderrRocksLogger final : public rocksdb::Logger {
 public:
  explicit StderrRocksLogger(std::string name)
      : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), name_(std::move(name)) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char text[1024];
    const int n = std::vsnprintf(text, sizeof text, format, ap);
    for (size_t end = std::min<size_t>(n < 0 ? 0 : n, sizeof text - 1); end > 0 && std::isspace(static_cast<unsigned char>(text[end - 1]));) {
      text[--end] = '\0';
    }
    {
      // While the disk stays full, RocksDB says the same two lines every
      // few seconds: each distinct line once a minute is enough.
      MutexLock lock(&mu_);
      const auto now = std::chrono::steady_clock::now();
      auto [it, fresh] = said_.try_emplace(text, now);
      if (!fresh && now - it->second < std::chrono::minutes(1)) return;
      it->second = now;
      if (said_.size() > 256) said_.clear();
    }
    // One write per line, so lines of several threads do not interleave.
    std::fprintf(stderr, "tally rocksdb (%s): %s\n", name_.c_str(), text);
  }

 private:
  const std::string name_;
  Mutex mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> said_ GUARDED_BY(mu_);
};

}  // namespace

std::shared_ptr<rocksdb::Logger> NewStderrRocksLogger(std::string name) {
  return std::make_shared<StderrRocksLogger>(std::move(name));
}

}  // namespace tally
