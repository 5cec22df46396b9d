// Issue 19: new commerce's rules, each with Partner Center's code: the plan
// a line may have, the price in force at purchase, the 168-hour windows for
// cancelling and for removing seats (at their edges), and the term-end
// date across month ends and leap years. A real log with a manual clock:
// the clock the log stamps events with is the one the rules decide by.
#include <gtest/gtest.h>

#include <chrono>

#include "engine/command_processor.h"
#include "engine/domain/terms.h"
#include "engine/rocksdb_event_log.h"
#include "events/samples.h"
#include "tests/testing/test_util.h"
#include "tools/common/workload.h"

namespace tally {
namespace {

namespace offers = tally::tools::offers;
using domain::SubscriptionStatus;
using tally::tools::Item;

constexpr int64_t kHour = int64_t{3600} * 1'000'000;
constexpr int64_t kMinute = int64_t{60} * 1'000'000;

// Microseconds of a UTC date and time.
int64_t At(int y, unsigned m, unsigned d, int hour = 0, int minute = 0) {
  using namespace std::chrono;
  const sys_days date{year(y) / month(m) / day(d)};
  return duration_cast<microseconds>(date.time_since_epoch()).count() + hour * kHour + minute * kMinute;
}

TEST(TermsTest, ATermEndsTheDayBeforeItsAnniversary) {
  using domain::CommitmentEndDay;
  EXPECT_EQ(CommitmentEndDay(At(2021, 1, 14), "P1Y"), At(2022, 1, 13)) << "Partner Center's own example";
  EXPECT_EQ(CommitmentEndDay(At(2021, 1, 14, 23, 59), "P1Y"), At(2022, 1, 13)) << "the time of day does not count";
  EXPECT_EQ(CommitmentEndDay(At(2021, 12, 15), "P1M"), At(2022, 1, 14)) << "across a year end";
  EXPECT_EQ(CommitmentEndDay(At(2021, 1, 14), "P3Y"), At(2024, 1, 13));
  // Month ends: a day the end month lacks is its last day.
  EXPECT_EQ(CommitmentEndDay(At(2023, 1, 31), "P1M"), At(2023, 2, 27));
  EXPECT_EQ(CommitmentEndDay(At(2024, 1, 31), "P1M"), At(2024, 2, 28)) << "2024 is a leap year";
  EXPECT_EQ(CommitmentEndDay(At(2024, 3, 31), "P1M"), At(2024, 4, 29));
  // Leap days.
  EXPECT_EQ(CommitmentEndDay(At(2024, 2, 29), "P1Y"), At(2025, 2, 27));
  EXPECT_EQ(CommitmentEndDay(At(2024, 2, 29), "P1M"), At(2024, 3, 28));
  EXPECT_EQ(CommitmentEndDay(At(2023, 3, 1), "P1Y"), At(2024, 2, 29)) << "ends on a leap day";
  EXPECT_EQ(CommitmentEndDay(At(2024, 2, 29), "P3Y"), At(2027, 2, 27));
  EXPECT_EQ(CommitmentEndDay(At(2024, 1, 1), "P2Y"), 0) << "not a term";
  EXPECT_EQ(domain::CommitmentEndTime(At(2022, 1, 13)), At(2022, 1, 13, 23, 59) + 59 * 1'000'000);
}

TEST(TermsTest, SeatsAreRemovedNewestFirstAndOnlyInsideTheirWindow) {
  std::vector<domain::Seats> seats = {{10, 0}};
  domain::ChangeSeats(seats, 10, 15, 100 * kHour);
  EXPECT_EQ(seats, (std::vector<domain::Seats>{{10, 0}, {5, 100 * kHour}}));
  EXPECT_EQ(domain::RemovableSeats(seats, 167 * kHour + 59 * kMinute), 15);
  EXPECT_EQ(domain::RemovableSeats(seats, 168 * kHour), 5) << "the first batch's window closed";
  domain::ChangeSeats(seats, 15, 8, 200 * kHour);
  EXPECT_EQ(seats, (std::vector<domain::Seats>{{8, 0}})) << "the newest went first, then into the older batch";
}

class NewCommerceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto catalog = domain::Catalog::Load(TALLY_OFFERS_JSON);
    ASSERT_TRUE(catalog.ok()) << catalog.error().ToString();
    catalog_ = std::make_unique<domain::Catalog>(std::move(*catalog));
    RocksDbEventLogOptions options;
    options.clock = &clock_;
    auto log = RocksDbEventLog::Open(dir_.Sub("log"), options);
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    log_ = std::move(*log);
    processor_ = std::make_unique<CommandProcessor>(*log_, *catalog_, domain::Instance::kGlobal, ids_);
    auto created = processor_->Execute(tools::ValidAddCustomer("newcommerce"), Meta());
    ASSERT_TRUE(created.ok()) << created.error().ToString();
    customer_ = created->customer_id;
  }

