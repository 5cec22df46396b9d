// The partner-center seed flow, command by command, against a real log.
#include <gtest/gtest.h>

#include "engine/domain/password.h"
#include "events/codec.h"
#include "tests/engine/domain/domain_fixture.h"

namespace tally::domain {
namespace {

using namespace tally::testing;  // NOLINT

using SeedFlowTest = DomainFixture;

TEST_F(SeedFlowTest, AddCustomerWithTwoSubscriptionsIsOneAtomicAppend) {
  auto add = ValidAddCustomer("Contoso");
  add.line_items = {Item(offers::kBusinessBasic, 10), Item(offers::kE3, 25)};
  auto out = Ok(add, Meta("p1", "r1"));
  EXPECT_EQ(out.first_position, 1u);
  EXPECT_EQ(out.last_position, 5u)
      << "CustomerCreated, RelationshipEstablished, CustomerAgreementAccepted, 2 x SubscriptionCreated";
  EXPECT_EQ(out.admin_user_name, "admin@contoso.onmicrosoft.com") << "prefix lowercased";
  ASSERT_EQ(out.subscription_ids.size(), 2u);
  EXPECT_FALSE(out.order_id.empty());

  const CustomerState& s = StateOf(out.customer_id);
  EXPECT_EQ(s.domain, "contoso.onmicrosoft.com");
  EXPECT_EQ(s.version, 5u);
  ASSERT_EQ(s.agreements.size(), 1u);
  EXPECT_EQ(s.agreements[0].contact.email, add.agreement->email) << "the contact opens with the customer's key";
  ASSERT_EQ(s.partners.count("p1"), 1u);
  EXPECT_EQ(s.subscriptions.at(out.subscription_ids[0]).quantity, 10);
  EXPECT_EQ(s.subscriptions.at(out.subscription_ids[1]).friendly_name, "Office 365 E3");
  EXPECT_EQ(**log_->UniqueOwner("domain/contoso.onmicrosoft.com"), out.customer_id);

  // No event holds anything that looks like a password.
  auto events = log_->Read(1, 10);
  ASSERT_TRUE(events.ok());
  for (const auto& e : *events) {
    EXPECT_EQ(e.envelope.find("assword"), std::string::npos);
    auto env = events::VerifyEnvelope(e.envelope);
    ASSERT_TRUE(env.ok());
    EXPECT_EQ(events::View((*env)->request_id()), "r1");
    EXPECT_EQ(events::View((*env)->customer_id()), out.customer_id);
  }
}

TEST_F(SeedFlowTest, TheWholeSeedFlow) {
  auto add = ValidAddCustomer("fabrikam");
  add.line_items = {Item(offers::kBusinessBasic, 5), Item(offers::kE3, 20)};
  auto created = Ok(add, Meta("p1"));
  const std::string c = created.customer_id;
  const std::string basic = created.subscription_ids[0], e3 = created.subscription_ids[1];

  // An add-on on the Basic subscription, in its order.
  AddAddOn addon{c, created.order_id, {Item(offers::kTeamsPhone, 5, basic)}};
  auto added = Ok(addon, Meta("p1"));
  ASSERT_EQ(added.subscription_ids.size(), 1u);
  const std::string phone = added.subscription_ids[0];
  EXPECT_EQ(StateOf(c).subscriptions.at(phone).parent_id, basic);

  // Quantity change.
  UpdateSubscription more{c, e3};
  more.quantity = 30;
  Ok(more, Meta("p1"));
  EXPECT_EQ(StateOf(c).subscriptions.at(e3).quantity, 30);

  // Suspending the parent suspends its add-on; reactivation is one by one.
  UpdateSubscription suspend{c, basic};
  suspend.status = SubscriptionStatus::kSuspended;
  Ok(suspend, Meta("p1"));
  EXPECT_EQ(StateOf(c).subscriptions.at(phone).status, SubscriptionStatus::kSuspended);
  UpdateSubscription reactivate{c, basic};
  reactivate.status = SubscriptionStatus::kActive;
  Ok(reactivate, Meta("p1"));
  EXPECT_EQ(StateOf(c).subscriptions.at(basic).status, SubscriptionStatus::kActive);
  EXPECT_EQ(StateOf(c).subscriptions.at(phone).status, SubscriptionStatus::kSuspended);
  UpdateSubscription reactivate_phone{c, phone};
  reactivate_phone.status = SubscriptionStatus::kActive;
  Ok(reactivate_phone, Meta("p1"));
  EXPECT_EQ(StateOf(c).subscriptions.at(phone).status, SubscriptionStatus::kActive);

  // A second partner asks, the customer accepts, the partner sells.
  auto invited = Ok(RequestRelationship{c}, Meta("p2"));
  ASSERT_FALSE(invited.invitation_id.empty());
  EXPECT_EQ(StateOf(c).invitations.size(), 1u);
  Ok(AcceptRelationship{c, invited.invitation_id}, Meta("customer"));
  EXPECT_EQ(StateOf(c).partners.size(), 2u);
  EXPECT_TRUE(StateOf(c).invitations.empty());
  auto p2_order = Ok(CreateOrder{c, {Item(offers::kPowerBiPro, 3)}}, Meta("p2"));
  const std::string pbi = p2_order.subscription_ids[0];

  // Each partner sees only its own subscriptions.
  EXPECT_NE(StateOf(c).FindSubscription(pbi, "p2"), nullptr);
  EXPECT_EQ(StateOf(c).FindSubscription(pbi, "p1"), nullptr);
  EXPECT_EQ(StateOf(c).FindSubscription(basic, "p2"), nullptr);
  UpdateSubscription p1_touches_p2{c, pbi};
  p1_touches_p2.quantity = 4;
  auto refused = processor_->Execute(p1_touches_p2, Meta("p1"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kSubscriptionNotFound);

  // p2 ends its relationship once its subscriptions are cancelled.
  auto early = processor_->Execute(RemoveRelationship{c, "p2"}, Meta("p2"));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code(), ErrorCode::kActiveSubscriptionsRemain);
  UpdateSubscription cancel{c, pbi};
  cancel.status = SubscriptionStatus::kDeleted;
  Ok(cancel, Meta("p2"));
  Ok(RemoveRelationship{c, "p2"}, Meta("p2"));
  EXPECT_EQ(StateOf(c).partners.count("p2"), 0u);
}

TEST_F(SeedFlowTest, CancellingAParentCancelsItsAddOns) {
  auto add = ValidAddCustomer("northwind");
  add.line_items = {Item(offers::kBusinessBasic, 5)};
  auto created = Ok(add, Meta("p1"));
  const std::string basic = created.subscription_ids[0];
  // Two add-ons bought in one command: two subscriptions, in the order given.
  auto both = Ok(AddAddOn{created.customer_id, created.order_id,
                          {Item(offers::kTeamsPhone, 2, basic), Item(offers::kDefenderP1, 3, basic)}},
                 Meta("p1"));
  ASSERT_EQ(both.subscription_ids.size(), 2u);
  EXPECT_EQ(StateOf(created.customer_id).subscriptions.at(both.subscription_ids[0]).offer_id, offers::kTeamsPhone);
  EXPECT_EQ(StateOf(created.customer_id).subscriptions.at(both.subscription_ids[1]).quantity, 3);
  UpdateSubscription cancel{created.customer_id, basic};
  cancel.status = SubscriptionStatus::kDeleted;
  Ok(cancel, Meta("p1"));
  const auto& s = StateOf(created.customer_id);
  for (const auto& id : {basic, both.subscription_ids[0], both.subscription_ids[1]}) {
    EXPECT_EQ(s.subscriptions.at(id).status, SubscriptionStatus::kDeleted) << id;
  }
}

TEST_F(SeedFlowTest, ARetriedRequestReturnsTheFirstOutcomeAndAppendsNothing) {
  auto add = ValidAddCustomer("wingtip");
  add.line_items = {Item(offers::kE3, 5)};
  auto first = Ok(add, Meta("p1", "req-1"));
  const uint64_t head = log_->Head();
  auto again = Ok(add, Meta("p1", "req-1"));
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.customer_id, first.customer_id);
  EXPECT_EQ(again.subscription_ids, first.subscription_ids);
  EXPECT_EQ(again.admin_user_name, first.admin_user_name);
  EXPECT_EQ(log_->Head(), head);

