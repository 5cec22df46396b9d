#include "tools/common/followed_log.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace tally::tools {

Result<std::unique_ptr<FollowedLog>> FollowedLog::Open(const std::string& data) {
  std::error_code ec;
  std::string scratch = (std::filesystem::temp_directory_path(ec) / "tally-follow-XXXXXX").string();
  if (ec || mkdtemp(scratch.data()) == nullptr) {
    return Error(ErrorCode::kIoError, std::string("cannot make a scratch folder: ") + std::strerror(errno));
  }
  std::unique_ptr<FollowedLog> out(new FollowedLog());
  out->scratch_ = scratch;  // removed by the destructor from here on
  auto opened = RocksDbEventLog::OpenFollower(data + "/log", scratch);
  if (!opened.ok()) return opened.error();
  out->log_ = std::move(*opened);
  return out;
}

FollowedLog::~FollowedLog() {
  log_.reset();
  std::error_code ec;
  std::filesystem::remove_all(scratch_, ec);
}

Result<std::unique_ptr<FollowedKeyRing>> FollowedKeyRing::Open(const std::string& data) {
  auto followed = FollowedLog::Open(data);
  if (!followed.ok()) return followed.error();
  return std::unique_ptr<FollowedKeyRing>(new FollowedKeyRing(std::move(*followed)));
}

Result<personal::KeyRecord> FollowedKeyRing::FindKey(std::string_view customer_id) const {
  MutexLock lock(&mu_);
  auto found = followed_->log().FindKey(customer_id);
  if (!found.ok() || found->state != personal::KeyState::kUnknown) return found;
  TALLY_RETURN_IF_ERROR(followed_->log().CatchUp());
  return followed_->log().FindKey(customer_id);
}

}  // namespace tally::tools
