#include "engine/base/result.h"

namespace tally {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kIoError: return "io_error";
    case ErrorCode::kCorruption: return "corruption";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kWrongExpectedVersion: return "wrong_expected_version";
    case ErrorCode::kRequestIdReused: return "request_id_reused";
    case ErrorCode::kUniqueKeyTaken: return "unique_key_taken";
    case ErrorCode::kShuttingDown: return "shutting_down";
    case ErrorCode::kFormatMismatch: return "format_mismatch";
    case ErrorCode::kBusy: return "busy";
    case ErrorCode::kInvalidCatalog: return "invalid_catalog";
  }
  return "unknown";
}

std::string Error::ToString() const {
  std::string out(ErrorCodeName(code_));
  out += " (";
  out += std::to_string(static_cast<int32_t>(code_));
  out += "): ";
  out += message_;
  return out;
}

}  // namespace tally