  domain::CommandMeta Meta() { return {"p1", "", ""}; }

  Result<CommandOutcome> Buy(domain::LineItem item) {
    return processor_->Execute(domain::CreateOrder{customer_, {std::move(item)}}, Meta());
  }
  std::string BuyOk(domain::LineItem item) {
    auto r = Buy(std::move(item));
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? r->subscription_ids.at(0) : "";
  }
  Result<CommandOutcome> Update(const std::string& sub, std::optional<int64_t> quantity,
                                std::optional<SubscriptionStatus> status = std::nullopt) {
    return processor_->Execute(domain::UpdateSubscription{customer_, sub, quantity, status, {}, {}, {}}, Meta());
  }
  const domain::Subscription& Sub(const std::string& id) {
    return (*processor_->State(customer_))->subscriptions.at(id);
  }

  testing::TempDir dir_;
  ManualClock clock_{At(2026, 11, 2, 9, 30)};
  domain::RandomIdSource ids_{19};
  std::unique_ptr<domain::Catalog> catalog_;
  std::unique_ptr<RocksDbEventLog> log_;
  std::unique_ptr<CommandProcessor> processor_;
  std::string customer_;
};

TEST_F(NewCommerceTest, APlanIsOneTheOfferIsSoldOn) {
  auto line = [](const std::string& offer, const char* term, const char* cycle) {
    auto item = Item(offer, 1);
    item.term_duration = term;
    item.billing_cycle = cycle;
    return item;
  };
  EXPECT_EQ(Buy(line(offers::kBusinessBasic, "P3Y", "monthly")).error().code(), ErrorCode::kInvalidTerm);
  EXPECT_EQ(Buy(line(offers::kBusinessBasic, "P6M", "monthly")).error().code(), ErrorCode::kInvalidTerm);
  EXPECT_EQ(Buy(line(offers::kBusinessBasic, "P1M", "annual")).error().code(), ErrorCode::kBillingCycleLongerThanTerm);
  EXPECT_EQ(Buy(line(offers::kE3, "P1Y", "triennial")).error().code(), ErrorCode::kBillingCycleLongerThanTerm);
  EXPECT_EQ(Buy(line(offers::kBusinessBasic, "P1Y", "weekly")).error().code(), ErrorCode::kInvalidBillingCycle);
  EXPECT_EQ(Buy(line(offers::kAzurePlan, "P1Y", "monthly")).error().code(), ErrorCode::kInvalidTerm);
  const std::string e3 = BuyOk(line(offers::kE3, "P3Y", "triennial"));
  EXPECT_EQ(Sub(e3).term_duration, "P3Y");
  EXPECT_EQ(Sub(e3).billing_cycle, "triennial");
  EXPECT_EQ(Sub(e3).unit_price, 82800);
  EXPECT_EQ(Sub(e3).currency, "USD");
  // Without a term, the billing cycle's length.
  auto annual = Item(offers::kBusinessBasic, 2);
  annual.billing_cycle = "annual";
  EXPECT_EQ(Sub(BuyOk(annual)).term_duration, "P1Y");
  EXPECT_EQ(Sub(BuyOk(Item(offers::kBusinessBasic, 2))).term_duration, "P1M");
}

TEST_F(NewCommerceTest, ThePriceIsTheOneInForceAtPurchaseAndStaysIt) {
  auto yearly = Item(offers::kBusinessBasic, 3);
  yearly.term_duration = "P1Y";
  clock_.Set(At(2027, 3, 31, 23, 59));
  const std::string before = BuyOk(yearly);
  clock_.Set(At(2027, 4, 1));
  const std::string after = BuyOk(yearly);
  EXPECT_EQ(Sub(before).unit_price, 600) << "6.00 until the change";
  EXPECT_EQ(Sub(after).unit_price, 700) << "7.00 from 2027-04-01";
  // A later event does not reprice what was bought.
  ASSERT_TRUE(Update(before, 4).ok());
  EXPECT_EQ(Sub(before).unit_price, 600);
}

