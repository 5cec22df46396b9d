// The head mark: a small file beside the event log recording the highest
// position the log has made durable and the chain hash the writer computed
// for it. It is a witness outside RocksDB's write-ahead log: if damage to
// the WAL loses acknowledged events (a cut tail: RocksDB's recovery cannot
// tell a cut from a torn write), the log's head falls below the mark; if
// the event at the mark was changed, its stored hash differs from the
// mark's. Layout (64 bytes, written twice, slots A at 0 and B at 64 in
// turn): "tallyhm1", position (8 bytes big-endian), hash (32), the first 16
// bytes of SHA-256 of the 48 before them. The valid slot with the higher
// position counts, so a torn write of one slot loses nothing.
//
// Written by the log's commit thread after each durable commit (one pwrite
// into the page cache: it survives a killed process) and synced at most
// once a second and when the log closes; after a power loss the mark may
// be up to a second old, never ahead of what was synced.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "engine/base/result.h"
#include "engine/chain_hash.h"

namespace tally {

struct HeadMarkEntry {
  uint64_t position = 0;
  ChainDigest hash{};
};

// The mark's file name inside the log folder.
inline constexpr char kHeadMarkFile[] = "TALLY-HEAD-MARK";

// The mark in `log_dir`: nullopt when there is none (a log written before
// marks, a restored backup); kCorruption when neither slot is valid.
Result<std::optional<HeadMarkEntry>> ReadHeadMark(const std::string& log_dir);

// The writer's side. One thread (the log's commit thread) calls Record;
// not thread-safe otherwise.
class HeadMarkWriter {
 public:
  // Opens (creating, mode 0600) the mark in `log_dir`. A mark never goes
  // back: Record ignores a position below the one the file held at Open
  // (a log opened after damage must not erase the witness of it).
  static Result<std::unique_ptr<HeadMarkWriter>> Open(const std::string& log_dir);
  ~HeadMarkWriter();  // syncs
  HeadMarkWriter(const HeadMarkWriter&) = delete;
  HeadMarkWriter& operator=(const HeadMarkWriter&) = delete;

  // Records `entry` (call only once it is durable in the log); syncs the
  // file when the last sync is a second old or `sync` is set.
  Status Record(const HeadMarkEntry& entry, bool sync = false);

 private:
  HeadMarkWriter(int fd, uint64_t floor) : fd_(fd), floor_(floor) {}
  int fd_;
  uint64_t floor_;  // the position the file held at Open
  uint64_t writes_ = 0;
  int64_t last_sync_ns_ = 0;
};

}  // namespace tally
