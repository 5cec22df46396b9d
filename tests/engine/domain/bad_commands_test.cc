// Every way a command can be rejected: the exact code, nothing appended,
// and the customer's state unchanged. All cases run against one world, so
// a rejection that leaked a change would also break the cases after it.
#include <gtest/gtest.h>

#include <functional>

#include "tests/engine/domain/domain_fixture.h"

namespace tally::domain {
namespace {

using namespace tally::testing;  // NOLINT

struct Case {
  std::string name;
  std::function<Command()> command;
  CommandMeta meta;
  ErrorCode code;
};

class BadCommandsTest : public DomainFixture {
 protected:
  void SetUp() override {
    DomainFixture::SetUp();
    auto add = ValidAddCustomer("world");
    add.line_items = {Item(offers::kBusinessBasic, 5), Item(offers::kE3, 10), Item(offers::kAzurePlan, 1),
                      Item(offers::kBusinessBasic, 3), Item(offers::kE3, 4), Item(offers::kBusinessBasic, 2)};
    auto w = Ok(add, Meta("p1", "world-1"));
    c_ = w.customer_id;
    order_ = w.order_id;
    basic_ = w.subscription_ids[0];
    e3_ = w.subscription_ids[1];
    azure_ = w.subscription_ids[2];
    suspended_ = w.subscription_ids[3];
    deleted_ = w.subscription_ids[4];
    parent2_ = w.subscription_ids[5];
    phone_ = Ok(AddAddOn{c_, order_, {Item(offers::kTeamsPhone, 5, basic_)}}, Meta("p1")).subscription_ids[0];
    child2_ = Ok(AddAddOn{c_, order_, {Item(offers::kDefenderP1, 2, parent2_)}}, Meta("p1")).subscription_ids[0];
    UpdateSubscription s{c_, suspended_};
    s.status = SubscriptionStatus::kSuspended;
    Ok(s, Meta("p1"));
    UpdateSubscription d{c_, deleted_};
    d.status = SubscriptionStatus::kDeleted;
    Ok(d, Meta("p1"));
    UpdateSubscription s2{c_, parent2_};  // suspends child2_ too
    s2.status = SubscriptionStatus::kSuspended;
    Ok(s2, Meta("p1"));
    auto inv = Ok(RequestRelationship{c_}, Meta("p2"));
    Ok(AcceptRelationship{c_, inv.invitation_id}, Meta("customer"));
    p2_sub_ = Ok(CreateOrder{c_, {Item(offers::kPowerBiPro, 2)}}, Meta("p2")).subscription_ids[0];
    Ok(RequestRelationship{c_}, Meta("p3"));  // stays pending
    lonely_ = Ok(ValidAddCustomer("lonely"), Meta("p1")).customer_id;
  }

  AddCustomer Customer(std::function<void(AddCustomer&)> change) {
    auto a = ValidAddCustomer("fresh");
    change(a);
    return a;
  }
  UpdateSubscription Update(const std::string& sub, std::function<void(UpdateSubscription&)> change) {
    UpdateSubscription u{c_, sub};
    change(u);
    return u;
  }
  BillingProfileInput Billing(std::function<void(BillingProfileInput&)> change) {
    auto b = ValidAddCustomer("x").billing;
    change(b);
    return b;
  }

