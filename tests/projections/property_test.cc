// Property test: after random command sequences (fixed, printed seed), the
// incrementally maintained models (random batch sizes, restarts at random
// moments, catching up at random points) equal a rebuild from scratch, and
// agree with the domain's own state of every customer.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "projections/customer/customer.h"
#include "projections/license/license.h"
#include "projections/rebuild.h"
#include "projections/relationship/relationship.h"
#include "tests/projections/projection_fixture.h"

namespace tally::projections {
namespace {

using namespace tally::testing;  // NOLINT

class ProjectionPropertyTest : public ProjectionFixture {};

TEST_F(ProjectionPropertyTest, IncrementalModelsEqualARebuildAndTheDomainState) {
  const uint64_t seed = TestSeed();
  std::mt19937_64 rng(seed);
  tools::WorkloadOptions options;
  options.recent_customers = 30;
  tools::Workload workload(seed, options);
  constexpr int kSteps = 2500;
  int restarts = 0;
  for (int step = 0; step < kSteps; ++step) {
    clock_.Advance(static_cast<int64_t>(rng() % 5'000'000));
    auto [command, meta] = workload.Next(*processor_);
    workload.Learn(command, processor_->Execute(command, meta));
    const int dice = static_cast<int>(rng() % 100);
    if (dice < 10) {
      const uint64_t target = log_->Head() - rng() % 5;
      ASSERT_TRUE(runner_->CatchUp(target).ok()) << "step " << step;
    } else if (dice == 10) {
      // Batches of up to 40 events, applied in parallel (one thread per
      // model) or on one thread.
      const size_t batch = 1 + rng() % 40;
      OpenStore(RunnerOptions{.batch_events = batch, .parallel_min_events = rng() % 2 == 0 ? 1u : 1000u});
      ++restarts;
    }
  }
  CatchUp();
  std::printf("[ property ] %d steps, %zu customers, log head %llu, %d restarts\n", kSteps,
              workload.customers().size(), static_cast<unsigned long long>(log_->Head()), restarts);

  // Against the domain's state of each customer, rebuilt by the processor.
  CustomerReader customers(*store_);
  LicenseReader licenses(*store_);
  RelationshipReader relationships(*store_);
  size_t subscriptions = 0;
  for (const auto& id : workload.customers()) {
    const domain::CustomerState& s = StateOf(id);
    auto row = customers.Get(id);
    ASSERT_TRUE(row.ok() && row->has_value()) << id;
    EXPECT_EQ((*row)->domain, s.domain);
    EXPECT_EQ((*row)->address.city, s.billing.default_address.city) << id;
    std::set<std::string> partners;
    for (const auto& p : (*row)->partners) partners.insert(p.partner_id);
    std::set<std::string> want;
    for (const auto& [p, rel] : s.partners) want.insert(p);
    EXPECT_EQ(partners, want) << id;
    auto rel = relationships.ForCustomer(id);
    ASSERT_TRUE(rel.ok() && rel->has_value());
    EXPECT_EQ((*rel)->pending.size(), s.invitations.size()) << id;
    for (const char* partner : {"p1", "p2", "p3"}) {
      EXPECT_EQ(*licenses.Totals(id, partner), TotalsOf(s, partner)) << id << " " << partner;
      auto list = licenses.List(id, partner);
      ASSERT_TRUE(list.ok());
      for (const auto& sub : *list) {
        const domain::Subscription& d = s.subscriptions.at(sub.id);
        EXPECT_EQ(sub.quantity, d.quantity);
        EXPECT_EQ(sub.status, StatusName(d.status));
        EXPECT_EQ(sub.partner_id, d.partner_id);
        EXPECT_EQ(sub.updated_us, d.updated_at_us);
        ++subscriptions;
      }
    }
  }
  EXPECT_GT(subscriptions, 50u) << "the workload should create subscriptions";

  // The due list holds exactly each subscription's next lifecycle step.
  std::set<std::string> want_due, due;
  ASSERT_TRUE(licenses.ForEach([&](const SubscriptionRow& row) {
    if (auto key = DueKey(row)) want_due.insert(*key);
    return true;
  }).ok());
  for (const auto& [key, value] : Dump("license")) {
    if (key[0] == 'u') due.insert(key);
  }
  EXPECT_EQ(due, want_due);
  EXPECT_GT(due.size(), 50u);

  // Against rebuilds from position 1: written through the memtable (the
  // default), loaded as table files once at the end, and loaded every few
  // events (rows written in one table file changed or deleted in a later
  // one).
  std::map<std::string, Rows> incremental;
  for (const auto& m : ModelNames()) incremental[m] = Dump(m);
  RebuildOptions once;
  once.bulk_events = 1 << 20;
  RebuildOptions every_few;
  every_few.batch_events = 1 + rng() % 20;
  every_few.bulk_events = 1 + rng() % 60;
  for (const RebuildOptions& options : {RebuildOptions{}, once, every_few}) {
    SCOPED_TRACE("rebuild with bulk_events " + std::to_string(options.bulk_events) + ", batch_events " +
                 std::to_string(options.batch_events));
    ASSERT_TRUE(Rebuild(*source_, *store_, ModelNames(), runner_.get(), options).ok());
    for (const auto& m : ModelNames()) {
      const Rows rebuilt = Dump(m);
      ASSERT_EQ(rebuilt.size(), incremental[m].size()) << m;
      for (size_t i = 0; i < rebuilt.size(); ++i) {
        EXPECT_EQ(rebuilt[i], incremental[m][i]) << m << " row " << i;
      }
    }
  }
}

}  // namespace
}  // namespace tally::projections
