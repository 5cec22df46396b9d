// Each read model against hand-written expected rows for a scripted
// scenario: a customer with two subscriptions and an add-on, a quantity
// change, a suspension, a second partner invited and accepted, a third
// partner's pending invitation, then the second partner leaving.
#include <gtest/gtest.h>

#include "projections/customer/customer.h"
#include "projections/license/license.h"
#include "projections/relationship/relationship.h"
#include "tests/projections/projection_fixture.h"

namespace tally::projections {
namespace {

using namespace tally::testing;  // NOLINT
using domain::AcceptRelationship;
using domain::CreateOrder;
using domain::RemoveRelationship;
using domain::RequestRelationship;
using domain::SubscriptionStatus;
using domain::UpdateBillingProfile;
using domain::UpdateSubscription;

constexpr int64_t kMinute = 60'000'000;

class ScenarioTest : public ProjectionFixture {
 protected:
  int64_t At(int minutes) { return t0_ + minutes * kMinute; }
  void SetMinute(int minutes) { clock_.Set(At(minutes)); }

  const int64_t t0_ = clock_.NowMicros();
};

TEST_F(ScenarioTest, ModelsHoldTheExpectedRows) {
  auto add = ValidAddCustomer("contoso");
  add.line_items = {Item(offers::kBusinessBasic, 10), Item(offers::kE3, 5)};
  const auto created = Ok(add, Meta("p1", "r1"));
  const std::string c = created.customer_id;
  const std::string basic = created.subscription_ids.at(0), e3 = created.subscription_ids.at(1);
  SetMinute(1);
  const std::string teams = Ok(domain::AddAddOn{c, created.order_id, {Item(offers::kTeamsPhone, 3, basic)}},
                               Meta("p1", "r2")).subscription_ids.at(0);
  SetMinute(2);
  Ok(UpdateSubscription{c, e3, 8, {}, {}, {}, {}}, Meta("p1", "r3"));
  SetMinute(3);
  Ok(UpdateSubscription{c, e3, {}, SubscriptionStatus::kSuspended, {}, {}, {}}, Meta("p1", "r4"));
  SetMinute(4);
  const std::string invitation = Ok(RequestRelationship{c}, Meta("p2", "r5")).invitation_id;
  SetMinute(5);
  Ok(AcceptRelationship{c, invitation}, Meta("customer", "r6"));
  SetMinute(6);
  const std::string p2_e3 = Ok(CreateOrder{c, {Item(offers::kE3, 20)}}, Meta("p2", "r7")).subscription_ids.at(0);
  SetMinute(7);
  auto billing = add.billing;
  billing.default_address.city = "Bellevue";
  Ok(UpdateBillingProfile{c, billing, {}}, Meta("p1", "r8"));
  SetMinute(8);
  const std::string pending = Ok(RequestRelationship{c}, Meta("p3", "r9")).invitation_id;
  CatchUp();

  // customer
  CustomerRow customer;
  customer.id = c;
  customer.domain = "contoso.onmicrosoft.com";
  customer.company_name = "Contoso Ltd";
  customer.instance = "global";
  customer.admin_user_name = "admin@contoso.onmicrosoft.com";
  customer.email = "ada@contoso.example";
  customer.culture = "en-US";
  customer.language = "en";
  customer.billing_company_name = "Contoso Ltd";
  customer.address = {"Ada", "Lovelace", "1 Microsoft Way", "", "", "Bellevue", "WA", "98052", "US", "425 555 0100"};
  customer.created_us = At(0);
  customer.updated_us = At(7);
  customer.partners = {{"p1", "reseller_of_record", At(0)}, {"p2", "reseller", At(5)}};
  customer.agreements = {{domain::kCustomerAgreementTemplateId, "MicrosoftCustomerAgreement", add.agreement->date_agreed_us,
                          "p1", At(0), "Ada", "Lovelace", "ada@contoso.example", ""}};
  CustomerReader customers(*store_);
  auto got = customers.Get(c);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, customer);
  auto by_domain = customers.FindByDomain("Contoso.onmicrosoft.com");
  ASSERT_TRUE(by_domain.ok() && by_domain->has_value());
  EXPECT_EQ((*by_domain)->id, c);
  for (const char* partner : {"p1", "p2"}) {
    auto page = customers.ListForPartner(partner, 10, "");
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->items.size(), 1u) << partner;
    EXPECT_EQ(page->items[0], customer);
    EXPECT_EQ(page->continuation, "");
  }
  EXPECT_TRUE(customers.ListForPartner("p3", 10, "")->items.empty()) << "a pending invitation is no relationship";
  EXPECT_EQ(customers.SearchByCompanyPrefix("p1", "CONT", 10)->size(), 1u);
  EXPECT_TRUE(customers.SearchByCompanyPrefix("p1", "fab", 10)->empty());
  EXPECT_TRUE(customers.SearchByCompanyPrefix("p3", "cont", 10)->empty()) << "p3 is not related";

