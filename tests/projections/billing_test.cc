// Issue 20: the billing read model's worked examples. Each runs real
// commands against a real log on a manual clock, brings the read models up
// to it with a runner, and compares the billing model's lines with figures worked out by hand
// (in the comments). Prices are the catalog's, in cents: Microsoft 365
// Business Basic is 600 a seat a month on P1Y billed monthly (700 from
// 2027-04-01) and 720 on P1M.
#include <gtest/gtest.h>

#include <chrono>

#include "projections/billing/billing.h"
#include "tests/projections/projection_fixture.h"

namespace tally {
namespace {

namespace offers = tally::tools::offers;
using projections::billing::LineItem;
using tally::tools::Item;

constexpr int64_t kHour = int64_t{3600} * 1'000'000;

int64_t At(int y, unsigned m, unsigned d, int hour = 0) {
  using namespace std::chrono;
  const sys_days date{year(y) / month(m) / day(d)};
  return duration_cast<microseconds>(date.time_since_epoch()).count() + hour * kHour;
}

// A line as the tests spell it: type, first and last day, seats, days, subtotal.
struct Expect {
  std::string type;
  int64_t start, end;
  int64_t quantity, days, subtotal;
};

class BillingTest : public testing::ProjectionFixture {
 protected:
  void SetUp() override {
    ProjectionFixture::SetUp();
    auto created = processor_->Execute(tools::ValidAddCustomer("billing"), Meta());
    ASSERT_TRUE(created.ok()) << created.error().ToString();
    customer_ = created->customer_id;
  }

  domain::CommandMeta Meta() { return {"p1", "", ""}; }

  std::string Buy(const std::string& offer, int quantity, const std::string& term, int64_t at) {
    clock_.Set(at);
    auto item = Item(offer, quantity);
    item.term_duration = term;
    auto r = processor_->Execute(domain::CreateOrder{customer_, {item}}, Meta());
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? r->subscription_ids.at(0) : "";
  }
  void Update(const std::string& sub, int64_t at, std::optional<int64_t> quantity,
              std::optional<domain::SubscriptionStatus> status = std::nullopt) {
    clock_.Set(at);
    auto r = processor_->Execute(domain::UpdateSubscription{customer_, sub, quantity, status, {}, {}, {}}, Meta());
    ASSERT_TRUE(r.ok()) << r.error().ToString();
  }
  // The scheduler's step at the term's end, taken `late` after it is due.
  void Renew(const std::string& sub, int64_t due, int64_t late = 3 * kHour) {
    clock_.Set(due + late);
    auto r = processor_->Execute(domain::AdvanceSubscription{customer_, {sub}, due}, {"system:lifecycle", "", ""});
    ASSERT_TRUE(r.ok()) << r.error().ToString();
  }

  // The billing model, brought up to the log's head: the subscription's lines.
  std::vector<LineItem> Lines(const std::string& sub) {
    CatchUp();
    std::vector<LineItem> lines;
    projections::BillingReader::Filter filter;
    filter.partner_id = "p1";
    filter.customer_id = customer_;
    const Status s = projections::BillingReader(*store_).ForEach(filter, "", [&](std::string_view, const LineItem& l) {
      if (l.subscription_id == sub) lines.push_back(l);
      return true;
    });
    EXPECT_TRUE(s.ok());
    return lines;
  }

  static void ExpectLines(const std::vector<LineItem>& got, const std::vector<Expect>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      SCOPED_TRACE("line " + std::to_string(i) + " (" + want[i].type + ")");
      EXPECT_EQ(got[i].charge_type, want[i].type);
      EXPECT_EQ(got[i].charge_start_us, want[i].start);
      EXPECT_EQ(got[i].charge_end_us, want[i].end);
      EXPECT_EQ(got[i].quantity, want[i].quantity);
      EXPECT_EQ(got[i].days, want[i].days);
      EXPECT_EQ(got[i].subtotal, want[i].subtotal);
      EXPECT_EQ(got[i].currency, "USD");
    }
  }
  static int64_t Total(const std::vector<LineItem>& lines) {
    int64_t total = 0;
    for (const auto& l : lines) total += l.subtotal;
    return total;
  }

