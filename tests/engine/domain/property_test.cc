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
  const uint64_t seed = TestSeed();
  std::mt19937_64 rng(seed);
  auto pick = [&](auto& v) -> auto& { return v[rng() % v.size()]; };
  const std::vector<std::string> partners = {"p1", "p2", "p3"};
  const std::vector<std::string> base_offers = {offers::kBusinessBasic, offers::kBusinessStandard, offers::kE3,
                                                offers::kPowerBiPro, offers::kAzurePlan};
  const std::vector<std::string> add_on_offers = {offers::kTeamsPhone, offers::kDefenderP1,
                                                  offers::kAudioConferencing};
  std::vector<std::string> customers;
  size_t accepted = 0, rejected = 0;
  constexpr int kSteps = 1500;
  for (int step = 0; step < kSteps; ++step) {
    std::string partner = pick(partners);
    Command command;
    const int kind = customers.empty() ? 0 : static_cast<int>(rng() % 10);
    // Quantities sometimes off the offer's range: rejections must change nothing.
    auto quantity = [&] { return static_cast<int64_t>(rng() % 12 == 0 ? 400 : 1 + rng() % 20); };
    if (kind == 0) {
      auto add = ValidAddCustomer("c" + std::to_string(rng() % 40));  // domains collide on purpose
      for (size_t i = rng() % 4; i > 0; --i) add.line_items.push_back(Item(pick(base_offers), quantity()));
      command = add;
    } else {
      const std::string& c = pick(customers);
      const CustomerState& s = StateOf(c);
      std::vector<std::string> subs;
      for (const auto& [id, sub] : s.subscriptions) subs.push_back(id);
      const std::string sub = subs.empty() ? "none" : pick(subs);
      // Mostly act as the partner that owns the subscription (or serves the
      // customer), so that commands get past the visibility checks.
      if (rng() % 5 != 0) {
        if (auto it = s.subscriptions.find(sub); it != s.subscriptions.end() && kind >= 2 && kind <= 5) {
          partner = it->second.partner_id;
        } else if (!s.partners.empty() && kind != 6) {
          partner = s.partners.begin()->first;
        }
      }
      switch (kind) {
        case 1: command = CreateOrder{c, {Item(pick(base_offers), quantity())}}; break;
        case 2: {
          const auto it = s.subscriptions.find(sub);
          command = AddAddOn{c, it == s.subscriptions.end() ? "none" : it->second.order_id,
                             Item(pick(add_on_offers), quantity(), sub)};
          break;
        }
        case 3: command = UpdateSubscription{c, sub, quantity(), {}, {}, {}, {}}; break;
        case 4: {
          static const SubscriptionStatus kStatuses[] = {SubscriptionStatus::kActive, SubscriptionStatus::kSuspended,
                                                         SubscriptionStatus::kActive, SubscriptionStatus::kSuspended,
                                                         SubscriptionStatus::kDeleted};
          command = UpdateSubscription{c, sub, {}, kStatuses[rng() % 5], {}, {}, {}};
          break;
        }
        case 5: command = UpdateSubscription{c, sub, {}, {}, "Team " + std::to_string(rng() % 5), rng() % 2 == 0, {}}; break;
        case 6: command = RequestRelationship{c}; break;
        case 7: {
          if (s.invitations.empty()) { command = RequestRelationship{c}; break; }
          command = AcceptRelationship{c, s.invitations.begin()->first};
          break;
        }
        case 8: command = RemoveRelationship{c, pick(partners), rng() % 2 == 0}; break;
        default: {
          auto b = s.billing;
          b.default_address.city = "City " + std::to_string(rng() % 9);
          command = UpdateBillingProfile{c, b, rng() % 3 == 0 ? std::optional<uint64_t>(s.version) : std::nullopt};
        }
      }
    }
    auto result = processor_->Execute(command, Meta(partner, "s" + std::to_string(step)));
    if (result.ok()) {
      ++accepted;
      if (std::holds_alternative<AddCustomer>(command)) customers.push_back(result->customer_id);
    } else {
      ++rejected;
      EXPECT_LT(HttpStatus(result.error().code()), 500) << result.error().ToString();
    }
    CheckInvariants(customers, "step " + std::to_string(step) + " (" + CommandName(command) + ")");
    if (HasFatalFailure()) return;
  }
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
