#include "tools/tallyd/server/partners.h"

#include "engine/domain/commands.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tally::server {
namespace {

std::string Sha256Hex(std::string_view s) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up on
  // every call, which costs more than hashing a token.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_Digest(s.data(), s.size(), digest, &n, sha256, nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

std::string Base64Url(const unsigned char* p, size_t n) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 6) {
      out.push_back(kAlphabet[(acc >> (bits - 6)) & 63]);
      bits -= 6;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<PartnerDirectory>> PartnerDirectory::Load(const std::string& path) {
  auto owned = std::unique_ptr<PartnerDirectory>(new PartnerDirectory());
  owned->path_ = path;
  MutexLock lock(&owned->mu_);
  TALLY_RETURN_IF_ERROR(owned->ReloadLocked());
  return owned;
}

Status PartnerDirectory::ReloadLocked() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return OkStatus();  // no partners yet
  // Every save is a rename and adds a partner, so a new inode or size tells
  // a change even when the file system's clock is too coarse to move the
  // modification time.
  const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  const uint64_t inode = static_cast<uint64_t>(st.st_ino);
  const int64_t size = static_cast<int64_t>(st.st_size);  // grows with every partner added
  if (mtime == loaded_mtime_ns_ && inode == loaded_inode_ && size == loaded_size_) return OkStatus();
  std::ifstream in(path_);
  if (!in) return Error(ErrorCode::kIoError, "cannot read " + path_);
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("partners") || !j["partners"].is_array()) {
    return Error(ErrorCode::kCorruption, path_ + " is not a partners file");
  }
  std::map<std::string, Partner> by_hash;
  for (const auto& p : j["partners"]) {
    if (!p.is_object() || !p.value("id", nlohmann::json()).is_string() ||
        !p.value("token_sha256", nlohmann::json()).is_string()) {
      return Error(ErrorCode::kCorruption, path_ + ": a partner without id or token_sha256");
    }
    by_hash[p["token_sha256"].get<std::string>()] = Partner{p["id"], p.value("name", "")};
  }
  by_hash_ = std::move(by_hash);
  loaded_mtime_ns_ = mtime;
  loaded_inode_ = inode;
  loaded_size_ = size;
  return OkStatus();
}

Result<std::pair<Partner, std::string>> PartnerDirectory::Add(const std::string& name) {
  if (!ValidName(name)) {
    return Error(ErrorCode::kInvalidArgument, "a partner name is 1-64 letters, digits, '-', '_' or '.'");
  }
  if (name == domain::kOperatorId) {
    return Error(ErrorCode::kInvalidArgument, "'" + name + "' is reserved for tallyctl's own commands");
  }
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1) return Error(ErrorCode::kIoError, "no randomness for a token");
  const std::string token = Base64Url(random, sizeof random);
  MutexLock lock(&mu_);
  TALLY_RETURN_IF_ERROR(ReloadLocked());  // another process may have added one
  for (const auto& [hash, p] : by_hash_) {
    if (p.id == name) return Error(ErrorCode::kInvalidArgument, "a partner named " + name + " exists already");
  }
  auto next = by_hash_;
  next[Sha256Hex(token)] = Partner{name, name};
  nlohmann::json j;
  j["partners"] = nlohmann::json::array();
  for (const auto& [hash, p] : next) j["partners"].push_back({{"id", p.id}, {"name", p.name}, {"token_sha256", hash}});
  const std::string tmp = path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    out.close();
    if (!out) return Error(ErrorCode::kIoError, "cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) return Error(ErrorCode::kIoError, "cannot replace " + path_);
  by_hash_ = std::move(next);
  loaded_mtime_ns_ = -1;  // our own write: re-read at the next miss is harmless
  return std::make_pair(Partner{name, name}, token);
}

std::optional<Partner> PartnerDirectory::Authenticate(std::string_view token) const {
  if (token.empty() || token.size() > 256) return std::nullopt;
  const std::string hash = Sha256Hex(token);
  MutexLock lock(&mu_);
  auto it = by_hash_.find(hash);
  if (it != by_hash_.end()) return it->second;
  // A stat() per unknown token; cheap next to the SHA-256 above.
  if (!ReloadLocked().ok()) return std::nullopt;  // a broken file keeps the partners loaded before
  it = by_hash_.find(hash);
  if (it == by_hash_.end()) return std::nullopt;
  return it->second;
}

size_t PartnerDirectory::size() const {
  MutexLock lock(&mu_);
  return by_hash_.size();
}

}  // namespace tally::server
