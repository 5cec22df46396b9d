// The Microsoft Customer Agreement (issue 19): in the global instance
// nothing is bought for a customer before its acceptance is confirmed; the
// confirmation's rules and codes; its contact sealed like the billing
// profile's personal fields.
#include <gtest/gtest.h>

#include "tests/engine/domain/domain_fixture.h"

namespace tally::domain {
namespace {

using namespace tally::testing;  // NOLINT

constexpr int64_t kJan2024 = 1'704'067'200'000'000;  // 2024-01-01T00:00:00Z

AgreementInput Accepted(const std::string& email = "ada@contoso.example") {
  return AgreementInput{"Ada", "Lovelace", email, "", kJan2024, kCustomerAgreementTemplateId};
}

class AgreementTest : public DomainFixture {
 protected:
  // A customer without an agreement, made by p1.
  std::string Unagreed(const std::string& prefix) {
    auto add = ValidAddCustomer(prefix);
    add.agreement.reset();
    return Ok(add, Meta("p1")).customer_id;
  }
};

ErrorCode Refused(CommandProcessor& p, const Command& c, const CommandMeta& m) {
  auto r = p.Execute(c, m);
  EXPECT_FALSE(r.ok()) << CommandName(c) << " was accepted";
  return r.ok() ? ErrorCode::kOk : r.error().code();
}

TEST_F(AgreementTest, NothingIsBoughtBeforeTheAgreementAndEverythingAfter) {
  auto add = ValidAddCustomer("first");
  add.agreement.reset();
  add.line_items = {Item(offers::kE3, 5)};
  const uint64_t head = log_->Head();
  EXPECT_EQ(Refused(*processor_, add, Meta("p1")), ErrorCode::kCustomerAgreementRequired);
  EXPECT_EQ(log_->Head(), head) << "a refused command appends nothing";

  const std::string c = Unagreed("second");  // no order: no agreement needed yet
  EXPECT_FALSE(StateOf(c).HasAgreement());
  EXPECT_EQ(Refused(*processor_, CreateOrder{c, {Item(offers::kE3, 5)}}, Meta("p1")),
            ErrorCode::kCustomerAgreementRequired);
  EXPECT_EQ(HttpStatus(ErrorCode::kCustomerAgreementRequired), 403);

  const auto confirmed = Ok(ConfirmAgreement{c, Accepted()}, Meta("p1"));
  EXPECT_EQ(confirmed.last_position, confirmed.first_position) << "one CustomerAgreementAccepted";
  const CustomerState& s = StateOf(c);
  ASSERT_EQ(s.agreements.size(), 1u);
  EXPECT_EQ(s.agreements[0].type, "MicrosoftCustomerAgreement");
  EXPECT_EQ(s.agreements[0].template_id, kCustomerAgreementTemplateId);
  EXPECT_EQ(s.agreements[0].date_agreed_us, kJan2024);
  EXPECT_EQ(s.agreements[0].partner_id, "p1");
  EXPECT_EQ(s.agreements[0].contact.last_name, "Lovelace");
  const auto order = Ok(CreateOrder{c, {Item(offers::kBusinessBasic, 5)}}, Meta("p1"));
  ASSERT_EQ(order.subscription_ids.size(), 1u);
  Ok(AddAddOn{c, order.order_id, {Item(offers::kTeamsPhone, 2, order.subscription_ids[0])}}, Meta("p1"));

  // The one-step flow: the acceptance comes with the new customer.
  auto one_step = ValidAddCustomer("third");
  one_step.line_items = {Item(offers::kE3, 5)};
  const auto created = Ok(one_step, Meta("p1"));
  EXPECT_TRUE(StateOf(created.customer_id).HasAgreement());
  EXPECT_EQ(created.subscription_ids.size(), 1u);
}

TEST_F(AgreementTest, AConfirmationIsCheckedAndTakenOncePerContact) {
  const std::string c = Unagreed("checked");
  auto bad = [&](std::function<void(AgreementInput&)> change) {
    AgreementInput a = Accepted();
    change(a);
    return Refused(*processor_, ConfirmAgreement{c, a}, Meta("p1"));
  };
  const int64_t now = log_->NowMicros();
  EXPECT_EQ(bad([](auto& a) { a.type = "MicrosoftCloudAgreement"; }), ErrorCode::kInvalidAgreement);
  EXPECT_EQ(bad([](auto& a) { a.template_id = "117a1e8f-0000-0000-0000-000000000000"; }), ErrorCode::kInvalidAgreement);
  EXPECT_EQ(bad([](auto& a) { a.date_agreed_us = 0; }), ErrorCode::kInvalidAgreement);
  EXPECT_EQ(bad([&](auto& a) { a.date_agreed_us = now + 2 * 86'400'000'000LL; }), ErrorCode::kInvalidAgreement)
      << "not agreed in the future";
  EXPECT_EQ(bad([](auto& a) { a.first_name.clear(); }), ErrorCode::kInvalidAgreement);
  EXPECT_EQ(bad([](auto& a) { a.last_name.clear(); }), ErrorCode::kInvalidAgreement);
  EXPECT_EQ(bad([](auto& a) { a.email = "not-an-email"; }), ErrorCode::kInvalidEmail);
  EXPECT_EQ(bad([](auto& a) { a.phone_number = std::string(33, '5'); }), ErrorCode::kFieldTooLong);
  EXPECT_EQ(bad([](auto& a) { a.first_name = "Ada\n"; }), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(StateOf(c).HasAgreement()) << "nothing refused was recorded";

  Ok(ConfirmAgreement{c, Accepted()}, Meta("p1"));
  // The same contact again: Partner Center's 600061, whatever the date.
  AgreementInput again = Accepted();
  again.date_agreed_us += 86'400'000'000LL;
  EXPECT_EQ(Refused(*processor_, ConfirmAgreement{c, again}, Meta("p1")), ErrorCode::kAgreementAlreadyExists);
  EXPECT_EQ(HttpStatus(ErrorCode::kAgreementAlreadyExists), 409);
  // Another contact (a changed email): a second confirmation.
  Ok(ConfirmAgreement{c, Accepted("grace@contoso.example")}, Meta("p1"));
  EXPECT_EQ(StateOf(c).agreements.size(), 2u);
  // A retry of the same request replays, and appends nothing.
  const auto first = Ok(ConfirmAgreement{c, Accepted("alan@contoso.example")}, Meta("p1", "confirm-1"));
  const auto retry = Ok(ConfirmAgreement{c, Accepted("alan@contoso.example")}, Meta("p1", "confirm-1"));
  EXPECT_TRUE(retry.replayed);
  EXPECT_EQ(retry.last_position, first.last_position);
}

TEST_F(AgreementTest, OnlyAPartnerThatServesTheCustomerConfirmsAndNotAfterAnErasure) {
  const std::string c = Unagreed("served");
  EXPECT_EQ(Refused(*processor_, ConfirmAgreement{c, Accepted()}, Meta("p2")), ErrorCode::kCustomerNotFound);
  EXPECT_EQ(Refused(*processor_, ConfirmAgreement{"no-such-customer", Accepted()}, Meta("p1")),
            ErrorCode::kCustomerNotFound);
  Ok(ForgetCustomer{c, "customer request"}, CommandMeta{kOperatorId, "", ""});
  EXPECT_EQ(Refused(*processor_, ConfirmAgreement{c, Accepted()}, Meta("p1")), ErrorCode::kPersonalDataErased);
}

TEST_F(AgreementTest, TheUsGovInstanceHasNoAgreementsAndNeedsNone) {
  Open(Instance::kUsGov);
  auto add = ValidAddCustomer("agency");
  add.line_items = {Item(offers::kG3Gcc, 5)};
  EXPECT_EQ(Refused(*processor_, add, Meta("p1")), ErrorCode::kAgreementNotAvailable);
  add.agreement.reset();
  const auto created = Ok(add, Meta("p1"));
  EXPECT_EQ(Refused(*processor_, ConfirmAgreement{created.customer_id, Accepted()}, Meta("p1")),
            ErrorCode::kAgreementNotAvailable);
  EXPECT_EQ(HttpStatus(ErrorCode::kAgreementNotAvailable), 403);
  Ok(CreateOrder{created.customer_id, {Item(offers::kG3Gcc, 1)}}, Meta("p1"));
}

}  // namespace
}  // namespace tally::domain
