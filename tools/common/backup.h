// Consistent backups of a data folder: RocksDB checkpoints (hard links where
// the backup is on the same file system, copies otherwise) of the read
// models, then of the log, plus a manifest naming the log's head and its
// chain hash. The read models are taken first, so they are never ahead of
// the log they come with. A restore copies the folders back and verifies the
// whole chain against the manifest.
#pragma once

#include <cstdint>
#include <string>

#include "engine/base/result.h"
#include "engine/rocksdb_event_log.h"
#include "projections/store.h"

namespace tally::tools {

// <backup>/MANIFEST: "tally-backup/1", head position, head chain hash (hex),
// created-at (microseconds since the epoch, UTC); one per line.
struct BackupManifest {
  uint64_t head = 0;
  std::string head_hash;  // hex
  int64_t created_us = 0;
};

// Backs `log` (and `store`, unless null) up into `dir`, which must not
// exist yet. Safe while the log is being written: the backup holds every
// event durable when it started, and possibly more.
Result<BackupManifest> CreateBackup(RocksDbEventLog& log, projections::ProjectionStore* store,
                                    const std::string& dir);

struct RestoreReport {
  BackupManifest manifest;
  uint64_t verified = 0;  // events whose chain and envelope verified
};

// Restores the backup in `dir` into the data folder `data` (which must not
// hold a log yet), then verifies the restored log: every envelope and the
// whole chain, ending at the manifest's head with its hash. On a failed
// verification the restored folder is left for inspection and an error
// (kCorruption) names the first bad position.
Result<RestoreReport> RestoreBackup(const std::string& dir, const std::string& data);

// The time now, UTC, as a file name's suffix: "20261205T201248Z".
std::string UtcStamp();

// Before a damaged log folder is changed (a heal, an accepted loss, a
// dropped torn tail): a copy of it beside it, `<log_dir>.damaged-<UTC time>`
// (mode 0700), table files hard-linked (RocksDB never changes them), the
// rest copied. Returns the copy's path.
Result<std::string> KeepDamagedCopy(const std::string& log_dir);

// After a heal or an accepted loss whose whole chain verifies: the damage
// recorded beside the log (kDamageFile) is set aside as `<file>.resolved-
// <UTC time>`, so that tallyd starts again. Returns that path, or "" when
// nothing was recorded.
Result<std::string> SetRecordedDamageAside(const std::string& log_dir);

}  // namespace tally::tools
