// The partners allowed to call the API and their bearer tokens, kept only as
// SHA-256 hashes in <data>/partners.json. A token is shown once, when it is
// made (tallyctl partners add, or tallyd's first start).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/mutex.h"
#include "engine/base/result.h"

namespace tally::server {

struct Partner {
  std::string id;    // what events record as partner_id
  std::string name;
};

// Thread-safety: any method from any thread.
class PartnerDirectory {
 public:
  // Loads `path` (a missing file is an empty directory).
  static Result<std::unique_ptr<PartnerDirectory>> Load(const std::string& path);

  // Adds a partner named `name` (letters, digits, '-', '_', '.'; 1-64),
  // saves the file (atomically: written beside, then renamed) and returns
  // the partner and its new token (43 characters, base64url of 32 random
  // bytes). The token is not kept.
  Result<std::pair<Partner, std::string>> Add(const std::string& name);

  // The partner whose token this is, or nullopt. An unknown token makes it
  // re-read the file if it changed, so partners
  // added by `tallyctl partners add` while tallyd runs can call at once.
  std::optional<Partner> Authenticate(std::string_view token) const;

  size_t size() const;

 private:
  // Reads the file into by_hash_ when it changed (modification time, inode or size).
  Status ReloadLocked() const REQUIRES(mu_);

  std::string path_;
  mutable Mutex mu_;
  mutable std::map<std::string, Partner> by_hash_ GUARDED_BY(mu_);  // hex SHA-256 of the token -> partner
  mutable int64_t loaded_mtime_ns_ GUARDED_BY(mu_) = -1;            // of the file read into by_hash_
  mutable uint64_t loaded_inode_ GUARDED_BY(mu_) = 0;
  mutable int64_t loaded_size_ GUARDED_BY(mu_) = -1;
};

}  // namespace tally::server