  std::string customer_;
};

// P1Y billed monthly, bought 2027-01-14 10:00, 5 seats at 600. Periods begin
// on the 14th: the first is 2027-01-14..02-13 (31 days), charged whole at
// purchase: 5 x 600 = 3000. Then 11 cycle charges of 3000, the last
// 2027-12-14..2028-01-13 (the term's last day). Year: 12 x 3000 = 36000.
TEST_F(BillingTest, AP1YMonthlyPurchaseOnThe14thOfA31DayMonth) {
  const std::string sub = Buy(offers::kBusinessBasic, 5, "P1Y", At(2027, 1, 14, 10));
  const auto lines = Lines(sub);
  ASSERT_EQ(lines.size(), 12u);
  ExpectLines({lines[0], lines[1], lines[11]},
              {{"new", At(2027, 1, 14), At(2027, 2, 13), 5, 31, 3000},
               {"cycleCharge", At(2027, 2, 14), At(2027, 3, 13), 5, 28, 3000},
               {"cycleCharge", At(2027, 12, 14), At(2028, 1, 13), 5, 31, 3000}});
  EXPECT_EQ(Total(lines), 36000);
  EXPECT_EQ(lines[0].unit_price, 600);
  EXPECT_EQ(lines[0].effective_unit_price, 600);
  EXPECT_EQ(lines[0].term_duration, "P1Y");
  EXPECT_EQ(lines[0].billing_cycle, "monthly");
  EXPECT_EQ(lines[0].subscription_start_us, At(2027, 1, 14));
  EXPECT_EQ(lines[0].subscription_end_us, At(2028, 1, 13));
  EXPECT_GT(lines[0].position, 0u);
}

// The same purchase, then 3 seats more on 2027-01-29 09:00: day 15 of the
// 31-day period, so 16 days charged. The period's seat-days go from
// 5 x 31 = 155 (3000) to 155 + 3 x 16 = 203: 600 x 203 / 31 = 3929.03 ->
// 3929, so the line is 3929 - 3000 = 929 (3 x 16 x 600 / 31 = 929.03).
// Effective unit price 600 x 16 / 31 = 309.68 -> 310. Cycle charges from
// February: 8 x 600 = 4800.
TEST_F(BillingTest, AnIncreaseMidMonthIsChargedForTheDaysLeft) {
  const std::string sub = Buy(offers::kBusinessBasic, 5, "P1Y", At(2027, 1, 14, 10));
  Update(sub, At(2027, 1, 29, 9), 8);
  const auto lines = Lines(sub);
  ASSERT_EQ(lines.size(), 13u);
  ExpectLines({lines[0], lines[1], lines[2]},
              {{"new", At(2027, 1, 14), At(2027, 2, 13), 5, 31, 3000},
               {"addQuantity", At(2027, 1, 29), At(2027, 2, 13), 3, 16, 929},
               {"cycleCharge", At(2027, 2, 14), At(2027, 3, 13), 8, 28, 4800}});
  EXPECT_EQ(lines[1].effective_unit_price, 310);
  EXPECT_EQ(Total(lines), 3000 + 929 + 11 * 4800);
}

// The same purchase, then down to 2 seats on 2027-01-17 12:00, 3 days 2
// hours after it: 3 whole days used of the 31 charged, 28 credited:
// seat-days 155 - 3 x 28 = 71: 600 x 71 / 31 = 1374.19 -> 1374, so the
// credit is 1374 - 3000 = -1626 (3 x 28 x 600 / 31 = 1625.81), for
// 2027-01-17..02-13. Cycle charges from February: 2 x 600 = 1200.
TEST_F(BillingTest, ADecreaseOnDay3IsACreditForTheUnusedDays) {
  const std::string sub = Buy(offers::kBusinessBasic, 5, "P1Y", At(2027, 1, 14, 10));
  Update(sub, At(2027, 1, 17, 12), 2);
  const auto lines = Lines(sub);
  ASSERT_EQ(lines.size(), 13u);
  ExpectLines({lines[0], lines[1], lines[2]},
              {{"new", At(2027, 1, 14), At(2027, 2, 13), 5, 31, 3000},
               {"removeQuantity", At(2027, 1, 17), At(2027, 2, 13), -3, 28, -1626},
               {"cycleCharge", At(2027, 2, 14), At(2027, 3, 13), 2, 28, 1200}});
  EXPECT_EQ(Total(lines), 3000 - 1626 + 11 * 1200);
}

// A window that crosses a period's start: 2 seats added 2027-02-11 10:00
// (day 28 of 31: 3 days, 2 x 3 x 600 / 31 = 116.13; seat-days 155 + 6 =
// 161: 600 x 161 / 31 = 3116.13 -> 3116, line 116), charged again whole by
// the cycle charge of 2027-02-14..03-13 (28 days, 7 x 600 = 4200), removed
// 2027-02-16 08:00, inside their window. Only this period is credited, from
// its start: 2 whole days used (56 hours), 26 credited: seat-days
// 7 x 28 - 2 x 26 = 144: 600 x 144 / 28 = 3085.71 -> 3086, line
// 3086 - 4200 = -1114 (2 x 26 x 600 / 28 = 1114.29), for 2027-02-16..03-13.
TEST_F(BillingTest, SeatsRemovedAfterAPeriodBeganAreCreditedInItOnly) {
  const std::string sub = Buy(offers::kBusinessBasic, 5, "P1Y", At(2027, 1, 14, 10));
  Update(sub, At(2027, 2, 11, 10), 7);
  Update(sub, At(2027, 2, 16, 8), 5);
  const auto lines = Lines(sub);
  ASSERT_EQ(lines.size(), 14u);
  ExpectLines({lines[0], lines[1], lines[2], lines[3], lines[4]},
              {{"new", At(2027, 1, 14), At(2027, 2, 13), 5, 31, 3000},
               {"addQuantity", At(2027, 2, 11), At(2027, 2, 13), 2, 3, 116},
               {"cycleCharge", At(2027, 2, 14), At(2027, 3, 13), 7, 28, 4200},
               {"removeQuantity", At(2027, 2, 16), At(2027, 3, 13), -2, 26, -1114},
               {"cycleCharge", At(2027, 3, 14), At(2027, 4, 13), 5, 31, 3000}});
}

// Cancelled 23 hours after the purchase: no whole day used, all 31 days
// credited: -3000; the cycle charges to come are gone. Net 0.
TEST_F(BillingTest, ACancellationAtHour23IsAFullCredit) {
  const std::string sub = Buy(offers::kBusinessBasic, 5, "P1Y", At(2027, 1, 14, 10));
  Update(sub, At(2027, 1, 15, 9), std::nullopt, domain::SubscriptionStatus::kDeleted);
  ExpectLines(Lines(sub), {{"new", At(2027, 1, 14), At(2027, 2, 13), 5, 31, 3000},
                           {"cancelImmediate", At(2027, 1, 14), At(2027, 2, 13), -5, 31, -3000}});
}

// Cancelled 6 days 1 hour after the purchase: 6 days used, 25 credited:
// seat-days 155 - 5 x 25 = 30: 600 x 30 / 31 = 580.65 -> 581, so the
// credit is 581 - 3000 = -2419 (5 x 25 x 600 / 31 = 2419.35) for
// 2027-01-20..02-13. Net 581: six days of five seats.
TEST_F(BillingTest, ACancellationAtDay6KeepsTheDaysUsed) {
  const std::string sub = Buy(offers::kBusinessBasic, 5, "P1Y", At(2027, 1, 14, 10));
  Update(sub, At(2027, 1, 20, 11), std::nullopt, domain::SubscriptionStatus::kDeleted);
  const auto lines = Lines(sub);
  ExpectLines(lines, {{"new", At(2027, 1, 14), At(2027, 2, 13), 5, 31, 3000},
                      {"cancelImmediate", At(2027, 1, 20), At(2027, 2, 13), -5, 25, -2419}});
  EXPECT_EQ(Total(lines), 581);
}

// P1M billed monthly, bought 2027-01-14 10:00, 5 seats at 720: 3600 for
// 2027-01-14..02-13. 7 seats scheduled for the next term; it renews at
// 2027-02-14 00:00 (taken at 03:00): 7 x 720 = 5040 for
// 2027-02-14..03-13 (28 days).
TEST_F(BillingTest, ARenewalWithAScheduledQuantityChange) {
  const std::string sub = Buy(offers::kBusinessBasic, 5, "P1M", At(2027, 1, 14, 10));
  domain::UpdateSubscription schedule{customer_, sub, {}, {}, {}, {}, {}};
  schedule.next_term = domain::NextTerm{7, "", "", ""};
  ASSERT_TRUE(processor_->Execute(schedule, Meta()).ok());
  Renew(sub, At(2027, 2, 14));
  const auto lines = Lines(sub);
  ExpectLines(lines, {{"new", At(2027, 1, 14), At(2027, 2, 13), 5, 31, 3600},
                      {"renew", At(2027, 2, 14), At(2027, 3, 13), 7, 28, 5040}});
  EXPECT_EQ(lines[1].subscription_start_us, At(2027, 2, 14));
  EXPECT_EQ(lines[1].subscription_end_us, At(2027, 3, 13));
}

// P1Y billed monthly, bought 2026-04-14 10:00, 2 seats at 600 a month. The
// catalog's price becomes 700 on 2027-04-01, inside the term: nothing of
// the term changes (its last cycle charge, 2027-03-14..04-13, is 1200).
// The renewal on 2027-04-14 takes the price then in force: 2 x 700 = 1400
// for 2027-04-14..05-13 (30 days), and so do the new term's cycle charges.
TEST_F(BillingTest, APriceChangeTakesEffectAtRenewal) {
  const std::string sub = Buy(offers::kBusinessBasic, 2, "P1Y", At(2026, 4, 14, 10));
  Renew(sub, At(2027, 4, 14));
  const auto lines = Lines(sub);
  ASSERT_EQ(lines.size(), 24u);
  ExpectLines({lines[11], lines[12], lines[13], lines[23]},
              {{"cycleCharge", At(2027, 3, 14), At(2027, 4, 13), 2, 31, 1200},
               {"renew", At(2027, 4, 14), At(2027, 5, 13), 2, 30, 1400},
               {"cycleCharge", At(2027, 5, 14), At(2027, 6, 13), 2, 31, 1400},
               {"cycleCharge", At(2028, 3, 14), At(2028, 4, 13), 2, 31, 1400}});
  EXPECT_EQ(lines[12].unit_price, 700);
  EXPECT_EQ(Total(lines), 12 * 1200 + 12 * 1400);
}

// Rounding: half away from zero, once per period whatever the changes.
TEST(BillingRatingTest, ProrationRoundsHalfAwayFromZero) {
  using projections::billing::Prorate;
  EXPECT_EQ(Prorate(600, 203, 31), 3929);  // 3929.03
  EXPECT_EQ(Prorate(100, 1, 8), 13);       // 12.5 -> 13
  EXPECT_EQ(Prorate(100, -1, 8), -13);     // -12.5 -> -13
  EXPECT_EQ(Prorate(100, 3, 8), 38);       // 37.5 -> 38
  EXPECT_EQ(Prorate(7, 1, 3), 2);          // 2.33
  EXPECT_EQ(Prorate(4'000'000'000, 3'000'000'000, 7), INT64_C(1714285714285714286))
      << "the product (1.2e19) is past int64's range; the result is not";
}

}  // namespace
}  // namespace tally
