// Converts a rocksdb::Status to tally's Error, once, at the boundary where
// RocksDB is called (the event log, the projection store, tools).
#pragma once

#include <rocksdb/status.h>

#include <string_view>

#include "engine/base/result.h"

namespace tally {

// `what` says what was being done ("opening the projection store at ...").
inline Error FromRocks(const rocksdb::Status& s, std::string_view what) {
  ErrorCode code = ErrorCode::kIoError;
  if (s.IsCorruption()) code = ErrorCode::kCorruption;
  if (s.IsNotFound()) code = ErrorCode::kNotFound;
  if (s.IsInvalidArgument()) code = ErrorCode::kInvalidArgument;
  if (s.IsNoSpace()) code = ErrorCode::kStorageFull;
  return Error(code, std::string(what) + ": " + s.ToString());
}

}  // namespace tally
