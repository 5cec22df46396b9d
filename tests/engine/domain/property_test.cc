// Property test: random command sequences (fixed, printed seed) keep the
// domain's invariants after every step, and every customer's state rebuilt
// from the log equals the live state at the end.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "engine/chain_verifier.h"
#include "tests/engine/domain/domain_fixture.h"

namespace tally::domain {
namespace {

using namespace tally::testing;  // NOLINT

class PropertyTest : public DomainFixture {
 protected:
  void CheckInvariants(const std::vector<std::string>& customers, const std::string& when) {
    std::map<std::string, std::string> domains;
    for (const auto& id : customers) {
      const CustomerState& s = StateOf(id);
      ASSERT_TRUE(s.exists) << when;
      // One customer per domain, and the log's reservation names it.
      ASSERT_TRUE(domains.emplace(s.domain, id).second) << when << ": domain " << s.domain << " twice";
      auto owner = log_->UniqueOwner(DomainKey(s.domain));
      ASSERT_TRUE(owner.ok() && owner->has_value()) << when;
      EXPECT_EQ(**owner, id) << when;
      // Every customer keeps a partner; invitations are from other partners.
      EXPECT_FALSE(s.partners.empty()) << when;
      for (const auto& [inv_id, inv] : s.invitations) {
        EXPECT_EQ(s.partners.count(inv.partner_id), 0u) << when;
      }
      for (const auto& [sub_id, sub] : s.subscriptions) {
        const Offer* offer = catalog_->Find(sub.offer_id);
        ASSERT_NE(offer, nullptr) << when;
        // Quantities within bounds.
        EXPECT_GE(sub.quantity, offer->min_quantity) << when << " " << sub_id;
        EXPECT_LE(sub.quantity, offer->max_quantity) << when << " " << sub_id;
        EXPECT_EQ(offer->is_add_on, !sub.parent_id.empty()) << when;
        // Add-ons never outlive an active parent.
        if (!sub.parent_id.empty()) {
          const Subscription& parent = s.subscriptions.at(sub.parent_id);
          EXPECT_TRUE(offer->HasPrerequisite(parent.offer_id)) << when;
          EXPECT_EQ(parent.partner_id, sub.partner_id) << when;
          if (sub.status == SubscriptionStatus::kActive) {
            EXPECT_EQ(parent.status, SubscriptionStatus::kActive) << when << ": add-on " << sub_id;
          }
          if (parent.status == SubscriptionStatus::kDeleted) {
            EXPECT_EQ(sub.status, SubscriptionStatus::kDeleted) << when;
          }
        }
        // A partner without a relationship has nothing active here.
        if (s.partners.count(sub.partner_id) == 0) {
          EXPECT_NE(sub.status, SubscriptionStatus::kActive) << when;
        }
      }
    }
  }
};

TEST_F(PropertyTest, RandomCommandSequencesKeepTheInvariants) {
  tools::Workload workload(TestSeed());
  size_t accepted = 0, rejected = 0;
  constexpr int kSteps = 1500;
  for (int step = 0; step < kSteps; ++step) {
    auto [command, meta] = workload.Next(*processor_);
    auto result = processor_->Execute(command, meta);
    workload.Learn(command, result);
    if (result.ok()) {
      ++accepted;
    } else {
      ++rejected;
      EXPECT_LT(HttpStatus(result.error().code()), 500) << result.error().ToString();
    }
    CheckInvariants(workload.customers(), "step " + std::to_string(step) + " (" + CommandName(command) + ")");
    if (HasFatalFailure()) return;
  }
  const auto& customers = workload.customers();
  std::printf("[ property ] %d steps: %zu accepted, %zu rejected, %zu customers, log head %llu\n", kSteps,
              accepted, rejected, customers.size(), static_cast<unsigned long long>(log_->Head()));
  EXPECT_GT(accepted, kSteps / 4u) << "the generator should mostly produce valid commands";
  EXPECT_GT(rejected, 0u);

  // Replayed from the log, every customer equals the live state.
  CommandProcessor fresh(*log_, *catalog_, Instance::kGlobal, ids_);
  for (const auto& id : customers) {
    auto rebuilt = fresh.State(id);
    ASSERT_TRUE(rebuilt.ok());
    ASSERT_NE(*rebuilt, nullptr);
    EXPECT_EQ(**rebuilt, StateOf(id)) << id;
  }
  auto report = VerifyChain(*log_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->reason;
}

}  // namespace
}  // namespace tally::domain