  // license
  auto sub = [&](const std::string& id, const std::string& partner, const std::string& offer, int32_t quantity,
                 const std::string& status, const std::string& parent, int created_min, int updated_min) {
    SubscriptionRow r;
    r.id = id;
    r.customer_id = c;
    r.partner_id = partner;
    r.offer_id = offer;
    r.quantity = quantity;
    r.status = status;
    r.parent_id = parent;
    r.billing_cycle = "monthly";
    r.created_us = At(created_min);
    r.updated_us = At(updated_min);
    return r;
  };
  LicenseReader licenses(*store_);
  auto p1_subs = licenses.List(c, "p1");
  ASSERT_TRUE(p1_subs.ok());
  std::map<std::string, SubscriptionRow> by_id;
  for (auto& r : *p1_subs) by_id[r.id] = r;
  ASSERT_EQ(by_id.size(), 3u);
  auto expect_sub = [&](SubscriptionRow want) {
    ASSERT_EQ(by_id.count(want.id), 1u) << want.id;
    want.order_id = by_id[want.id].order_id;  // order ids are generated; checked below
    want.friendly_name = by_id[want.id].friendly_name;
    want.created_position = by_id[want.id].created_position;  // checked below
    want.term_duration = "P1M";
    want.currency = "USD";
    want.unit_price = by_id[want.id].unit_price;  // the catalog's: checked below
    want.term_start_us = want.created_us;
    want.seats = by_id[want.id].seats;  // checked below
    EXPECT_EQ(by_id[want.id], want);
  };
  expect_sub(sub(basic, "p1", offers::kBusinessBasic, 10, "active", "", 0, 0));
  auto e3_row = sub(e3, "p1", offers::kE3, 8, "suspended", "", 0, 3);
  e3_row.auto_renew = false;  // suspending turns auto-renew off (Partner Center)
  expect_sub(e3_row);
  expect_sub(sub(teams, "p1", offers::kTeamsPhone, 3, "active", basic, 1, 1));
  // The price in force at purchase, and the seats by when they were added
  // (e3: 5 bought at minute 0, 3 more at minute 2).
  EXPECT_EQ(by_id[basic].unit_price, 720) << "Business Basic on P1M, monthly: 7.20 USD";
  EXPECT_EQ(by_id[e3].seats, (std::vector<domain::Seats>{{5, At(0)}, {3, At(2)}}));
  EXPECT_EQ(by_id[teams].seats, (std::vector<domain::Seats>{{3, At(1)}}));
  // The lines of an order keep the order they were bought in.
  EXPECT_GT(by_id[basic].created_position, 0u);
  EXPECT_LT(by_id[basic].created_position, by_id[e3].created_position);
  EXPECT_LT(by_id[e3].created_position, by_id[teams].created_position);
  EXPECT_EQ(by_id[basic].order_id, created.order_id);
  EXPECT_EQ(by_id[teams].order_id, created.order_id) << "an add-on joins its parent's order";
  auto p2_subs = licenses.List(c, "p2");
  ASSERT_TRUE(p2_subs.ok());
  ASSERT_EQ(p2_subs->size(), 1u) << "p2 sees only its own subscriptions";
  EXPECT_EQ((*p2_subs)[0].id, p2_e3);
  EXPECT_FALSE(licenses.Get(c, "p2", basic)->has_value());
  auto addons = licenses.List(c, "p1", basic);
  ASSERT_EQ(addons->size(), 1u);
  EXPECT_EQ((*addons)[0].id, teams);

