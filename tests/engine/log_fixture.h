// A RocksDB event log in a temporary folder, plus helpers to build requests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/rocksdb_event_log.h"
#include "events/samples.h"
#include "tests/testing/test_util.h"

namespace tally::testing {

class LogFixture : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    log_.reset();
    RocksDbEventLogOptions options;
    options.clock = &clock_;
    auto opened = RocksDbEventLog::Open(dir_.Sub("log"), options);
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    log_ = std::move(*opened);
  }

  // A request with `n` events on customer `c`'s stream.
  AppendRequest Request(const std::string& c, int n, const std::string& request_id = "") {
    AppendRequest r;
    r.request_id = request_id;
    r.fingerprint = "fp-" + request_id;
    for (int i = 0; i < n; ++i) {
      r.events.push_back(i == 0 ? samples_.CustomerCreated(c, request_id)
                                : samples_.SubscriptionCreated(c, request_id, i));
    }
    r.outcome = "outcome-" + request_id;
    return r;
  }

  Result<AppendOutcome> AppendOne(AppendRequest r) {
    std::vector<AppendRequest> batch;
    batch.push_back(std::move(r));
    auto results = log_->AppendBatch(batch);
    return std::move(results[0]);
  }

  TempDir dir_;
  ManualClock clock_;
  events::SampleEvents samples_{42};
  std::unique_ptr<RocksDbEventLog> log_;
};

}  // namespace tally::testing
