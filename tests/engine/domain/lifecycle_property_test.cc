// Issue 19's property test: random purchases, seat changes, cancellations,
// suspensions, auto-renew switches and clock jumps (fixed, printed seed),
// the scheduler's steps taken after each jump as tallyd's scheduler takes
// them. After every step the domain agrees with an independent model
// written here, which walks time day by day with its own calendar
// arithmetic: whether each command is accepted (and the code when not), and
// each subscription's status, quantity, term start, auto-renew and seats.
// At the end the state replayed from the log equals the live one and no
// subscription renewed twice for one term.
#include <gtest/gtest.h>

#include <ctime>
#include <map>
#include <random>
#include <set>

#include "engine/command_processor.h"
#include "engine/domain/terms.h"
#include "engine/rocksdb_event_log.h"
#include "events/codec.h"
#include "tests/testing/due_step.h"
#include "tests/testing/oracle_calendar.h"
#include "tests/testing/test_util.h"
#include "tools/common/workload.h"

namespace tally {
namespace {

namespace offers = tally::tools::offers;
using domain::SubscriptionStatus;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kHour = 3600 * kSecond;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kWindow = 168 * kHour;

// The model's calendar (its own, not the engine's): 00:00 UTC of the
// term's anniversary (the day after its last day).
int64_t ModelTermOver(int64_t start_us, const std::string& term) {
  return testing::OracleAddMonths(start_us, term == "P1M" ? 1 : term == "P1Y" ? 12 : 36);
}

struct ModelSub {
  std::string term;
  int64_t term_start = 0;
  int32_t quantity = 0;
  bool auto_renew = true;
  std::string status = "active";
  int64_t since = 0;
  std::vector<domain::Seats> seats;
  int64_t Removable(int64_t now) const {
    int64_t n = 0;
    for (const auto& s : seats) n += now < s.added_at_us + kWindow ? s.quantity : 0;
    return n;
  }
};

class LifecyclePropertyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto catalog = domain::Catalog::Load(TALLY_OFFERS_JSON);
    ASSERT_TRUE(catalog.ok());
    catalog_ = std::make_unique<domain::Catalog>(std::move(*catalog));
    RocksDbEventLogOptions options;
    options.clock = &clock_;
    auto log = RocksDbEventLog::Open(dir_.Sub("log"), options);
    ASSERT_TRUE(log.ok());
    log_ = std::move(*log);
    processor_ = std::make_unique<CommandProcessor>(*log_, *catalog_, domain::Instance::kGlobal, ids_);
    auto created = processor_->Execute(tools::ValidAddCustomer("lifecycle"), {"p1", "", ""});
    ASSERT_TRUE(created.ok());
    customer_ = created->customer_id;
  }

  const domain::CustomerState& State() { return **processor_->State(customer_); }

  // The model walks from its time to `to`, one day boundary at a time.
  void ModelAdvance(int64_t to) {
    for (int64_t day = (model_now_ / kDay + 1) * kDay; day <= to; day += kDay) {
      for (auto& [id, m] : model_) {
        if (m.status == "active" && ModelTermOver(m.term_start, m.term) == day) {
          if (m.auto_renew) {
            m.term_start = day;
            m.seats = {{m.quantity, day}};
          } else {
            m.status = "expired";
            m.since = day;
          }
        } else if (m.status == "suspended" && ModelTermOver(m.term_start, m.term) == day) {
          m.status = "disabled";
          m.since = day;
          m.auto_renew = false;
        } else if (m.status == "expired" && m.since + 30 * kDay == day) {
          m.status = "disabled";
          m.since = day;
          m.auto_renew = false;
        } else if (m.status == "disabled" && m.since + 90 * kDay == day) {
          m.status = "deleted";
          m.since = day;
        }
      }
    }
    model_now_ = to;
  }