  TotalsRow p1_totals;  // by offer id: Basic 3b55..., E3 6fd2..., Teams Phone d0d3...
  p1_totals.offers = {{offers::kBusinessBasic, 10, 0, 0, 1}, {offers::kE3, 0, 8, 0, 1},
                      {offers::kTeamsPhone, 3, 0, 3, 1}};
  EXPECT_EQ(*licenses.Totals(c, "p1"), p1_totals);
  TotalsRow p2_totals;
  p2_totals.offers = {{offers::kE3, 20, 0, 0, 1}};
  EXPECT_EQ(*licenses.Totals(c, "p2"), p2_totals);

  // relationship
  RelationshipReader relationships(*store_);
  CustomerRelationships rel;
  rel.customer_id = c;
  rel.partners = {{"p1", "reseller_of_record", "", At(0)}, {"p2", "reseller", invitation, At(5)}};
  rel.pending = {{pending, "p3", At(8)}};
  EXPECT_EQ(**relationships.ForCustomer(c), rel);
  auto of_p3 = relationships.ForPartner("p3", 10, "");
  ASSERT_EQ(of_p3->items.size(), 1u);
  EXPECT_EQ(of_p3->items[0], (PartnerCustomer{c, "pending", pending, At(8)}));
  EXPECT_EQ(relationships.ForPartner("p2", 10, "")->items.at(0), (PartnerCustomer{c, "reseller", invitation, At(5)}));

  // p2 cancels its subscription and leaves.
  SetMinute(9);
  Ok(UpdateSubscription{c, p2_e3, {}, SubscriptionStatus::kDeleted, {}, {}, {}}, Meta("p2", "r10"));
  SetMinute(10);
  Ok(RemoveRelationship{c, "p2"}, Meta("p2", "r11"));
  CatchUp();
  customer.partners = {{"p1", "reseller_of_record", At(0)}};
  customer.updated_us = At(10);
  EXPECT_EQ(**customers.Get(c), customer);
  EXPECT_TRUE(customers.ListForPartner("p2", 10, "")->items.empty());
  EXPECT_TRUE(licenses.Totals(c, "p2")->offers.empty()) << "a cancelled subscription counts for nothing";
  EXPECT_EQ((*licenses.Get(c, "p2", p2_e3))->status, "deleted") << "history stays readable";
  rel.partners.pop_back();
  EXPECT_EQ(**relationships.ForCustomer(c), rel);
  EXPECT_TRUE(relationships.ForPartner("p2", 10, "")->items.empty());

  // Every model has applied every event.
  for (const auto& s : runner_->Statuses()) {
    EXPECT_EQ(s.checkpoint.position, log_->Head()) << s.model;
    EXPECT_EQ(s.lag(), 0u) << s.model;
    EXPECT_FALSE(s.failed) << s.model;
  }
}

