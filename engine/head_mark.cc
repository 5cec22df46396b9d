#include "engine/head_mark.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "engine/log_format.h"

namespace tally {
namespace {

constexpr char kMagic[] = "tallyhm1";
constexpr size_t kSlot = 64;

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Encode(const HeadMarkEntry& e) {
  std::string out(kMagic, 8);
  log_format::PutBigEndian64(out, e.position);
  out.append(reinterpret_cast<const char*>(e.hash.data()), e.hash.size());
  ChainHasher hasher;
  const ChainDigest check = hasher.Next(kGenesisDigest, out);
  out.append(reinterpret_cast<const char*>(check.data()), 16);
  return out;
}

std::optional<HeadMarkEntry> Decode(std::string_view slot) {
  if (slot.size() != kSlot || slot.substr(0, 8) != std::string_view(kMagic, 8)) return std::nullopt;
  ChainHasher hasher;
  const ChainDigest check = hasher.Next(kGenesisDigest, slot.substr(0, 48));
  if (std::memcmp(check.data(), slot.data() + 48, 16) != 0) return std::nullopt;
  HeadMarkEntry e;
  e.position = log_format::GetBigEndian64(slot.substr(8, 8));
  std::memcpy(e.hash.data(), slot.data() + 16, e.hash.size());
  return e;
}

std::string PathIn(const std::string& dir) { return dir + "/" + kHeadMarkFile; }

}  // namespace

Result<std::optional<HeadMarkEntry>> ReadHeadMark(const std::string& log_dir) {
  const int fd = ::open(PathIn(log_dir).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<HeadMarkEntry>();
    return Error(ErrorCode::kIoError, "opening " + PathIn(log_dir) + ": " + std::strerror(errno));
  }
  char buf[2 * kSlot];
  const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  ::close(fd);
  if (n < 0) return Error(ErrorCode::kIoError, "reading " + PathIn(log_dir) + ": " + std::strerror(errno));
  std::optional<HeadMarkEntry> best;
  for (size_t at = 0; at + kSlot <= static_cast<size_t>(n); at += kSlot) {
    auto e = Decode(std::string_view(buf + at, kSlot));
    if (e && (!best || e->position > best->position)) best = e;
  }
  if (!best && n > 0) {
    return Error(ErrorCode::kCorruption, PathIn(log_dir) + " holds no valid mark (both slots fail their check)");
  }
  return best;
}

Result<std::unique_ptr<HeadMarkWriter>> HeadMarkWriter::Open(const std::string& log_dir) {
  auto existing = ReadHeadMark(log_dir);
  if (!existing.ok() && existing.error().code() != ErrorCode::kCorruption) return existing.error();
  const uint64_t floor = existing.ok() && existing->has_value() ? (*existing)->position : 0;
  const int fd = ::open(PathIn(log_dir).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error(ErrorCode::kIoError, "opening " + PathIn(log_dir) + ": " + std::strerror(errno));
  std::unique_ptr<HeadMarkWriter> writer(new HeadMarkWriter(fd, floor));
  // The first write goes to the slot that does not hold the best entry, so
  // that a torn write never loses it.
  char slot_a[kSlot];
  if (floor > 0 && ::pread(fd, slot_a, kSlot, 0) == static_cast<ssize_t>(kSlot)) {
    auto a = Decode(std::string_view(slot_a, kSlot));
    if (a && a->position == floor) writer->writes_ = 1;
  }
  return writer;
}

HeadMarkWriter::~HeadMarkWriter() {
  if (writes_ > 0) (void)::fdatasync(fd_);  // nothing to do about a failure: the mark is a witness
  ::close(fd_);
}

Status HeadMarkWriter::Record(const HeadMarkEntry& entry, bool sync) {
  if (entry.position < floor_) return OkStatus();
  const std::string bytes = Encode(entry);
  const off_t at = static_cast<off_t>((writes_++ % 2) * kSlot);
  if (::pwrite(fd_, bytes.data(), bytes.size(), at) != static_cast<ssize_t>(bytes.size())) {
    return Error(ErrorCode::kIoError, std::string("writing the head mark: ") + std::strerror(errno));
  }
  const int64_t now = SteadyNs();
  if (sync || now - last_sync_ns_ >= 1'000'000'000) {
    if (::fdatasync(fd_) != 0) {
      return Error(ErrorCode::kIoError, std::string("syncing the head mark: ") + std::strerror(errno));
    }
    last_sync_ns_ = now;
  }
  return OkStatus();
}

}  // namespace tally
