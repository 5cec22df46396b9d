// The value of a `requests` entry (events/FORMAT.md): what the log stores
// for an applied request id, written by staging and read by lookups and
// erasure.
#pragma once

#include <string>
#include <string_view>

#include "engine/base/result.h"
#include "engine/event_log.h"
#include "engine/log_format.h"

namespace tally::log_format {

// requests value: first position (8 BE), last position (8 BE), fingerprint
// length (2 BE), fingerprint, outcome.
inline std::string EncodeRequestRecord(uint64_t first, uint64_t last, std::string_view fingerprint,
                                       std::string_view outcome) {
  std::string v;
  v.reserve(18 + fingerprint.size() + outcome.size());
  PutBigEndian64(v, first);
  PutBigEndian64(v, last);
  v.push_back(static_cast<char>(fingerprint.size() >> 8));
  v.push_back(static_cast<char>(fingerprint.size() & 0xff));
  v.append(fingerprint);
  v.append(outcome);
  return v;
}

inline Result<RequestRecord> DecodeRequestRecord(std::string_view v) {
  if (v.size() < 18) return Error(ErrorCode::kCorruption, "request record too short");
  RequestRecord r;
  r.first_position = GetBigEndian64(v.substr(0, 8));
  r.last_position = GetBigEndian64(v.substr(8, 8));
  size_t fp_len = (static_cast<uint8_t>(v[16]) << 8) | static_cast<uint8_t>(v[17]);
  if (v.size() < 18 + fp_len) return Error(ErrorCode::kCorruption, "request record truncated");
  r.fingerprint = std::string(v.substr(18, fp_len));
  r.outcome = std::string(v.substr(18 + fp_len));
  return r;
}

}  // namespace tally::log_format
