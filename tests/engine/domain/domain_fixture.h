// A real event log in a temporary folder behind a CommandProcessor, the
// shipped catalog, seeded ids, and builders for valid commands.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/command_processor.h"
#include "engine/domain/catalog.h"
#include "engine/rocksdb_event_log.h"
#include "tests/testing/test_util.h"
#include "tools/common/workload.h"

namespace tally::testing {

// The offers and command builders tests share with the workload generator.
namespace offers = tally::tools::offers;
using tally::tools::Item;
using tally::tools::ValidAddCustomer;

inline domain::CommandMeta Meta(const std::string& partner, const std::string& request_id = "") {
  return domain::CommandMeta{partner, request_id, "corr-" + request_id};
}

class DomainFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto catalog = domain::Catalog::Load(TALLY_OFFERS_JSON);
    ASSERT_TRUE(catalog.ok()) << catalog.error().ToString();
    catalog_ = std::make_unique<domain::Catalog>(std::move(*catalog));
    Open(domain::Instance::kGlobal);
  }

  void Open(domain::Instance instance) {
    processor_.reset();
    log_.reset();
    RocksDbEventLogOptions options;
    options.file_system = file_system_;
    auto log = RocksDbEventLog::Open(dir_.Sub(std::string(domain::InstanceName(instance))), options);
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    log_ = std::move(*log);
    processor_ = std::make_unique<CommandProcessor>(*log_, *catalog_, instance, ids_);
  }

  CommandOutcome Ok(const domain::Command& c, const domain::CommandMeta& m) {
    auto r = processor_->Execute(c, m);
    EXPECT_TRUE(r.ok()) << domain::CommandName(c) << ": " << r.error().ToString();
    return r.ok() ? *r : CommandOutcome{};
  }

  const domain::CustomerState& StateOf(const std::string& customer_id) {
    auto s = processor_->State(customer_id);
    EXPECT_TRUE(s.ok() && *s != nullptr);
    return **s;
  }

  TempDir dir_;
  std::shared_ptr<rocksdb::FileSystem> file_system_;  // null: the disk (set before Open)
  domain::RandomIdSource ids_{42};
  std::unique_ptr<domain::Catalog> catalog_;
  std::unique_ptr<RocksDbEventLog> log_;
  std::unique_ptr<CommandProcessor> processor_;
};

}  // namespace tally::testing
