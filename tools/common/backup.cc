#include "tools/common/backup.h"

#include <rocksdb/db.h>
#include <rocksdb/utilities/checkpoint.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/chain_verifier.h"
#include "engine/rocksdb_error.h"

namespace tally::tools {
namespace {

constexpr char kManifestFormat[] = "tally-backup/1";

Status Checkpoint(rocksdb::DB* db, const std::string& dir, const std::string& what) {
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db, &raw);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  if (s.ok()) s = checkpoint->CreateCheckpoint(dir);
  if (!s.ok()) return FromRocks(s, "backing up the " + what);
  return OkStatus();
}

Result<BackupManifest> ReadManifest(const std::string& dir) {
  std::ifstream in(dir + "/MANIFEST");
  std::string format;
  BackupManifest m;
  if (!(in >> format >> m.head >> m.head_hash >> m.created_us) || format != kManifestFormat) {
    return Error(ErrorCode::kCorruption, dir + "/MANIFEST is missing or not a " + kManifestFormat + " manifest");
  }
  return m;
}

}  // namespace

Result<BackupManifest> CreateBackup(RocksDbEventLog& log, projections::ProjectionStore* store,
                                    const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    return Error(ErrorCode::kInvalidArgument, dir + " exists already: back up into a new folder");
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error(ErrorCode::kIoError, "cannot create " + dir + ": " + ec.message());
  if (store != nullptr) TALLY_RETURN_IF_ERROR(Checkpoint(store->db(), dir + "/projections", "read models"));
  TALLY_RETURN_IF_ERROR(Checkpoint(log.db(), dir + "/log", "event log"));
  // The manifest describes what the checkpoint holds, read back from it.
  auto copy = RocksDbEventLog::OpenReadOnly(dir + "/log");
  if (!copy.ok()) return copy.error();
  BackupManifest m;
  m.head = (*copy)->Head();
  auto hash = (*copy)->HashAt(m.head);
  if (!hash.ok()) return hash.error();
  m.head_hash = ToHex(*hash);
  m.created_us = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  std::ofstream out(dir + "/MANIFEST");
  out << kManifestFormat << "\n" << m.head << "\n" << m.head_hash << "\n" << m.created_us << "\n";
  out.close();
  if (!out) return Error(ErrorCode::kIoError, "cannot write " + dir + "/MANIFEST");
  return m;
}

Result<RestoreReport> RestoreBackup(const std::string& dir, const std::string& data) {
  auto manifest = ReadManifest(dir);
  if (!manifest.ok()) return manifest.error();
  std::error_code ec;
  if (std::filesystem::exists(data + "/log", ec)) {
    return Error(ErrorCode::kInvalidArgument,
                 data + "/log exists: restore into a new data folder (nothing was changed)");
  }
  std::filesystem::create_directories(data, ec);
  const auto copy_options = std::filesystem::copy_options::recursive;
  std::filesystem::copy(dir + "/log", data + "/log", copy_options, ec);
  if (!ec && std::filesystem::exists(dir + "/projections")) {
    std::filesystem::copy(dir + "/projections", data + "/projections", copy_options, ec);
  }
  if (ec) return Error(ErrorCode::kIoError, "restoring into " + data + ": " + ec.message());

  auto log = RocksDbEventLog::OpenReadOnly(data + "/log");
  if (!log.ok()) return log.error();
  RestoreReport report{*manifest, 0};
  auto verified = VerifyChain(**log);
  if (!verified.ok()) return verified.error();
  report.verified = verified->checked;
  if (!verified->ok()) {
    return Error(ErrorCode::kCorruption, "the restored log does not verify at position " +
                                             std::to_string(verified->first_bad) + ": " + verified->reason);
  }
  auto hash = (*log)->HashAt((*log)->Head());
  if (!hash.ok()) return hash.error();
  if ((*log)->Head() != manifest->head || ToHex(*hash) != manifest->head_hash) {
    return Error(ErrorCode::kCorruption, "the restored log ends at position " + std::to_string((*log)->Head()) +
                                             ", the manifest says " + std::to_string(manifest->head) +
                                             " (or the head hashes differ)");
  }
  return report;
}

std::string UtcStamp() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", std::gmtime(&now));
  return stamp;
}

Result<std::string> KeepDamagedCopy(const std::string& log_dir) {
  namespace fs = std::filesystem;
  const std::string stamp = UtcStamp();
  const std::string copy = log_dir + ".damaged-" + stamp;
  std::error_code ec;
  fs::create_directory(copy, ec);
  if (ec) return Error(ErrorCode::kIoError, "creating " + copy + ": " + ec.message());
  fs::permissions(copy, fs::perms::owner_all, ec);
  for (const auto& entry : fs::directory_iterator(log_dir, ec)) {
    if (!entry.is_regular_file() || entry.path().filename() == "LOCK") continue;
    const fs::path to = fs::path(copy) / entry.path().filename();
    if (entry.path().extension() == ".sst") {
      fs::create_hard_link(entry.path(), to, ec);
      if (!ec) continue;  // no hard links here: copied instead
    }
    fs::copy_file(entry.path(), to, ec);
    if (ec) return Error(ErrorCode::kIoError, "copying " + entry.path().string() + ": " + ec.message());
  }
  if (ec) return Error(ErrorCode::kIoError, "reading " + log_dir + ": " + ec.message());
  return copy;
}

Result<std::string> SetRecordedDamageAside(const std::string& log_dir) {
  namespace fs = std::filesystem;
  const std::string file = log_dir + "/" + kDamageFile;
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::string();
  const std::string stamp = UtcStamp();
  const std::string aside = file + ".resolved-" + stamp;
  fs::rename(file, aside, ec);
  if (ec) return Error(ErrorCode::kIoError, "setting " + file + " aside: " + ec.message());
  return aside;
}

}  // namespace tally::tools