  std::string c_, order_, basic_, e3_, azure_, suspended_, deleted_, parent2_, phone_, child2_, p2_sub_,
      lonely_;
};

TEST_F(BadCommandsTest, EveryRejectionHasItsCodeAndChangesNothing) {
  const auto p1 = Meta("p1");
  const std::string long300(300, 'a');
  using S = SubscriptionStatus;
  std::vector<Case> cases = {
      // AddCustomer: domain
      {"empty prefix", [&] { return Customer([](auto& a) { a.domain_prefix = ""; }); }, p1, ErrorCode::kInvalidDomainPrefix},
      {"28-char prefix", [&] { return Customer([](auto& a) { a.domain_prefix = std::string(28, 'a'); }); }, p1, ErrorCode::kInvalidDomainPrefix},
      {"prefix with dash", [&] { return Customer([](auto& a) { a.domain_prefix = "con-toso"; }); }, p1, ErrorCode::kInvalidDomainPrefix},
      {"prefix with dot", [&] { return Customer([](auto& a) { a.domain_prefix = "contoso.com"; }); }, p1, ErrorCode::kInvalidDomainPrefix},
      {"non-ASCII prefix", [&] { return Customer([](auto& a) { a.domain_prefix = "caf\xc3\xa9"; }); }, p1, ErrorCode::kInvalidDomainPrefix},
      {"prefix with space", [&] { return Customer([](auto& a) { a.domain_prefix = "con toso"; }); }, p1, ErrorCode::kInvalidDomainPrefix},
      {"domain taken", [&] { return Customer([](auto& a) { a.domain_prefix = "world"; }); }, p1, ErrorCode::kDomainTaken},
      {"domain taken, other case", [&] { return Customer([](auto& a) { a.domain_prefix = "WoRlD"; }); }, p1, ErrorCode::kDomainTaken},
      // AddCustomer: company and billing profile
      {"blank company", [&] { return Customer([](auto& a) { a.company_name = "  "; }); }, p1, ErrorCode::kInvalidCompanyName},
      {"company too long", [&] { return Customer([&](auto& a) { a.company_name = long300; }); }, p1, ErrorCode::kFieldTooLong},
      {"NUL in the company name", [&] { return Customer([](auto& a) { a.company_name = std::string("Evil\0Corp", 9); }); }, p1, ErrorCode::kInvalidArgument},
      {"line break in a city", [&] { return Customer([](auto& a) { a.billing.default_address.city = "Red\nmond"; }); }, p1, ErrorCode::kInvalidArgument},
      {"email without @", [&] { return Customer([](auto& a) { a.billing.email = "ada.contoso.example"; }); }, p1, ErrorCode::kInvalidEmail},
      {"email with two @", [&] { return Customer([](auto& a) { a.billing.email = "a@b@contoso.example"; }); }, p1, ErrorCode::kInvalidEmail},
      {"email without dot", [&] { return Customer([](auto& a) { a.billing.email = "ada@localhost"; }); }, p1, ErrorCode::kInvalidEmail},
      {"empty email", [&] { return Customer([](auto& a) { a.billing.email = ""; }); }, p1, ErrorCode::kInvalidEmail},
      {"email with space", [&] { return Customer([](auto& a) { a.billing.email = "ada lovelace@contoso.example"; }); }, p1, ErrorCode::kInvalidEmail},
      {"culture with underscore", [&] { return Customer([](auto& a) { a.billing.culture = "en_US"; }); }, p1, ErrorCode::kInvalidCulture},
      {"culture in wrong case", [&] { return Customer([](auto& a) { a.billing.culture = "EN-us"; }); }, p1, ErrorCode::kInvalidCulture},
      {"three-letter language", [&] { return Customer([](auto& a) { a.billing.language = "eng"; }); }, p1, ErrorCode::kInvalidLanguage},
      {"empty language", [&] { return Customer([](auto& a) { a.billing.language = ""; }); }, p1, ErrorCode::kInvalidLanguage},
      {"blank billing company", [&] { return Customer([](auto& a) { a.billing.company_name = ""; }); }, p1, ErrorCode::kInvalidCompanyName},
      {"blank first name", [&] { return Customer([](auto& a) { a.billing.default_address.first_name = ""; }); }, p1, ErrorCode::kInvalidAddress},
      {"blank last name", [&] { return Customer([](auto& a) { a.billing.default_address.last_name = " "; }); }, p1, ErrorCode::kInvalidAddress},
      {"blank address line", [&] { return Customer([](auto& a) { a.billing.default_address.address_line1 = ""; }); }, p1, ErrorCode::kInvalidAddress},
      {"blank city", [&] { return Customer([](auto& a) { a.billing.default_address.city = ""; }); }, p1, ErrorCode::kInvalidAddress},
      {"blank postal code", [&] { return Customer([](auto& a) { a.billing.default_address.postal_code = ""; }); }, p1, ErrorCode::kInvalidAddress},
      {"US postal code with letters", [&] { return Customer([](auto& a) { a.billing.default_address.postal_code = "ABCDE"; }); }, p1, ErrorCode::kInvalidAddress},
      {"US postal code too short", [&] { return Customer([](auto& a) { a.billing.default_address.postal_code = "9805"; }); }, p1, ErrorCode::kInvalidAddress},
      {"US address without state", [&] { return Customer([](auto& a) { a.billing.default_address.state = ""; }); }, p1, ErrorCode::kInvalidAddress},
      {"three-letter country", [&] { return Customer([](auto& a) { a.billing.default_address.country = "USA"; }); }, p1, ErrorCode::kInvalidCountry},
      {"unassigned country", [&] { return Customer([](auto& a) { a.billing.default_address.country = "XX"; }); }, p1, ErrorCode::kInvalidCountry},
      {"lowercase country", [&] { return Customer([](auto& a) { a.billing.default_address.country = "us"; }); }, p1, ErrorCode::kInvalidCountry},
      {"no phone in HU", [&] { return Customer([](auto& a) { a.billing.default_address.phone_number = ""; a.billing.default_address.country = "HU"; }); }, p1, ErrorCode::kPhoneRequired},
      {"phone with letters", [&] { return Customer([](auto& a) { a.billing.default_address.phone_number = "call me"; }); }, p1, ErrorCode::kInvalidAddress},
      {"phone too short", [&] { return Customer([](auto& a) { a.billing.default_address.phone_number = "123"; }); }, p1, ErrorCode::kInvalidAddress},
      {"address line too long", [&] { return Customer([&](auto& a) { a.billing.default_address.address_line2 = long300; }); }, p1, ErrorCode::kFieldTooLong},
      {"India without registration number", [&] { return Customer([](auto& a) {
         a.billing.default_address.country = "IN"; a.billing.default_address.state = "KA";
         a.billing.default_address.postal_code = "560001"; }); }, p1, ErrorCode::kRegistrationNumberMissing},
      {"malformed registration number", [&] { return Customer([](auto& a) { a.registration_number = "!!"; }); }, p1, ErrorCode::kRegistrationNumberMalformed},
      // AddCustomer: first order
      {"unknown offer", [&] { return Customer([](auto& a) { a.line_items = {Item("no-such-offer", 1)}; }); }, p1, ErrorCode::kInvalidOffer},
      {"usgov offer in global", [&] { return Customer([](auto& a) { a.line_items = {Item(offers::kG3Gcc, 1)}; }); }, p1, ErrorCode::kOfferNotInInstance},
      {"zero quantity", [&] { return Customer([](auto& a) { a.line_items = {Item(offers::kE3, 0)}; }); }, p1, ErrorCode::kInvalidQuantity},
      {"negative quantity", [&] { return Customer([](auto& a) { a.line_items = {Item(offers::kE3, -5)}; }); }, p1, ErrorCode::kInvalidQuantity},
      {"quantity beyond int32", [&] { return Customer([](auto& a) { a.line_items = {Item(offers::kE3, int64_t{1} << 40)}; }); }, p1, ErrorCode::kInvalidQuantity},
      {"quantity above offer max", [&] { return Customer([](auto& a) { a.line_items = {Item(offers::kBusinessBasic, 301)}; }); }, p1, ErrorCode::kQuantityOutOfRange},
      {"second Azure plan unit", [&] { return Customer([](auto& a) { a.line_items = {Item(offers::kAzurePlan, 2)}; }); }, p1, ErrorCode::kQuantityOutOfRange},
      {"annual Azure plan", [&] { return Customer([](auto& a) { auto i = Item(offers::kAzurePlan, 1); i.billing_cycle = "annual"; a.line_items = {i}; }); }, p1, ErrorCode::kInvalidTerm},
      {"monthly term billed annually", [&] { return Customer([](auto& a) { auto i = Item(offers::kE3, 1); i.billing_cycle = "annual"; i.term_duration = "P1M"; a.line_items = {i}; }); }, p1, ErrorCode::kBillingCycleLongerThanTerm},
      {"a term the offer lacks", [&] { return Customer([](auto& a) { auto i = Item(offers::kBusinessBasic, 1); i.term_duration = "P3Y"; a.line_items = {i}; }); }, p1, ErrorCode::kInvalidTerm},
      {"a term that is none", [&] { return Customer([](auto& a) { auto i = Item(offers::kE3, 1); i.term_duration = "P2Y"; a.line_items = {i}; }); }, p1, ErrorCode::kInvalidTerm},
      {"weekly billing", [&] { return Customer([](auto& a) { auto i = Item(offers::kE3, 1); i.billing_cycle = "weekly"; a.line_items = {i}; }); }, p1, ErrorCode::kInvalidBillingCycle},
      {"add-on without parent", [&] { return Customer([](auto& a) { a.line_items = {Item(offers::kTeamsPhone, 1)}; }); }, p1, ErrorCode::kAddOnNeedsParent},
      {"base offer with parent", [&] { return Customer([&](auto& a) { a.line_items = {Item(offers::kE3, 1, basic_)}; }); }, p1, ErrorCode::kNotAnAddOn},
      {"51 line items", [&] { return Customer([](auto& a) { a.line_items.assign(51, Item(offers::kE3, 1)); }); }, p1, ErrorCode::kInvalidLineItems},
      {"friendly name too long", [&] { return Customer([](auto& a) { auto i = Item(offers::kE3, 1); i.friendly_name = std::string(200, 'n'); a.line_items = {i}; }); }, p1, ErrorCode::kInvalidFriendlyName},
      {"no partner", [&] { return Customer([](auto&) {}); }, Meta(""), ErrorCode::kInvalidArgument},
      {"request id reused for another body", [&] { return Command(CreateOrder{c_, {Item(offers::kE3, 1)}}); }, Meta("p1", "world-1"), ErrorCode::kRequestIdReused},
      // UpdateBillingProfile
      {"billing: unknown customer", [&] { return Command(UpdateBillingProfile{"nobody", Billing([](auto&) {}), {}}); }, p1, ErrorCode::kCustomerNotFound},
      {"billing: partner without relationship", [&] { return Command(UpdateBillingProfile{c_, Billing([](auto&) {}), {}}); }, Meta("p9"), ErrorCode::kCustomerNotFound},
      {"billing: stale etag", [&] { return Command(UpdateBillingProfile{c_, Billing([](auto& b) { b.email = "new@contoso.example"; }), 1}); }, p1, ErrorCode::kStaleEtag},
      {"billing: bad email", [&] { return Command(UpdateBillingProfile{c_, Billing([](auto& b) { b.email = "nope"; }), {}}); }, p1, ErrorCode::kInvalidEmail},
      {"billing: no phone in UA", [&] { return Command(UpdateBillingProfile{c_, Billing([](auto& b) { b.default_address.phone_number = ""; b.default_address.country = "UA"; }), {}}); }, p1, ErrorCode::kPhoneRequired},
      // CreateOrder
      {"order: no line items", [&] { return Command(CreateOrder{c_, {}}); }, p1, ErrorCode::kInvalidLineItems},
      {"order: unknown customer", [&] { return Command(CreateOrder{"nobody", {Item(offers::kE3, 1)}}); }, p1, ErrorCode::kCustomerNotFound},
      {"order: invited but not accepted", [&] { return Command(CreateOrder{c_, {Item(offers::kE3, 1)}}); }, Meta("p3"), ErrorCode::kCustomerNotFound},
      {"order: quantity above max", [&] { return Command(CreateOrder{c_, {Item(offers::kE3, 500001)}}); }, p1, ErrorCode::kQuantityOutOfRange},
      {"order: add-on not for parent's offer", [&] { return Command(CreateOrder{c_, {Item(offers::kAudioConferencing, 1, basic_)}}); }, p1, ErrorCode::kAddOnNotRelatedToParent},
      {"order: add-on with unknown parent", [&] { return Command(CreateOrder{c_, {Item(offers::kTeamsPhone, 1, "ghost")}}); }, p1, ErrorCode::kSubscriptionNotFound},
      {"order: add-on on another partner's subscription", [&] { return Command(CreateOrder{c_, {Item(offers::kTeamsPhone, 1, p2_sub_)}}); }, p1, ErrorCode::kSubscriptionNotFound},
      {"order: add-on on suspended parent", [&] { return Command(CreateOrder{c_, {Item(offers::kTeamsPhone, 1, suspended_)}}); }, p1, ErrorCode::kParentNotActive},
      {"order: add-on on cancelled parent", [&] { return Command(CreateOrder{c_, {Item(offers::kTeamsPhone, 1, deleted_)}}); }, p1, ErrorCode::kSubscriptionDeleted},
      {"order: add-on on an add-on", [&] { return Command(CreateOrder{c_, {Item(offers::kDefenderP1, 1, phone_)}}); }, p1, ErrorCode::kParentNotActive},
      {"order: one bad line fails the order", [&] { return Command(CreateOrder{c_, {Item(offers::kE3, 1), Item(offers::kE3, 0)}}); }, p1, ErrorCode::kInvalidQuantity},
      // AddAddOn
      {"add-on: unknown order", [&] { return Command(AddAddOn{c_, "ghost-order", {Item(offers::kTeamsPhone, 1, basic_)}}); }, p1, ErrorCode::kNotFound},
      {"add-on: another partner's order", [&] { return Command(AddAddOn{c_, order_, {Item(offers::kTeamsPhone, 1, basic_)}}); }, Meta("p2"), ErrorCode::kNotFound},
      {"add-on: no parent", [&] { return Command(AddAddOn{c_, order_, {Item(offers::kTeamsPhone, 1)}}); }, p1, ErrorCode::kAddOnNeedsParent},
      {"add-on: base offer", [&] { return Command(AddAddOn{c_, order_, {Item(offers::kE3, 1, basic_)}}); }, p1, ErrorCode::kNotAnAddOn},
      {"add-on: zero quantity", [&] { return Command(AddAddOn{c_, order_, {Item(offers::kTeamsPhone, 0, basic_)}}); }, p1, ErrorCode::kInvalidQuantity},
      {"add-ons: the second of two bad", [&] { return Command(AddAddOn{c_, order_, {Item(offers::kDefenderP1, 1, basic_), Item(offers::kTeamsPhone, 0, basic_)}}); }, p1, ErrorCode::kInvalidQuantity},
      {"add-ons: the second of two without parent", [&] { return Command(AddAddOn{c_, order_, {Item(offers::kDefenderP1, 1, basic_), Item(offers::kTeamsPhone, 1)}}); }, p1, ErrorCode::kAddOnNeedsParent},
      {"add-ons: no line", [&] { return Command(AddAddOn{c_, order_, {}}); }, p1, ErrorCode::kInvalidLineItems},
      // UpdateSubscription
      {"update: unknown subscription", [&] { return Command(Update("ghost", [](auto& u) { u.quantity = 2; })); }, p1, ErrorCode::kSubscriptionNotFound},
      {"update: another partner's subscription", [&] { return Command(Update(p2_sub_, [](auto& u) { u.quantity = 3; })); }, p1, ErrorCode::kSubscriptionNotFound},
      {"update: unknown customer", [&] { UpdateSubscription u{"nobody", basic_}; u.quantity = 2; return Command(u); }, p1, ErrorCode::kCustomerNotFound},
      {"update: quantity of cancelled", [&] { return Command(Update(deleted_, [](auto& u) { u.quantity = 2; })); }, p1, ErrorCode::kSubscriptionDeleted},
      {"update: reactivate cancelled", [&] { return Command(Update(deleted_, [](auto& u) { u.status = S::kActive; })); }, p1, ErrorCode::kSubscriptionDeleted},
      {"update: quantity of suspended", [&] { return Command(Update(suspended_, [](auto& u) { u.quantity = 4; })); }, p1, ErrorCode::kSuspendedSubscriptionCannotBeUpdated},
      {"update: quantity while suspending", [&] { return Command(Update(basic_, [](auto& u) { u.quantity = 4; u.status = S::kSuspended; })); }, p1, ErrorCode::kSuspendedSubscriptionCannotBeUpdated},
      {"update: rename suspended", [&] { return Command(Update(suspended_, [](auto& u) { u.friendly_name = "Renamed"; })); }, p1, ErrorCode::kSuspendedSubscriptionCannotBeUpdated},
      {"update: auto-renew of suspended", [&] { return Command(Update(suspended_, [](auto& u) { u.auto_renew = true; })); }, p1, ErrorCode::kSuspendedSubscriptionCannotBeUpdated},
      {"update: quantity above max", [&] { return Command(Update(basic_, [](auto& u) { u.quantity = 301; })); }, p1, ErrorCode::kQuantityOutOfRange},
      {"update: zero quantity", [&] { return Command(Update(basic_, [](auto& u) { u.quantity = 0; })); }, p1, ErrorCode::kInvalidQuantity},
      {"update: second Azure unit", [&] { return Command(Update(azure_, [](auto& u) { u.quantity = 2; })); }, p1, ErrorCode::kQuantityOutOfRange},
      {"update: stale etag", [&] { return Command(Update(basic_, [](auto& u) { u.quantity = 6; u.expected_version = 2; })); }, p1, ErrorCode::kStaleEtag},
      {"update: empty friendly name", [&] { return Command(Update(basic_, [](auto& u) { u.friendly_name = ""; })); }, p1, ErrorCode::kInvalidFriendlyName},
      {"update: friendly name too long", [&] { return Command(Update(basic_, [](auto& u) { u.friendly_name = std::string(129, 'f'); })); }, p1, ErrorCode::kInvalidFriendlyName},
      {"update: reactivate add-on under suspended parent", [&] { return Command(Update(child2_, [](auto& u) { u.status = S::kActive; })); }, p1, ErrorCode::kParentNotActive},
      // Relationships
      {"request: already related", [&] { return Command(RequestRelationship{c_}); }, p1, ErrorCode::kRelationshipExists},
      {"request: unknown customer", [&] { return Command(RequestRelationship{"nobody"}); }, Meta("p4"), ErrorCode::kCustomerNotFound},
      {"accept: unknown invitation", [&] { return Command(AcceptRelationship{c_, "ghost"}); }, Meta("customer"), ErrorCode::kInvitationNotFound},
      {"accept: unknown customer", [&] { return Command(AcceptRelationship{"nobody", "ghost"}); }, Meta("customer"), ErrorCode::kCustomerNotFound},
      {"remove: another partner's relationship", [&] { return Command(RemoveRelationship{c_, "p2"}); }, p1, ErrorCode::kCustomerNotFound},
      {"remove: active subscriptions remain", [&] { return Command(RemoveRelationship{c_, "p1"}); }, p1, ErrorCode::kActiveSubscriptionsRemain},
      {"remove: by customer, p2 still active", [&] { return Command(RemoveRelationship{c_, "p2", true}); }, Meta("customer"), ErrorCode::kActiveSubscriptionsRemain},
      {"remove: unknown partner", [&] { return Command(RemoveRelationship{c_, "p7", true}); }, Meta("customer"), ErrorCode::kNotFound},
      {"remove: partner without relationship", [&] { return Command(RemoveRelationship{c_, "p9"}); }, Meta("p9"), ErrorCode::kCustomerNotFound},
      {"remove: the last partner", [&] { return Command(RemoveRelationship{lonely_, "p1"}); }, p1, ErrorCode::kLastRelationship},
  };
  ASSERT_GE(cases.size(), 60u);

  const uint64_t head = log_->Head();
  const CustomerState before = StateOf(c_);
  for (const auto& c : cases) {
    auto result = processor_->Execute(c.command(), c.meta);
    ASSERT_FALSE(result.ok()) << c.name << ": was accepted";
    EXPECT_EQ(result.error().code(), c.code)
        << c.name << ": got " << result.error().ToString();
    EXPECT_GE(HttpStatus(result.error().code()), 400) << c.name;
    EXPECT_LT(HttpStatus(result.error().code()), 500) << c.name;
    EXPECT_EQ(log_->Head(), head) << c.name << ": appended something";
  }
  EXPECT_EQ(StateOf(c_), before);
  CommandProcessor fresh(*log_, *catalog_, Instance::kGlobal, ids_);
  EXPECT_EQ(**fresh.State(c_), before) << "the log holds exactly the world, nothing more";
  std::printf("[ cases    ] %zu rejected commands checked\n", cases.size());
}

}  // namespace
}  // namespace tally::domain
