#include "engine/log_damage.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace tally {

std::string LogDamage::ToString() const {
  std::string where = first == last ? "position " + std::to_string(first)
                                    : "positions " + std::to_string(first) + "-" + std::to_string(last);
  return where + " (" + witness + "): " + detail;
}

namespace {

std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

// Appends `line` to `path` and syncs it.
bool AppendSynced(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  return ok;
}

}  // namespace

Result<std::vector<LogDamage>> ReadRecordedDamage(const std::string& path) {
  std::vector<LogDamage> out;
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return out;
  std::ifstream in(path);
  if (!in) return Error(ErrorCode::kIoError, "cannot read " + path + ": " + std::strerror(errno));
  for (std::string line; std::getline(in, line);) {
    LogDamage d;
    std::vector<std::string> parts;
    size_t at = 0;
    for (size_t tab; parts.size() < 3 && (tab = line.find('\t', at)) != std::string::npos; at = tab + 1) {
      parts.push_back(line.substr(at, tab - at));
    }
    parts.push_back(line.substr(at));
    if (parts.size() != 4) continue;  // a torn last line: its finding is in memory and said on stderr
    d.first = std::strtoull(parts[0].c_str(), nullptr, 10);
    d.last = std::strtoull(parts[1].c_str(), nullptr, 10);
    d.witness = parts[2];
    d.detail = parts[3];
    out.push_back(std::move(d));
  }
  return out;
}

void LogDamageLatch::RecordTo(std::string path) {
  auto recorded = ReadRecordedDamage(path);
  MutexLock lock(&mu_);
  record_path_ = std::move(path);
  if (recorded.ok()) recorded_ = std::move(*recorded);
}

void LogDamageLatch::Report(LogDamage damage) {
  damage.witness = OneLine(std::move(damage.witness));
  damage.detail = OneLine(std::move(damage.detail));
  bool fresh = false;
  {
    MutexLock lock(&mu_);
    ++reports_;
    if (std::find(kept_.begin(), kept_.end(), damage) == kept_.end() && kept_.size() < kMaxKept) {
      kept_.push_back(damage);
      fresh = true;
      // Recorded before anyone can act on it: a restart must not forget it.
      const bool recorded = std::find(recorded_.begin(), recorded_.end(), damage) != recorded_.end();
      if (!recorded && recorded_.size() < kMaxKept) recorded_.push_back(damage);
      if (!recorded && !record_path_.empty() &&
          !AppendSynced(record_path_, std::to_string(damage.first) + "\t" + std::to_string(damage.last) + "\t" +
                                          damage.witness + "\t" + damage.detail + "\n") &&
          !record_failed_) {
        record_failed_ = true;
        std::fprintf(stderr, "tally event log: cannot record damage in %s: %s\n", record_path_.c_str(),
                     std::strerror(errno));
      }
    }
  }
  // Said once per finding, where operators look first.
  if (fresh && print_.load(std::memory_order_relaxed)) std::fprintf(stderr, "tally event log: DAMAGE at %s; writes are refused\n", damage.ToString().c_str());
}

bool LogDamageLatch::damaged() const {
  MutexLock lock(&mu_);
  return !kept_.empty();
}

std::vector<LogDamage> LogDamageLatch::List() const {
  MutexLock lock(&mu_);
  return kept_;
}

uint64_t LogDamageLatch::reports() const {
  MutexLock lock(&mu_);
  return reports_;
}

std::optional<Error> LogDamageLatch::AsError() const {
  MutexLock lock(&mu_);
  if (kept_.empty()) return std::nullopt;
  return Error(ErrorCode::kLogDamaged,
               "the event log is damaged at " + kept_.front().ToString() +
                   "; writes are refused until it is healed (tallyctl restore --from-kafka --heal) or the loss "
                   "is accepted (tallyctl accept-loss), tallyd stopped; see README, \"Damage to the log\"");
}

}  // namespace tally