  // A retried If-Match update replays instead of failing on the new etag.
  UpdateSubscription change{first.customer_id, first.subscription_ids[0]};
  change.quantity = 9;
  change.expected_version = StateOf(first.customer_id).version;
  Ok(change, Meta("p1", "req-2"));
  auto retry = Ok(change, Meta("p1", "req-2"));
  EXPECT_TRUE(retry.replayed);
  EXPECT_EQ(StateOf(first.customer_id).subscriptions.at(first.subscription_ids[0]).quantity, 9);
}

TEST_F(SeedFlowTest, CheckDomainAvailability) {
  EXPECT_TRUE(*processor_->IsDomainAvailable("litware.onmicrosoft.com"));
  Ok(ValidAddCustomer("Litware"), Meta("p1"));
  EXPECT_FALSE(*processor_->IsDomainAvailable("litware.onmicrosoft.com"));
  EXPECT_FALSE(*processor_->IsDomainAvailable("LITWARE.onmicrosoft.com")) << "case-insensitive";
  EXPECT_TRUE(*processor_->IsDomainAvailable("litware2.onmicrosoft.com"));
  for (const char* bad : {"litware.com", ".onmicrosoft.com", "lit-ware.onmicrosoft.com",
                          "litware.onmicrosoft.com.evil", ""}) {
    auto r = processor_->IsDomainAvailable(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidDomainPrefix) << bad;
  }
}

TEST_F(SeedFlowTest, RequestIdsArePerPartner) {
  auto a = Ok(ValidAddCustomer("alpha"), Meta("p1", "same-id"));
  auto b = Ok(ValidAddCustomer("bravo"), Meta("p2", "same-id"));
  EXPECT_FALSE(b.replayed) << "another partner's request, not a retry";
  EXPECT_NE(a.customer_id, b.customer_id);
  auto reused = processor_->Execute(ValidAddCustomer("charlie"), Meta("p1", "same-id"));
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code(), ErrorCode::kRequestIdReused);
}

