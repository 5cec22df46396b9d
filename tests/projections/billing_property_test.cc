// Issue 20's property test: random purchases, seat changes, cancellations,
// suspensions, auto-renew switches and clock jumps (fixed, printed seed),
// renewals taken by the scheduler's steps after each jump. The billing
// model, kept up to date after every step by a runner in small batches,
// is checked against an oracle written here that knows nothing of line
// items: it keeps every seat of every term with when it was added and
// removed, walks the calendar with its own arithmetic, integrates the
// seat-days each billing period charges, and rounds each period's amount
// once. Per subscription, the model's lines that have begun sum to the
// oracle's total to the minor unit. At the end a rebuild from scratch
// equals the live model, row for row, and so does the as-of.
#include <gtest/gtest.h>

#include <ctime>
#include <map>
#include <random>

#include "engine/domain/terms.h"
#include "projections/billing/billing.h"
#include "projections/rebuild.h"
#include "tests/projections/projection_fixture.h"
#include "tests/testing/due_step.h"
#include "tests/testing/oracle_calendar.h"
#include "tests/testing/projection_rows.h"

namespace tally {
namespace {

namespace offers = tally::tools::offers;
using domain::SubscriptionStatus;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kHour = 3600 * kSecond;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kWindow = 168 * kHour;
constexpr int64_t kNever = INT64_MAX;

int64_t FloorDay(int64_t us) { return us / kDay * kDay; }

using testing::OracleAddMonths;

int Months(const std::string& s) { return s == "P1M" || s == "monthly" ? 1 : s == "P1Y" || s == "annual" ? 12 : 36; }

struct Seat {
  int64_t added = 0;
  int64_t removed = kNever;
};

struct Term {
  int64_t start = 0;
  std::string term, cycle;
  int64_t price = 0;
  std::vector<Seat> seats;  // in the order added
  int64_t cancelled = kNever;

  size_t Present() const {
    size_t n = 0;
    for (const Seat& s : seats) n += s.removed == kNever;
    return n;
  }
  // What the term charges for its periods begun by `until`.
  int64_t Charged(int64_t until) const {
    const int m = Months(cycle), periods = Months(term) / m;
    int64_t total = 0;
    for (int k = 0; k < periods; ++k) {
      const int64_t day = k == 0 ? FloorDay(start) : OracleAddMonths(start, k * m);
      const int64_t begins = k == 0 ? start : day, next = OracleAddMonths(start, (k + 1) * m);
      if (day > until || cancelled < begins) break;
      const int64_t n = (next - day) / kDay;
      int64_t seat_days = 0;
      for (const Seat& s : seats) {
        if (s.added >= next || s.removed < begins) continue;
        int64_t days = s.added >= begins ? n - (FloorDay(s.added) - day) / kDay : n;
        if (s.removed < next && s.removed < s.added + kWindow) {
          days = std::min(days, (s.removed - std::max(s.added, begins)) / kDay);
        }
        seat_days += days;
      }
      // Half away from zero (never negative here).
      const __int128 num = static_cast<__int128>(price) * seat_days;
      total += static_cast<int64_t>((2 * num + n) / (2 * n));
    }
    return total;
  }
};

struct OracleSub {
  std::string offer;
  std::vector<Term> terms;
  std::string status = "active";
  bool auto_renew = true;
  Term& Now() { return terms.back(); }
};

class BillingPropertyTest : public testing::ProjectionFixture {
 protected:
  void SetUp() override {
    ProjectionFixture::SetUp();
    clock_.Set(oracle_now_);
    auto created = processor_->Execute(tools::ValidAddCustomer("billingprop"), {"p1", "", ""});
    ASSERT_TRUE(created.ok());
    customer_ = created->customer_id;
    projections::RunnerOptions options;
    options.batch_events = 7;  // many small batches: rows cached and written back across them
    OpenStore(options);
  }

  const domain::CustomerState& State() { return **processor_->State(customer_); }

  int64_t PriceAt(const std::string& offer, const std::string& term, const std::string& cycle, int64_t at) {
    const domain::Price* p = catalog_->Find(offer)->PriceAt(term, cycle, at);
    return p != nullptr ? p->unit_price : 0;
  }