  // What tallyd's scheduler does after the clock moved: every due step,
  // pass after pass, with its request ids.
  void RunScheduler() {
    while (auto due = testing::FirstDueStep(State(), clock_.NowMicros())) {
      const std::string request = "lifecycle-" + due->subscription_id + "-" + std::to_string(due->due_us);
      const domain::AdvanceSubscription step{customer_, {due->subscription_id}, due->due_us};
      auto r = processor_->Execute(step, {"system:lifecycle", request, ""});
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      // A second scheduler with the same request: the first outcome, nothing appended.
      const uint64_t head = log_->Head();
      auto twice = processor_->Execute(step, {"system:lifecycle", request, ""});
      ASSERT_TRUE(twice.ok());
      ASSERT_EQ(log_->Head(), head);
      if (r->last_position == 0) break;  // the step changed nothing: it would come up again
    }
  }

  void Compare(const std::string& when) {
    const auto& subs = State().subscriptions;
    ASSERT_EQ(subs.size(), model_.size()) << when;
    for (const auto& [id, m] : model_) {
      const domain::Subscription& s = subs.at(id);
      ASSERT_EQ(StatusName(s.status), m.status) << when << " " << id;
      ASSERT_EQ(s.quantity, m.quantity) << when << " " << id;
      ASSERT_EQ(s.term_start_us, m.term_start) << when << " " << id;
      ASSERT_EQ(s.auto_renew, m.auto_renew) << when << " " << id;
      ASSERT_EQ(s.seats, m.seats) << when << " " << id;
      ASSERT_EQ(s.status_since_us, m.since) << when << " " << id;
      ASSERT_EQ(domain::RemovableSeats(s.seats, clock_.NowMicros()), m.Removable(clock_.NowMicros())) << when;
    }
  }