TEST_F(NewCommerceTest, CancellingIsAllowedFor168HoursAfterThePurchase) {
  const int64_t bought = clock_.NowMicros();
  const std::string inside = BuyOk(Item(offers::kBusinessBasic, 5));
  const std::string edge = BuyOk(Item(offers::kBusinessBasic, 5));
  clock_.Set(bought + 167 * kHour + 59 * kMinute);
  ASSERT_TRUE(Update(inside, std::nullopt, SubscriptionStatus::kDeleted).ok()) << "at 167h59m";
  EXPECT_EQ(Sub(inside).status, SubscriptionStatus::kDeleted);
  clock_.Set(bought + 168 * kHour);
  const uint64_t head = log_->Head();
  auto late = Update(edge, std::nullopt, SubscriptionStatus::kDeleted);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code(), ErrorCode::kCancellationWindowPassed);
  EXPECT_EQ(HttpStatus(late.error().code()), 400);
  EXPECT_NE(late.error().message().find("168-hour"), std::string::npos) << late.error().message();
  EXPECT_EQ(log_->Head(), head) << "a refused command appends nothing";
  EXPECT_EQ(Sub(edge).status, SubscriptionStatus::kActive);
  // Suspending is no cancellation: still allowed.
  EXPECT_TRUE(Update(edge, std::nullopt, SubscriptionStatus::kSuspended).ok());
}

TEST_F(NewCommerceTest, SeatsAreRemovedOnlyWithinTheWindowOfThePurchaseThatAddedThem) {
  const int64_t bought = clock_.NowMicros();
  const std::string sub = BuyOk(Item(offers::kBusinessBasic, 10));
  clock_.Set(bought + 100 * kHour);
  ASSERT_TRUE(Update(sub, 15).ok()) << "an increase, any time: 5 seats with their own window";
  clock_.Set(bought + 167 * kHour + 59 * kMinute);
  ASSERT_TRUE(Update(sub, 14).ok()) << "inside every window";
  clock_.Set(bought + 168 * kHour);
  auto too_many = Update(sub, 9);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code(), ErrorCode::kSeatReductionWindowPassed);
  EXPECT_NE(too_many.error().message().find("168-hour"), std::string::npos);
  EXPECT_NE(too_many.error().message().find("4 of its 14"), std::string::npos) << too_many.error().message();
  ASSERT_TRUE(Update(sub, 10).ok()) << "the 4 seats still inside the increase's window";
  EXPECT_EQ(Sub(sub).seats, (std::vector<domain::Seats>{{10, bought}}));
  clock_.Set(bought + 100 * kHour + 168 * kHour);
  ASSERT_TRUE(Update(sub, 12).ok());
  auto old_seats = Update(sub, 9);
  EXPECT_EQ(old_seats.error().code(), ErrorCode::kSeatReductionWindowPassed) << "only the 2 new seats may go";
  EXPECT_TRUE(Update(sub, 10).ok());
}