  // The scheduler, as in tallyd: every due step, pass after pass.
  void RunScheduler() {
    while (auto due = testing::FirstDueStep(State(), clock_.NowMicros())) {
      auto r = processor_->Execute(domain::AdvanceSubscription{customer_, {due->subscription_id}, due->due_us},
                                   {"system:lifecycle", "", ""});
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      ASSERT_GT(r->last_position, 0u) << "a due step changes the subscription";
    }
  }

  // The oracle's own walk of time: terms that end renew (active with
  // auto-renew on: every seat carried over, the price then in force) or
  // stop charging.
  void OracleAdvance(int64_t to) {
    for (int64_t day = FloorDay(oracle_now_) + kDay; day <= to; day += kDay) {
      for (auto& [id, o] : oracle_) {
        Term& t = o.Now();
        if ((o.status != "active" && o.status != "suspended") || OracleAddMonths(t.start, Months(t.term)) != day) {
          continue;
        }
        if (o.status == "active" && o.auto_renew) {
          Term next{day, t.term, t.cycle, PriceAt(o.offer, t.term, t.cycle, day), {}, kNever};
          next.seats.assign(t.Present(), Seat{day, kNever});
          o.terms.push_back(std::move(next));
        } else {
          o.status = "over";
        }
      }
    }
    oracle_now_ = to;
  }

  int64_t oracle_now_ = 1'772'439'000'000'000;  // 2026-03-02T08:10:00Z
  std::string customer_;
  std::map<std::string, OracleSub> oracle_;
};

TEST_F(BillingPropertyTest, TheModelChargesWhatTheSeatDaysSay) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t n) { return static_cast<size_t>(rng() % n); };
  struct Plan { std::string offer, term, cycle; };
  const Plan plans[] = {{offers::kBusinessBasic, "P1M", "monthly"},
                        {offers::kBusinessBasic, "P1Y", "monthly"},
                        {offers::kBusinessBasic, "P1Y", "annual"},
                        {offers::kE3, "P3Y", "annual"}};
  // Mostly short: seats are removed and subscriptions cancelled only inside
  // their 168-hour windows, so credits need commands soon after purchases.
  const int64_t jumps[] = {kHour, 5 * kHour, 20 * kHour, 23 * kHour, 30 * kHour, 3 * kDay + 5 * kHour,
                           6 * kDay + 2 * kHour, 167 * kHour, 8 * kDay, 17 * kDay, 35 * kDay, 200 * kDay};
  size_t accepted = 0, refused = 0, credits = 0;
  std::string latest;
  for (int step = 0; step < 600; ++step) {
    const std::string when = "step " + std::to_string(step);
    std::vector<std::string> ids;
    for (const auto& [id, o] : oracle_) ids.push_back(id);
    const size_t op = pick(10);
    const int64_t now = clock_.NowMicros();
    if (op == 0 || ids.empty()) {  // buy
      const Plan& plan = plans[pick(std::size(plans))];
      auto item = tools::Item(plan.offer, 1 + pick(20));
      item.term_duration = plan.term;
      item.billing_cycle = plan.cycle;
      auto r = processor_->Execute(domain::CreateOrder{customer_, {item}}, {"p1", "", ""});
      ASSERT_TRUE(r.ok()) << when << ": " << r.error().ToString();
      OracleSub o;
      o.offer = plan.offer;
      Term t{now, plan.term, plan.cycle, PriceAt(plan.offer, plan.term, plan.cycle, now), {}, kNever};
      t.seats.assign(item.quantity, Seat{now, kNever});
      o.terms.push_back(std::move(t));
      latest = r->subscription_ids.at(0);
      oracle_[latest] = std::move(o);
      ++accepted;
    } else if (op <= 6) {  // a command on one subscription; the oracle follows what was accepted
      // Half the time the newest subscription, whose windows are likeliest open.
      const std::string id = pick(2) != 0 && !latest.empty() ? latest : ids[pick(ids.size())];
      OracleSub& o = oracle_.at(id);
      domain::UpdateSubscription u{customer_, id, {}, {}, {}, {}, {}};
      const int64_t present = static_cast<int64_t>(o.Now().Present());
      int64_t to = present;
      if (op <= 3) {
        to = std::clamp<int64_t>(present + static_cast<int64_t>(1 + pick(6)) * (pick(2) ? 1 : -1), 1, 300);
        if (to == present) continue;
        u.quantity = to;
      } else if (op == 4) {
        u.status = SubscriptionStatus::kDeleted;
      } else if (op == 5) {
        if (o.status != "active" && o.status != "suspended") continue;
        u.status = o.status == "active" ? SubscriptionStatus::kSuspended : SubscriptionStatus::kActive;
      } else {
        if (o.status != "active") continue;
        u.auto_renew = !o.auto_renew;
      }
      auto r = processor_->Execute(u, {"p1", "", ""});
      if (!r.ok()) {
        ++refused;
        continue;
      }
      ++accepted;
      Term& t = o.Now();
      credits += u.quantity ? to < present : u.status == SubscriptionStatus::kDeleted;
      if (u.quantity && to > present) {
        t.seats.insert(t.seats.end(), to - present, Seat{now, kNever});
      } else if (u.quantity) {
        for (auto it = t.seats.rbegin(); it != t.seats.rend() && to < present; ++it) {
          if (it->removed == kNever) it->removed = now, ++to;
        }
      } else if (u.status == SubscriptionStatus::kDeleted) {
        for (Seat& s : t.seats) {
          if (s.removed == kNever) s.removed = now;
        }
        t.cancelled = now;
        o.status = "deleted";
      } else if (u.status) {
        o.status = o.status == "active" ? "suspended" : "active";
        if (o.status == "suspended") o.auto_renew = false;  // Partner Center turns it off
      } else {
        o.auto_renew = !o.auto_renew;
      }
    } else {  // time passes; the scheduler catches up
      clock_.Advance(jumps[pick(std::size(jumps))]);
      RunScheduler();
      OracleAdvance(clock_.NowMicros());
    }
    CatchUp();
    // Per subscription: the lines begun by now against the oracle.
    std::map<std::string, int64_t> lines;
    projections::BillingReader::Filter filter;
    filter.partner_id = "p1";
    filter.to_us = clock_.NowMicros() + 1;
    ASSERT_TRUE(projections::BillingReader(*store_)
                    .ForEach(filter, "", [&](std::string_view, const projections::billing::LineItem& l) {
                      lines[l.subscription_id] += l.subtotal;
                      return true;
                    })
                    .ok());
    for (const auto& [id, o] : oracle_) {
      int64_t expected = 0;
      for (const Term& t : o.terms) expected += t.Charged(clock_.NowMicros());
      ASSERT_EQ(lines[id], expected) << when << ": subscription " << id << " (" << o.terms.back().term << " "
                                     << o.terms.back().cycle << ", " << o.terms.size() << " term(s))";
    }
  }
  size_t terms = 0;
  for (const auto& [id, o] : oracle_) terms += o.terms.size();
  std::printf("commands accepted %zu (%zu seat removals or cancellations), refused %zu; %zu subscriptions, %zu terms\n",
              accepted, credits, refused, oracle_.size(), terms);
  EXPECT_GE(credits, 10u) << "seats were removed inside their windows";
  EXPECT_GT(terms, oracle_.size()) << "some terms renewed";
  EXPECT_GT(refused, 5u) << "the windows were exercised";