TEST_F(SeedFlowTest, AChangeThatChangesNothingAppendsNothing) {
  auto add = ValidAddCustomer("tailspin");
  add.line_items = {Item(offers::kE3, 5)};
  auto created = Ok(add, Meta("p1"));
  const uint64_t head = log_->Head();
  UpdateSubscription same{created.customer_id, created.subscription_ids[0]};
  same.quantity = 5;
  same.status = SubscriptionStatus::kActive;
  auto out = Ok(same, Meta("p1"));
  EXPECT_EQ(out.first_position, 0u);
  EXPECT_EQ(log_->Head(), head);
}

TEST_F(SeedFlowTest, StateRebuiltFromTheLogEqualsTheCachedState) {
  auto add = ValidAddCustomer("adatum");
  add.line_items = {Item(offers::kBusinessBasic, 5), Item(offers::kE3, 7)};
  auto created = Ok(add, Meta("p1"));
  UpdateSubscription suspend{created.customer_id, created.subscription_ids[1]};
  suspend.status = SubscriptionStatus::kSuspended;
  Ok(suspend, Meta("p1"));
  const CustomerState live = StateOf(created.customer_id);
  CommandProcessor fresh(*log_, *catalog_, Instance::kGlobal, ids_);
  auto rebuilt = fresh.State(created.customer_id);
  ASSERT_TRUE(rebuilt.ok());
  ASSERT_NE(*rebuilt, nullptr);
  EXPECT_EQ(**rebuilt, live);
}

TEST_F(SeedFlowTest, UsGovSellsItsOwnCatalogAndRefusesMultipartner) {
  Open(Instance::kUsGov);
  auto add = ValidAddCustomer("agency");
  add.line_items = {Item(offers::kG3Gcc, 50)};
  auto with_agreement = processor_->Execute(add, Meta("p1"));
  ASSERT_FALSE(with_agreement.ok());
  EXPECT_EQ(with_agreement.error().code(), ErrorCode::kAgreementNotAvailable) << "no customer agreements in usgov";
  add.agreement.reset();  // and none needed to buy
  auto created = Ok(add, Meta("p1"));
  EXPECT_EQ(StateOf(created.customer_id).instance, Instance::kUsGov);
  Ok(AddAddOn{created.customer_id, created.order_id, {Item(offers::kGccAudio, 10, created.subscription_ids[0])}},
     Meta("p1"));
  auto global_offer = processor_->Execute(CreateOrder{created.customer_id, {Item(offers::kE3, 1)}}, Meta("p1"));
  ASSERT_FALSE(global_offer.ok());
  EXPECT_EQ(global_offer.error().code(), ErrorCode::kOfferNotInInstance);
  auto request = processor_->Execute(RequestRelationship{created.customer_id}, Meta("p2"));
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.error().code(), ErrorCode::kMultipartnerNotAvailable);
}

TEST(PasswordTest, AdminPasswordsAreLongMixedAndDifferent) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto p = GenerateAdminPassword();
    ASSERT_TRUE(p.ok());
    EXPECT_GE(p->size(), 16u);
    EXPECT_TRUE(std::any_of(p->begin(), p->end(), ::isupper));
    EXPECT_TRUE(std::any_of(p->begin(), p->end(), ::islower));
    EXPECT_TRUE(std::any_of(p->begin(), p->end(), ::isdigit));
    EXPECT_TRUE(std::any_of(p->begin(), p->end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }));
    seen.insert(*p);
  }
  EXPECT_EQ(seen.size(), 200u);
}

}  // namespace
}  // namespace tally::domain
