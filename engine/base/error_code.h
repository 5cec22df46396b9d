// Stable numeric error codes. Codes are part of the public API (HTTP bodies,
// CLI exit messages): never renumber, only add.
//
// Engine codes live in 90000-90999. Domain codes (issue 3) follow the Partner
// Center numbering where one exists.
#pragma once

#include <cstdint>
#include <string_view>

namespace tally {

enum class ErrorCode : int32_t {
  kOk = 0,
  // Storage and engine.
  kIoError = 90001,            // the disk or RocksDB failed; nothing was acknowledged
  kCorruption = 90002,         // stored bytes do not verify
  kNotFound = 90003,           // no such position, stream or key
  kInvalidArgument = 90004,    // a malformed request to the engine
  kWrongExpectedVersion = 90005,  // optimistic concurrency conflict (HTTP 412)
  kRequestIdReused = 90006,    // same request id, different request body (HTTP 409)
  kUniqueKeyTaken = 90007,     // a reserved unique key (e.g. a domain) is already owned
  kShuttingDown = 90008,       // the writer no longer accepts commands
  kFormatMismatch = 90009,     // data folder written by an incompatible version
  kBusy = 90010,               // queue full; retry later (HTTP 503)
  kInvalidCatalog = 90011,     // the offer catalog file is malformed (start-up error)
};

// "io_error", "wrong_expected_version", ... (stable, snake_case).
std::string_view ErrorCodeName(ErrorCode code);

}  // namespace tally