// The scheduler's command takes the step due at its due time once: a
// retry with its request id is answered with the first outcome, a stale one
// (another due time) or an early one decides nothing.
TEST_F(NewCommerceTest, ALifecycleStepIsTakenOnceAtItsDueTime) {
  const int64_t bought = clock_.NowMicros();  // 2026-11-02 09:30
  const std::string sub = BuyOk(Item(offers::kBusinessBasic, 3));
  const int64_t due = domain::TermOverAt(bought, "P1M");
  EXPECT_EQ(due, At(2026, 12, 2));
  const domain::CommandMeta meta{"system:lifecycle", "lifecycle-" + sub + "-" + std::to_string(due), ""};
  const domain::AdvanceSubscription step{customer_, {sub}, due};
  clock_.Set(due - 1);
  const uint64_t head = log_->Head();
  auto early = processor_->Execute(step, {"system:lifecycle", "early", ""});
  ASSERT_TRUE(early.ok()) << early.error().ToString();
  EXPECT_EQ(log_->Head(), head) << "not due yet: nothing";
  clock_.Set(due + 5 * kHour);
  auto renewed = processor_->Execute(step, meta);
  ASSERT_TRUE(renewed.ok()) << renewed.error().ToString();
  EXPECT_EQ(log_->Head(), head + 1);
  EXPECT_EQ(Sub(sub).term_start_us, due) << "the new term begins at the due time, not when the step ran";
  EXPECT_EQ(Sub(sub).seats, (std::vector<domain::Seats>{{3, due}}));
  auto again = processor_->Execute(step, meta);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  auto stale = processor_->Execute(step, {"system:lifecycle", "another-id", ""});
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(log_->Head(), head + 1) << "renewed once";
  // Auto-renew off: the next term's end expires it, 30 days later it is
  // disabled, 90 days after that deleted; each at its date.
  ASSERT_TRUE(processor_->Execute(domain::UpdateSubscription{customer_, sub, {}, {}, {}, false, {}}, Meta()).ok());
  const int64_t over = domain::TermOverAt(due, "P1M");
  clock_.Set(over + domain::kDisabledMicros + domain::kExpiredMicros);
  for (const auto& [at, status] : {std::pair{over, SubscriptionStatus::kExpired},
                                   std::pair{over + domain::kExpiredMicros, SubscriptionStatus::kDisabled},
                                   std::pair{over + domain::kExpiredMicros + domain::kDisabledMicros,
                                             SubscriptionStatus::kDeleted}}) {
    ASSERT_TRUE(processor_->Execute(domain::AdvanceSubscription{customer_, {sub}, at}, {"system:lifecycle", "", ""}).ok());
    EXPECT_EQ(Sub(sub).status, status);
    EXPECT_EQ(Sub(sub).status_since_us, at);
  }
  EXPECT_EQ(processor_->Execute(domain::UpdateSubscription{customer_, sub, 5, {}, {}, {}, {}}, Meta()).error().code(),
            ErrorCode::kSubscriptionDeleted);
}