// The due list: each subscription under its next lifecycle step, earliest
// first; a step taken moves it; a copy built before the list has none and
// says so.
TEST_F(ScenarioTest, TheDueListHoldsEachSubscriptionsNextStepInTimeOrder) {
  auto add = ValidAddCustomer("due");
  add.line_items = {Item(offers::kBusinessBasic, 3), Item(offers::kE3, 2)};
  add.line_items[1].term_duration = "P1Y";
  add.line_items[1].billing_cycle = "annual";
  const auto created = Ok(add, Meta("p1"));
  const std::string basic = created.subscription_ids[0], e3 = created.subscription_ids[1];
  CatchUp();
  LicenseReader licenses(*store_);
  auto due_until = [&](int64_t until) {
    std::vector<std::pair<std::string, int64_t>> out;
    auto listed = licenses.ForEachDue(until, [&](std::string_view customer, std::string_view sub, int64_t at) {
      EXPECT_EQ(customer, created.customer_id);
      out.emplace_back(std::string(sub), at);
      return true;
    });
    EXPECT_TRUE(listed.ok() && *listed) << "a copy built from its first event has a due list";
    return out;
  };
  const int64_t month = domain::TermOverAt(t0_, "P1M"), year = domain::TermOverAt(t0_, "P1Y");
  EXPECT_TRUE(due_until(month - 1).empty());
  EXPECT_EQ(due_until(month), (std::vector<std::pair<std::string, int64_t>>{{basic, month}}));
  EXPECT_EQ(due_until(year), (std::vector<std::pair<std::string, int64_t>>{{basic, month}, {e3, year}}))
      << "earliest first";
  // Each entry belongs to its customer (Kafka-fed stores drop a revoked
  // partition's customers by it).
  auto license = MakeProjection("license", *store_, store_->Active("license"), nullptr);
  size_t entries = 0;
  for (const auto& [key, value] : Dump("license")) {
    if (key[0] != 'u') continue;
    ++entries;
    EXPECT_EQ(license->CustomerOfRow(key, value), std::optional<std::string_view>(created.customer_id));
  }
  EXPECT_EQ(entries, 2u);
  // Renewed: Basic is due a month later; auto-renew off on E3: due to
  // expire at the same date (another step, the same key).
  clock_.Set(month);
  Ok(domain::AdvanceSubscription{created.customer_id, {basic}, month}, Meta("system:lifecycle"));
  Ok(UpdateSubscription{created.customer_id, e3, {}, {}, {}, false, {}}, Meta("p1"));
  CatchUp();
  const int64_t second = domain::TermOverAt(month, "P1M");
  EXPECT_EQ(due_until(year), (std::vector<std::pair<std::string, int64_t>>{{basic, second}, {e3, year}}));
  // Cancelled within the window: deleted, nothing more to come.
  Ok(UpdateSubscription{created.customer_id, basic, {}, SubscriptionStatus::kDeleted, {}, {}, {}}, Meta("p1"));
  CatchUp();
  EXPECT_EQ(due_until(INT64_MAX), (std::vector<std::pair<std::string, int64_t>>{{e3, year}}));

  // A copy holding rows from before the due list (no marker): no list.
  auto copy = store_->Active("license");
  rocksdb::WriteBatch batch;
  batch.Delete(copy->cf(), kDueListKey);
  ASSERT_TRUE(store_->Write(batch, true).ok());
  auto legacy = licenses.ForEachDue(INT64_MAX, [](auto, auto, auto) {
    ADD_FAILURE() << "no due list to walk";
    return true;
  });
  ASSERT_TRUE(legacy.ok());
  EXPECT_FALSE(*legacy);
}

TEST_F(ScenarioTest, ListingPagesThroughAPartnersCustomers) {
  std::set<std::string> ids;
  for (int i = 0; i < 7; ++i) ids.insert(Ok(ValidAddCustomer("c" + std::to_string(i)), Meta("p1")).customer_id);
  Ok(ValidAddCustomer("other"), Meta("p2"));
  CatchUp();
  CustomerReader customers(*store_);
  std::vector<std::string> seen;
  std::string continuation;
  int pages = 0;
  do {
    auto page = customers.ListForPartner("p1", 3, continuation);
    ASSERT_TRUE(page.ok());
    for (const auto& row : page->items) seen.push_back(row.id);
    continuation = page->continuation;
    ++pages;
  } while (!continuation.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, std::vector<std::string>(ids.begin(), ids.end())) << "in id order, each once";
}

}  // namespace
}  // namespace tally::projections