  testing::TempDir dir_;
  ManualClock clock_{1'767'255'000'000'000};  // 2026-01-01T08:10:00Z
  int64_t model_now_ = 1'767'255'000'000'000;
  domain::RandomIdSource ids_{7};
  std::unique_ptr<domain::Catalog> catalog_;
  std::unique_ptr<RocksDbEventLog> log_;
  std::unique_ptr<CommandProcessor> processor_;
  std::string customer_;
  std::map<std::string, ModelSub> model_;
};

TEST_F(LifecyclePropertyTest, RandomHistoriesAgreeWithADayByDayModel) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t n) { return static_cast<size_t>(rng() % n); };
  const std::pair<std::string, std::string> plans[] = {{"P1M", "monthly"}, {"P1Y", "monthly"}, {"P1Y", "annual"},
                                                        {"P3Y", "annual"}};
  const int64_t jumps[] = {kHour, 20 * kHour, 3 * kDay, 167 * kHour + 59 * 60 * kSecond, 8 * kDay, 35 * kDay,
                           200 * kDay};
  size_t accepted = 0, refused = 0, steps_taken_before = log_->Head();
  for (int step = 0; step < 400; ++step) {
    const std::string when = "step " + std::to_string(step);
    std::vector<std::string> ids;
    for (const auto& [id, m] : model_) ids.push_back(id);
    const size_t op = pick(10);
    const int64_t now = clock_.NowMicros();
    if (op == 0 || ids.empty()) {  // buy
      const auto& [term, cycle] = plans[pick(4)];
      auto item = tools::Item(term == "P3Y" ? offers::kE3 : offers::kBusinessBasic, 1 + pick(20));
      item.term_duration = term;
      item.billing_cycle = cycle;
      auto r = processor_->Execute(domain::CreateOrder{customer_, {item}}, {"p1", "", ""});
      ASSERT_TRUE(r.ok()) << when << ": " << r.error().ToString();
      ModelSub m;
      m.term = term;
      m.term_start = now;
      m.quantity = static_cast<int32_t>(item.quantity);
      m.seats = {{m.quantity, now}};
      model_[r->subscription_ids.at(0)] = m;
      ++accepted;
    } else if (op <= 6) {  // a command on one subscription
      const std::string id = ids[pick(ids.size())];
      ModelSub& m = model_.at(id);
      domain::UpdateSubscription u{customer_, id, {}, {}, {}, {}, {}};
      std::optional<ErrorCode> expect;
      auto gone = [&]() -> std::optional<ErrorCode> {
        if (m.status == "deleted") return ErrorCode::kSubscriptionDeleted;
        if (m.status == "expired" || m.status == "disabled") return ErrorCode::kSubscriptionNotUpdatable;
        return std::nullopt;
      };
      const size_t kind = op;  // 1-2 quantity, 3 cancel, 4 suspend or reactivate, 5-6 auto-renew
      if (kind <= 2) {
        const int32_t delta = static_cast<int32_t>(1 + pick(6)) * (pick(2) ? 1 : -1);
        const int32_t to = std::clamp(m.quantity + delta, 1, 300);
        if (to == m.quantity) continue;
        u.quantity = to;
        expect = gone();
        if (!expect && m.status == "suspended") expect = ErrorCode::kSuspendedSubscriptionCannotBeUpdated;
        if (!expect && to < m.quantity && m.quantity - to > m.Removable(now)) {
          expect = ErrorCode::kSeatReductionWindowPassed;
        }
        if (!expect) {
          domain::ChangeSeats(m.seats, m.quantity, to, now);
          m.quantity = to;
        }
      } else if (kind == 3) {
        u.status = SubscriptionStatus::kDeleted;
        expect = gone();
        if (!expect && now >= m.term_start + kWindow) expect = ErrorCode::kCancellationWindowPassed;
        if (!expect) m.status = "deleted";
      } else if (kind == 4) {
        if (m.status != "active" && m.status != "suspended") continue;
        u.status = m.status == "active" ? SubscriptionStatus::kSuspended : SubscriptionStatus::kActive;
        if (m.status == "active") m.auto_renew = false;
        m.status = m.status == "active" ? "suspended" : "active";
      } else {
        if (m.status != "active") continue;
        u.auto_renew = !m.auto_renew;
        m.auto_renew = !m.auto_renew;
      }
      auto r = processor_->Execute(u, {"p1", "", ""});
      if (expect) {
        ASSERT_FALSE(r.ok()) << when << ": expected " << static_cast<int>(*expect) << " for " << id;
        ASSERT_EQ(r.error().code(), *expect) << when << ": " << r.error().ToString();
        ++refused;
      } else {
        ASSERT_TRUE(r.ok()) << when << ": " << r.error().ToString();
        ++accepted;
      }
    } else {  // time passes; the scheduler catches up
      clock_.Advance(jumps[pick(std::size(jumps))]);
      RunScheduler();
      ModelAdvance(clock_.NowMicros());
    }
    Compare(when);
  }
  std::printf("commands accepted %zu, refused %zu; lifecycle and other events %llu\n", accepted, refused,
              static_cast<unsigned long long>(log_->Head() - steps_taken_before));
  EXPECT_GT(refused, 10u) << "the windows were exercised";

  // The state replayed from the log is the live one.
  domain::RandomIdSource other_ids(8);
  CommandProcessor fresh(*log_, *catalog_, domain::Instance::kGlobal, other_ids);
  auto replayed = fresh.State(customer_);
  ASSERT_TRUE(replayed.ok());
  EXPECT_TRUE(**replayed == State());
  // No term renewed twice.
  std::set<std::pair<std::string, int64_t>> renewals;
  size_t count = 0;
  auto events = log_->Read(1, log_->Head());
  ASSERT_TRUE(events.ok());
  for (const auto& stored : *events) {
    auto env = events::VerifyEnvelope(stored.envelope);
    ASSERT_TRUE(env.ok());
    if ((*env)->payload_type() != events::Payload::SubscriptionRenewed) continue;
    const auto* p = (*env)->payload_as_SubscriptionRenewed();
    ++count;
    EXPECT_TRUE(renewals.emplace(p->subscription_id()->str(), p->term_start_us()).second)
        << p->subscription_id()->str() << " renewed twice for one term";
  }
  std::printf("renewals %zu\n", count);
  EXPECT_GT(count, 0u);
}

}  // namespace
}  // namespace tally