// The scheduler's step for a customer's subscriptions due at one instant:
// one append renews those due, skips the others, and a retry changes nothing.
TEST_F(NewCommerceTest, OneStepRenewsEveryOneOfACustomersSubscriptionsDueThen) {
  const int64_t bought = clock_.NowMicros();
  const std::string a = BuyOk(Item(offers::kBusinessBasic, 3)), b = BuyOk(Item(offers::kE3, 2));
  domain::LineItem annual = Item(offers::kE3, 4);
  annual.term_duration = "P1Y";
  const std::string c = BuyOk(annual);  // due a year later: skipped
  const int64_t due = domain::TermOverAt(bought, "P1M");
  std::vector<domain::AdvanceSubscription> steps;
  for (const auto& id : {a, b, c}) domain::AddDueSubscription(steps, customer_, id, due);
  ASSERT_EQ(steps.size(), 1u) << "one customer, one instant: one step";
  domain::AddDueSubscription(steps, customer_, a, due + 1);
  EXPECT_EQ(steps.size(), 2u) << "another instant: another step";
  steps.pop_back();
  const domain::AdvanceSubscription& step = steps[0];
  EXPECT_EQ(domain::LifecycleRequestId(step), domain::LifecycleRequestId(domain::AdvanceSubscription{step}));
  EXPECT_NE(domain::LifecycleRequestId(step),
            domain::LifecycleRequestId(domain::AdvanceSubscription{customer_, {a, b}, due}));
  EXPECT_EQ(domain::LifecycleRequestId(domain::AdvanceSubscription{customer_, {a}, due}),
            "lifecycle-" + a + "-" + std::to_string(due)) << "one subscription: the id steps always had";
  clock_.Set(due);
  const uint64_t head = log_->Head();
  const domain::CommandMeta meta{"system:lifecycle", domain::LifecycleRequestId(step), ""};
  auto renewed = processor_->Execute(step, meta);
  ASSERT_TRUE(renewed.ok()) << renewed.error().ToString();
  EXPECT_EQ(log_->Head(), head + 2) << "a and b renewed in one append; c is not due";
  EXPECT_EQ(Sub(a).term_start_us, due);
  EXPECT_EQ(Sub(b).term_start_us, due);
  EXPECT_EQ(Sub(c).term_start_us, bought);
  auto again = processor_->Execute(step, {"system:lifecycle", "another-id", ""});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(log_->Head(), head + 2) << "taken already: nothing";
  domain::AdvanceSubscription too_many{customer_, std::vector<std::string>(domain::kMaxAdvancedAtOnce + 1, a), due};
  EXPECT_EQ(processor_->Execute(too_many, Meta()).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(processor_->Execute(domain::AdvanceSubscription{customer_, {a, "no-such"}, due}, Meta()).error().code(),
            ErrorCode::kSubscriptionNotFound);
}

// Scheduled changes: set on an active, renewing subscription; the renewal
// takes them; a quantity change, auto-renew off or suspension clears them.
TEST_F(NewCommerceTest, ScheduledChangesAreWhatTheNextTermRenewsTo) {
  const int64_t bought = clock_.NowMicros();
  const std::string sub = BuyOk(Item(offers::kBusinessBasic, 3));
  auto schedule = [&](domain::NextTerm next) {
    domain::UpdateSubscription u{customer_, sub, {}, {}, {}, {}, {}};
    u.next_term = std::move(next);
    return processor_->Execute(u, Meta());
  };
  EXPECT_EQ(schedule({7, "P1M", "annual", ""}).error().code(), ErrorCode::kBillingCycleLongerThanTerm);
  EXPECT_EQ(schedule({0, "", "", ""}).error().code(), ErrorCode::kInvalidQuantity);
  EXPECT_EQ(schedule({7, "", "", "another-offer"}).error().code(), ErrorCode::kNextTermNotAllowed) << "no such upgrade";
  ASSERT_TRUE(schedule({7, "P1Y", "annual", ""}).ok());
  EXPECT_EQ(*Sub(sub).next_term, (domain::NextTerm{7, "P1Y", "annual", ""}));
  const uint64_t head = log_->Head();
  ASSERT_TRUE(schedule({7, "P1Y", "annual", ""}).ok());
  EXPECT_EQ(log_->Head(), head) << "the same schedule sent back changes nothing";
  // A quantity change clears it (Partner Center); so would auto-renew off.
  ASSERT_TRUE(Update(sub, 4).ok());
  EXPECT_FALSE(Sub(sub).next_term.has_value());
  ASSERT_TRUE(schedule({9, "P1Y", "monthly", ""}).ok());
  const int64_t due = domain::TermOverAt(bought, "P1M");
  clock_.Set(due);
  ASSERT_TRUE(processor_->Execute(domain::AdvanceSubscription{customer_, {sub}, due}, {"system:lifecycle", "", ""}).ok());
  const domain::Subscription& renewed = Sub(sub);
  EXPECT_EQ(renewed.quantity, 9);
  EXPECT_EQ(renewed.term_duration, "P1Y");
  EXPECT_EQ(renewed.billing_cycle, "monthly");
  EXPECT_EQ(renewed.unit_price, 600) << "the new plan's price in force at renewal";
  EXPECT_FALSE(renewed.next_term.has_value());
  EXPECT_EQ(domain::CommitmentEndDay(renewed.term_start_us, renewed.term_duration), At(2027, 12, 1));
  // Not on a suspended subscription; suspending clears a schedule.
  ASSERT_TRUE(schedule({10, "", "", ""}).ok());
  ASSERT_TRUE(Update(sub, std::nullopt, SubscriptionStatus::kSuspended).ok());
  EXPECT_FALSE(Sub(sub).next_term.has_value());
  EXPECT_EQ(schedule({11, "", "", ""}).error().code(), ErrorCode::kNextTermNotAllowed);
}

// Upgrades at renewal: to an offer the catalog lists as an upgrade of the
// subscription's, which every add-on on it can follow; the renewal moves
// the subscription to it, at its price in force then.
TEST_F(NewCommerceTest, AnUpgradeIsScheduledForTheNextTermAndTakenAtRenewal) {
  const int64_t bought = clock_.NowMicros();
  const std::string sub = BuyOk(Item(offers::kBusinessBasic, 3));
  const std::string premium = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46";  // Microsoft 365 Business Premium
  auto add_on = processor_->Execute(domain::AddAddOn{customer_, Sub(sub).order_id, {Item(offers::kDefenderP1, 3, sub)}},
                                    Meta());
  ASSERT_TRUE(add_on.ok()) << add_on.error().ToString();
  const std::string defender = add_on->subscription_ids.at(0);
  auto schedule = [&](domain::NextTerm next) {
    domain::UpdateSubscription u{customer_, sub, {}, {}, {}, {}, {}};
    u.next_term = std::move(next);
    return processor_->Execute(u, Meta());
  };
  auto not_upgrade = schedule({3, "P1Y", "monthly", offers::kE3});
  ASSERT_FALSE(not_upgrade.ok());
  EXPECT_EQ(not_upgrade.error().code(), ErrorCode::kNextTermNotAllowed);
  EXPECT_NE(not_upgrade.error().message().find("not an upgrade"), std::string::npos) << not_upgrade.error().message();
  auto add_on_stuck = schedule({3, "P1Y", "monthly", premium});
  ASSERT_FALSE(add_on_stuck.ok()) << "Defender (Plan 1) cannot sit on Business Premium";
  EXPECT_EQ(add_on_stuck.error().code(), ErrorCode::kNextTermNotAllowed);
  EXPECT_NE(add_on_stuck.error().message().find(defender), std::string::npos) << add_on_stuck.error().message();
  EXPECT_EQ(schedule({301, "P1Y", "monthly", offers::kBusinessStandard}).error().code(),
            ErrorCode::kQuantityOutOfRange) << "the target's quantity range";
  ASSERT_TRUE(schedule({5, "P1Y", "monthly", offers::kBusinessStandard}).ok());
  EXPECT_EQ(Sub(sub).next_term->offer_id, offers::kBusinessStandard);
  EXPECT_EQ(Sub(sub).offer_id, offers::kBusinessBasic) << "until the renewal";

  const int64_t due = domain::TermOverAt(bought, "P1M");
  clock_.Set(due);
  ASSERT_TRUE(processor_->Execute(domain::AdvanceSubscription{customer_, {sub}, due}, {"system:lifecycle", "", ""}).ok());
  const domain::Subscription& renewed = Sub(sub);
  EXPECT_EQ(renewed.offer_id, offers::kBusinessStandard);
  EXPECT_EQ(renewed.quantity, 5);
  EXPECT_EQ(renewed.term_duration, "P1Y");
  EXPECT_EQ(renewed.unit_price, 1250) << "Business Standard's P1Y monthly price in force at renewal";
  EXPECT_FALSE(renewed.next_term.has_value());
  EXPECT_EQ(Sub(defender).parent_id, sub);
  EXPECT_EQ(Sub(defender).status, SubscriptionStatus::kActive) << "the add-on follows its base";
  // A fresh processor reads the same from the log.
  CommandProcessor fresh(*log_, *catalog_, domain::Instance::kGlobal, ids_);
  EXPECT_EQ((*fresh.State(customer_))->subscriptions.at(sub), renewed);
}

// Events written before new commerce (schema 2: no term, price or
// currency in SubscriptionCreated) still read: a P1M term from the
// purchase, price 0, its seats in one batch, and a lifecycle step due.
TEST(OlderEventsTest, ASubscriptionBoughtBeforeNewCommerceReadsWithDefaults) {
  events::SampleEvents samples(3);
  const std::string customer = samples.Uuid();
  const std::string bytes = samples.SubscriptionCreated(customer, "r1", 7);  // built with the schema-2 fields only
  auto envelope = events::VerifyEnvelope(bytes);
  ASSERT_TRUE(envelope.ok());
  const auto* created = (*envelope)->payload_as_SubscriptionCreated();
  ASSERT_NE(created, nullptr);
  ASSERT_EQ(created->term_duration(), nullptr) << "the sample is an older event";
  domain::CustomerState state;
  domain::Evolve(state, **envelope);
  ASSERT_EQ(state.subscriptions.size(), 1u);
  const domain::Subscription& sub = state.subscriptions.begin()->second;
  EXPECT_EQ(sub.term_duration, "P1M");
  EXPECT_EQ(sub.unit_price, 0);
  EXPECT_EQ(sub.currency, "");
  EXPECT_EQ(sub.seats, (std::vector<domain::Seats>{{7, sub.term_start_us}}));
  const auto next = domain::NextLifecycleStep("active", sub.term_duration, sub.term_start_us, sub.auto_renew, 0);
  EXPECT_EQ(next.step, domain::LifecycleStep::kRenew);
  EXPECT_EQ(next.due_us, domain::TermOverAt(sub.term_start_us, "P1M"));
}

}  // namespace
}  // namespace tally
