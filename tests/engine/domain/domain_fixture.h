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

namespace tally::testing {

namespace offers {
inline const std::string kBusinessBasic = "3b555118-da6a-4418-894f-7df1e2096870";    // 1-300
inline const std::string kBusinessStandard = "f245ecc8-75af-4f8e-b61f-27d8114de5f3";
inline const std::string kE3 = "6fd2c87f-b296-42f0-b197-1e91e994b900";               // 1-500000
inline const std::string kAzurePlan = "dcb9f1e9-1bb5-4d43-9a8d-6c6a1c1a7e4a";        // 1-1, monthly
inline const std::string kPowerBiPro = "f8a1db68-be16-40ed-86d5-cb42ce701560";
inline const std::string kAudioConferencing = "0c5d2bd6-5ee1-4f4b-ac57-1b44cc33a47e";  // not on Basic
inline const std::string kTeamsPhone = "d0d3ce6b-8f2c-44c8-a5a0-6ffa6f1d4d71";       // on Basic, E3
inline const std::string kDefenderP1 = "e0a2a1a4-5c9b-43fe-a8f1-fbd12a4e3f08";       // on Basic
inline const std::string kG3Gcc = "535a3a29-c5f0-42fe-8215-d3b9e1f38c4a";            // usgov
inline const std::string kGccAudio = "7e1c3a5b-2f4d-4e6a-8b9c-0d1e2f3a4b5c";         // usgov add-on
}  // namespace offers

inline domain::AddCustomer ValidAddCustomer(const std::string& prefix) {
  domain::AddCustomer c;
  c.domain_prefix = prefix;
  c.company_name = "Contoso Ltd";
  c.billing.email = "ada@contoso.example";
  c.billing.culture = "en-US";
  c.billing.language = "en";
  c.billing.company_name = "Contoso Ltd";
  c.billing.default_address = {"Ada", "Lovelace", "1 Microsoft Way", "", "", "Redmond", "WA",
                               "98052", "US", "425 555 0100"};
  return c;
}

inline domain::LineItem Item(const std::string& offer, int64_t quantity, const std::string& parent = "") {
  domain::LineItem i;
  i.offer_id = offer;
  i.quantity = quantity;
  i.parent_subscription_id = parent;
  return i;
}

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
    auto log = RocksDbEventLog::Open(dir_.Sub(std::string(domain::InstanceName(instance))));
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
  domain::RandomIdSource ids_{42};
  std::unique_ptr<domain::Catalog> catalog_;
  std::unique_ptr<RocksDbEventLog> log_;
  std::unique_ptr<CommandProcessor> processor_;
};

}  // namespace tally::testing
