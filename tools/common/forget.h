// tallyctl forget: erase a customer's personal data (issue 7). The
// ForgetCustomer command appends CustomerPersonalDataErased and destroys the
// customer's key in the same write; then the copies RocksDB may still hold
// (WAL files, older table files of the key and of the customer's read-model
// row) are flushed and compacted away. Used by tallyd's control socket and
// by tallyctl on a stopped data folder.
#pragma once

#include <cstdint>
#include <string>

#include "engine/base/result.h"
#include "engine/rocksdb_event_log.h"
#include "projections/store.h"

namespace tally::tools {

struct ForgetResult {
  std::string customer_id;
  uint64_t position = 0;  // of the CustomerPersonalDataErased event
  bool erased_before = false;  // nothing appended: the key was destroyed earlier
};

// After the erasure of `customer_id` is durable and (when `store` is given)
// the customer model has applied it: erases the personal part of the
// fingerprints of the customer's stored requests (domain/fingerprint.h),
// then flushes and compacts the log's keys and requests and the customer
// model's rows.
Status PurgeErasedCopies(RocksDbEventLog& log, projections::ProjectionStore* store, const std::string& customer_id);

// "forget <customer> <reason>": the control socket's request line, and back.
std::string ForgetRequest(const std::string& customer, const std::string& reason);

// The answer line: "ok <customer id> <position> <0|1 erased before>".
std::string ForgetAnswer(const ForgetResult& result);
Result<ForgetResult> ParseForgetAnswer(const std::string& line);

}  // namespace tally::tools
