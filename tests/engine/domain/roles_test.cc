// Who may issue which command in a multipartner customer (issue 17, item 8).
// Every command against every role: the partner of record (created the
// customer), an invited reseller (its invitation accepted), a partner whose
// invitation is pending, and a stranger. Each case runs on a world of its
// own, so an accepted case cannot hide a refused one.
#include <gtest/gtest.h>

#include <functional>

#include "tests/engine/domain/domain_fixture.h"

namespace tally::domain {
namespace {

using namespace tally::testing;  // NOLINT

// The world every case starts from.
struct World {
  std::string customer, record_order, record_sub, invited_order, invited_sub, pending_invitation;
};

enum Role { kRecord, kInvited, kPending, kStranger };
const char* const kPartner[] = {"record", "invited", "pending", "stranger"};

struct Case {
  std::string name;
  std::function<Command(const World&, const std::string& partner)> command;
  ErrorCode expected[4];  // per Role; kOk: accepted
};

class RolesTest : public DomainFixture {
 protected:
  World Build(int n) {
    // A fresh log per case.
    processor_.reset();
    log_.reset();
    auto log = RocksDbEventLog::Open(dir_.Sub("case-" + std::to_string(n)));
    EXPECT_TRUE(log.ok());
    log_ = std::move(*log);
    processor_ = std::make_unique<CommandProcessor>(*log_, *catalog_, Instance::kGlobal, ids_);
    World w;
    auto add = ValidAddCustomer("shared");
    add.line_items = {Item(offers::kBusinessBasic, 5)};
    auto created = Ok(add, Meta(kPartner[kRecord]));
    w.customer = created.customer_id;
    w.record_order = created.order_id;
    w.record_sub = created.subscription_ids[0];
    auto inv = Ok(RequestRelationship{w.customer}, Meta(kPartner[kInvited]));
    Ok(AcceptRelationship{w.customer, inv.invitation_id, true}, Meta(kPartner[kRecord]));
    auto order = Ok(CreateOrder{w.customer, {Item(offers::kBusinessBasic, 2)}}, Meta(kPartner[kInvited]));
    w.invited_order = order.order_id;
    w.invited_sub = order.subscription_ids[0];
    w.pending_invitation = Ok(RequestRelationship{w.customer}, Meta(kPartner[kPending])).invitation_id;
    return w;
  }
};

TEST_F(RolesTest, EveryCommandAgainstEveryRole) {
  constexpr ErrorCode kOk = ErrorCode::kOk;
  constexpr ErrorCode kHidden = ErrorCode::kCustomerNotFound;  // 404: no existence leak
  auto suspend = [](const World& w, const std::string& sub) {
    UpdateSubscription u{w.customer, sub};
    u.status = SubscriptionStatus::kSuspended;
    return u;
  };
  const std::vector<Case> cases = {
      {"replace the billing profile",
       [](const World& w, const std::string&) {
         return Command(UpdateBillingProfile{w.customer, ValidAddCustomer("x").billing, std::nullopt});
       },
       {kOk, ErrorCode::kNotPartnerOfRecord, kHidden, kHidden}},
      {"order a subscription",
       [](const World& w, const std::string&) { return Command(CreateOrder{w.customer, {Item(offers::kE3, 1)}}); },
       {kOk, kOk, kHidden, kHidden}},
      {"add an add-on to the partner of record's order",
       [](const World& w, const std::string&) {
         return Command(AddAddOn{w.customer, w.record_order, {Item(offers::kTeamsPhone, 1, w.record_sub)}});
       },
       {kOk, ErrorCode::kNotFound, kHidden, kHidden}},
      {"change the partner of record's subscription",
       [&](const World& w, const std::string&) { return Command(suspend(w, w.record_sub)); },
       {kOk, ErrorCode::kSubscriptionNotFound, kHidden, kHidden}},
      {"change the invited reseller's subscription",
       [&](const World& w, const std::string&) { return Command(suspend(w, w.invited_sub)); },
       {ErrorCode::kSubscriptionNotFound, kOk, kHidden, kHidden}},
      {"ask to serve the customer",
       [](const World& w, const std::string&) { return Command(RequestRelationship{w.customer}); },
       {ErrorCode::kRelationshipExists, ErrorCode::kRelationshipExists, kOk, kOk}},
      {"accept the pending invitation",
       [](const World& w, const std::string&) {
         return Command(AcceptRelationship{w.customer, w.pending_invitation, true});
       },
       {kOk, ErrorCode::kNotPartnerOfRecord, kHidden, kHidden}},
      {"end its own relationship (subscriptions active)",
       [](const World& w, const std::string& partner) {
         return Command(RemoveRelationship{w.customer, partner, false});
       },
       {ErrorCode::kActiveSubscriptionsRemain, ErrorCode::kActiveSubscriptionsRemain, kHidden, kHidden}},
      {"end another partner's relationship",
       [](const World& w, const std::string&) {
         return Command(RemoveRelationship{w.customer, kPartner[kInvited], false});
       },
       {kHidden, ErrorCode::kActiveSubscriptionsRemain, kHidden, kHidden}},
  };
  int n = 0;
  for (const auto& c : cases) {
    for (int role = kRecord; role <= kStranger; ++role) {
      const World w = Build(n++);
      const uint64_t head = log_->Head();
      const CustomerState before = StateOf(w.customer);
      auto r = processor_->Execute(c.command(w, kPartner[role]), Meta(kPartner[role]));
      const ErrorCode got = r.ok() ? ErrorCode::kOk : r.error().code();
      EXPECT_EQ(got, c.expected[role]) << c.name << " as " << kPartner[role] << ": "
                                       << (r.ok() ? "accepted" : r.error().ToString());
      if (!r.ok()) {
        EXPECT_EQ(log_->Head(), head) << c.name << " as " << kPartner[role] << " appended";
        EXPECT_TRUE(StateOf(w.customer) == before) << c.name << " as " << kPartner[role] << " changed the state";
      }
    }
  }
}

// The partner of record leaves last: its profile and its invitations need
// an owner. Once the invited reseller has gone, it may leave (as the last
// partner, it may not: a customer keeps one).
TEST_F(RolesTest, ThePartnerOfRecordEndsItsRelationshipLast) {
  const World w = Build(1000);
  for (const auto& [partner, sub] : {std::pair{kPartner[kRecord], w.record_sub}, std::pair{kPartner[kInvited], w.invited_sub}}) {
    UpdateSubscription u{w.customer, sub};
    u.status = SubscriptionStatus::kDeleted;
    Ok(u, Meta(partner));
  }
  auto early = processor_->Execute(RemoveRelationship{w.customer, kPartner[kRecord], false}, Meta(kPartner[kRecord]));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code(), ErrorCode::kPartnerOfRecordLeavesLast);
  EXPECT_EQ(HttpStatus(early.error().code()), 409);
  Ok(RemoveRelationship{w.customer, kPartner[kInvited], false}, Meta(kPartner[kInvited]));
  auto last = processor_->Execute(RemoveRelationship{w.customer, kPartner[kRecord], false}, Meta(kPartner[kRecord]));
  ASSERT_FALSE(last.ok());
  EXPECT_EQ(last.error().code(), ErrorCode::kLastRelationship);
}

}  // namespace
}  // namespace tally::domain
