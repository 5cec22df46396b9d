#include "tools/common/forget.h"

#include <sstream>

#include "engine/command_processor.h"

namespace tally::tools {

Status PurgeErasedCopies(RocksDbEventLog& log, projections::ProjectionStore* store, const std::string& customer_id) {
  auto scrubbed = log.ScrubRequestFingerprints([&](const RequestRecord& r) {
    auto outcome = CommandOutcome::Decode(r.outcome);
    return outcome.ok() && outcome->customer_id == customer_id;
  });
  if (!scrubbed.ok()) return scrubbed.error();
  TALLY_RETURN_IF_ERROR(log.PurgeDestroyedKeys());
  if (store == nullptr || store->read_only()) return OkStatus();
  return store->Purge("customer");
}

std::string ForgetRequest(const std::string& customer, const std::string& reason) {
  std::string line = "forget " + customer + " " + reason;
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return line;
}

std::string ForgetAnswer(const ForgetResult& r) {
  return "ok " + r.customer_id + " " + std::to_string(r.position) + " " + (r.erased_before ? "1" : "0");
}

Result<ForgetResult> ParseForgetAnswer(const std::string& line) {
  std::istringstream in(line);
  std::string ok;
  ForgetResult r;
  int before = 0;
  if (!(in >> ok >> r.customer_id >> r.position >> before) || ok != "ok") {
    return Error(ErrorCode::kInvalidArgument, line.rfind("error ", 0) == 0 ? line.substr(6) : line);
  }
  r.erased_before = before != 0;
  return r;
}

}  // namespace tally::tools