  // A rebuild from scratch equals the live model.
  auto fresh = projections::ProjectionStore::Open(dir_.Sub("fresh"), {"billing"});
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE(projections::Rebuild(*source_, **fresh, {"billing"}, nullptr).ok());
  const testing::Rows live = testing::DumpActive(*store_, "billing"), rebuilt = testing::DumpActive(**fresh, "billing");
  EXPECT_GT(live.size(), 100u);
  EXPECT_TRUE(live == rebuilt) << "live " << live.size() << " rows, rebuilt " << rebuilt.size();

  // As of now, from the customer's stream alone: the live model's lines.
  auto as_of = projections::BillingLinesAsOf(*log_, customer_, clock_.NowMicros(), dir_.Sub("as-of"));
  ASSERT_TRUE(as_of.ok()) << as_of.error().ToString();
  std::vector<projections::billing::LineItem> lines;
  ASSERT_TRUE(projections::BillingReader(*store_)
                  .ForEachOfCustomer(customer_, INT64_MIN, INT64_MAX,
                                     [&](const projections::billing::LineItem& l) { lines.push_back(l); })
                  .ok());
  EXPECT_EQ(as_of->lines.size(), lines.size());
  EXPECT_TRUE(as_of->lines == lines);
  EXPECT_EQ(as_of->last_position, log_->Head());
}

}  // namespace
}  // namespace tally
