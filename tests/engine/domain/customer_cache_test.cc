// The command processor's bounded cache of customers' states: beyond its
// capacity the least recently used states are dropped and read from the
// log again, but never one whose events the log has not made durable.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "tests/engine/domain/domain_fixture.h"

namespace tally::domain {
namespace {

using namespace tally::testing;  // NOLINT

// A point threads pass, counted, and where they can be held.
class Gate {
 public:
  void Hold() { Set(true); }
  void Release() { Set(false); }
  // Counts `n` arrivals, then waits while the gate is held.
  void Pass(size_t n = 1) {
    std::unique_lock<std::mutex> lock(mu_);
    arrived_ += n;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !held_; });
  }
  void WaitArrived(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return arrived_ >= n; });
  }

 private:
  void Set(bool held) {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = held;
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  size_t arrived_ = 0;
};

// The real log behind gates: `commits` holds commits (what is staged
// meanwhile is not durable: Head does not move), `prepares` holds the
// staging thread in Prepare (commands submitted meanwhile queue up and are
// decided as one group); `prepared` counts the requests prepared.
class GatedLog final : public EventLog {
 public:
  explicit GatedLog(EventLog& log) : log_(log) {}

  std::unique_ptr<PreparedBatch> Prepare(std::span<AppendRequest> requests) override {
    prepares.Pass();
    auto batch = log_.Prepare(requests);
    prepared.Pass(requests.size());
    return batch;
  }
  Status Commit(std::span<PreparedBatch* const> batches) override {
    commits.Pass();
    return log_.Commit(batches);
  }
  uint64_t Head() const override { return log_.Head(); }
  Result<std::vector<StoredEvent>> Read(uint64_t from, size_t max) const override { return log_.Read(from, max); }
  Result<std::vector<StoredEvent>> ReadStream(std::string_view stream, uint64_t from, size_t max) const override {
    return log_.ReadStream(stream, from, max);
  }
  Status ScanRecords(uint64_t from, uint64_t to, const std::function<bool(const EventView&)>& fn) const override {
    return log_.ScanRecords(from, to, fn);
  }
  Result<uint64_t> StreamVersion(std::string_view stream) const override { return log_.StreamVersion(stream); }
  Result<std::optional<std::string>> UniqueOwner(std::string_view key) const override {
    return log_.UniqueOwner(key);
  }
  Result<std::optional<RequestRecord>> FindRequest(std::string_view id) const override {
    return log_.FindRequest(id);
  }
  Result<std::optional<RequestRecord>> FindStagedRequest(std::string_view id) const override {
    return log_.FindStagedRequest(id);
  }
  Result<ChainDigest> HashAt(uint64_t position) const override { return log_.HashAt(position); }
  Result<personal::KeyRecord> FindKey(std::string_view customer_id) const override {
    return log_.FindKey(customer_id);
  }

  Gate commits, prepares, prepared;

 private:
  EventLog& log_;
};

class CustomerCacheTest : public DomainFixture {
 protected:
  // A customer with one E3 subscription; returns (customer, subscription).
  std::pair<std::string, std::string> AddWithE3(CommandProcessor& p, const std::string& prefix) {
    auto add = ValidAddCustomer(prefix);
    add.line_items = {Item(offers::kE3, 5)};
    auto r = p.Execute(add, Meta("p1"));
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    if (!r.ok() || r->subscription_ids.empty()) return {};
    return {r->customer_id, r->subscription_ids[0]};
  }

  // Submits a command to `writer` as `p`'s task; the future has its answer.
  static std::future<Result<CommandOutcome>> Submit(GroupCommitWriter& writer, CommandProcessor& p, Command c) {
    auto promise = std::make_shared<std::promise<Result<CommandOutcome>>>();
    auto future = promise->get_future();
    writer.Submit(p.Task(std::move(c), Meta("p1"), [promise](Result<CommandOutcome> r) {
      promise->set_value(std::move(r));
    }));
    return future;
  }

  // The customer's state as a processor with nothing cached reads it.
  CustomerState FromLog(const std::string& customer_id) {
    CommandProcessor fresh(*log_, *catalog_, Instance::kGlobal, ids_);
    auto s = fresh.State(customer_id);
    EXPECT_TRUE(s.ok() && *s != nullptr);
    return s.ok() && *s != nullptr ? **s : CustomerState{};
  }
};

TEST_F(CustomerCacheTest, DropsTheLeastRecentlyUsedAndReadsThemBackFromTheLog) {
  CommandProcessor p(*log_, *catalog_, Instance::kGlobal, ids_, /*max_cached_customers=*/2);
  std::vector<std::pair<std::string, std::string>> customers;
  for (int i = 0; i < 5; ++i) {
    customers.push_back(AddWithE3(p, "lru" + std::to_string(i)));
    ASSERT_FALSE(customers.back().first.empty());
    EXPECT_LE(p.cached_customers(), 2u) << "after customer " << i;
  }
  // The first customer was dropped long ago: its state comes back from the
  // log, and decisions against it are the same as against a cached one.
  const auto& [first, first_sub] = customers[0];
  const uint64_t version = FromLog(first).version;
  UpdateSubscription stale{first, first_sub, 7};
  stale.expected_version = version - 1;
  auto refused = p.Execute(stale, Meta("p1"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kStaleEtag);
  UpdateSubscription change{first, first_sub, 7};
  change.expected_version = version;
  auto changed = p.Execute(change, Meta("p1"));
  ASSERT_TRUE(changed.ok()) << changed.error().ToString();
  EXPECT_EQ(changed->version, version + 1);
  EXPECT_LE(p.cached_customers(), 2u);
  EXPECT_EQ(p.customers_loaded(), 1u) << "the first customer, read back once";
  // Every customer, cached or not, is as the log says.
  for (const auto& [id, sub] : customers) {
    auto s = p.State(id);
    ASSERT_TRUE(s.ok() && *s != nullptr);
    EXPECT_EQ(**s, FromLog(id));
  }
  EXPECT_EQ(FromLog(first).subscriptions.at(first_sub).quantity, 7);
}

TEST_F(CustomerCacheTest, KeepsStatesWhoseEventsAreNotDurableYet) {
  // Two customers, durable, then a processor that may keep one state.
  auto [a, a_sub] = AddWithE3(*processor_, "keepa");
  auto [b, b_sub] = AddWithE3(*processor_, "keepb");
  auto [c, c_sub] = AddWithE3(*processor_, "keepc");
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  ASSERT_FALSE(c.empty());
  GatedLog gated(*log_);
  CommandProcessor p(gated, *catalog_, Instance::kGlobal, ids_, /*max_cached_customers=*/1);
  GroupCommitWriter writer(gated);
  auto submit = [&](Command c) { return Submit(writer, p, std::move(c)); };

  // A's change is staged but held before its sync; then B's state is
  // loaded. A's state may not be dropped: read back from the log it would
  // miss the staged change, and A's next command would decide against
  // quantity 5 at the old version.
  gated.commits.Hold();
  auto first = submit(UpdateSubscription{a, a_sub, 8});
  gated.prepared.WaitArrived(1);
  auto other = submit(UpdateSubscription{b, b_sub, 9});
  gated.prepared.WaitArrived(2);
  auto second = submit(UpdateSubscription{a, a_sub, 10});
  gated.prepared.WaitArrived(3);  // the staging thread has finished with B
  EXPECT_EQ(p.cached_customers(), 2u) << "A's staged state is kept beyond the capacity";
  gated.commits.Release();
  auto r1 = first.get(), r2 = other.get(), r3 = second.get();
  ASSERT_TRUE(r1.ok()) << r1.error().ToString();
  ASSERT_TRUE(r2.ok()) << r2.error().ToString();
  ASSERT_TRUE(r3.ok()) << r3.error().ToString();
  EXPECT_EQ(r3->version, r1->version + 1) << "the second change decided against the first";
  writer.Stop();
  EXPECT_EQ(FromLog(a).subscriptions.at(a_sub).quantity, 10);
  EXPECT_EQ(FromLog(b).subscriptions.at(b_sub).quantity, 9);

  // Once durable, the overflow goes with the next state loaded, and A
  // read back from the log has every change.
  ASSERT_TRUE(p.State(c).ok());
  EXPECT_EQ(p.cached_customers(), 1u);
  auto s = p.State(a);
  ASSERT_TRUE(s.ok() && *s != nullptr);
  EXPECT_EQ(p.cached_customers(), 1u);
  EXPECT_EQ((*s)->subscriptions.at(a_sub).quantity, 10);
  EXPECT_EQ(**s, FromLog(a));
}

TEST_F(CustomerCacheTest, KeepsAStateWhileItsCommandIsDecidedWithOthers) {
  auto [a, a_sub] = AddWithE3(*processor_, "pina");
  auto [b, b_sub] = AddWithE3(*processor_, "pinb");
  auto [c, c_sub] = AddWithE3(*processor_, "pinc");
  ASSERT_FALSE(a.empty() || b.empty() || c.empty());
  GatedLog gated(*log_);
  CommandProcessor p(gated, *catalog_, Instance::kGlobal, ids_, /*max_cached_customers=*/1);
  GroupCommitWriter writer(gated);
  auto submit = [&](Command cmd) { return Submit(writer, p, std::move(cmd)); };

  // Nothing becomes durable; the staging thread is held in its first
  // Prepare while A's and B's changes queue up behind it, so that they are
  // decided as one group: A's, then B's, whose state is loaded before A's
  // change is staged. A's state must stay (it is the one A's change
  // evolves); dropped, A's next change would be decided against the log,
  // which does not have the first one yet.
  gated.commits.Hold();
  gated.prepares.Hold();
  auto w = submit(UpdateSubscription{c, c_sub, 3});
  gated.prepares.WaitArrived(1);
  auto first = submit(UpdateSubscription{a, a_sub, 8});
  auto other = submit(UpdateSubscription{b, b_sub, 9});
  gated.prepares.Release();
  gated.prepared.WaitArrived(3);
  auto second = submit(UpdateSubscription{a, a_sub, 10});
  gated.prepared.WaitArrived(4);
  gated.commits.Release();
  auto r0 = w.get(), r1 = first.get(), r2 = other.get(), r3 = second.get();
  ASSERT_TRUE(r0.ok()) << r0.error().ToString();
  ASSERT_TRUE(r1.ok()) << r1.error().ToString();
  ASSERT_TRUE(r2.ok()) << r2.error().ToString();
  ASSERT_TRUE(r3.ok()) << r3.error().ToString();
  EXPECT_EQ(r3->version, r1->version + 1);
  writer.Stop();
  EXPECT_EQ(FromLog(a).subscriptions.at(a_sub).quantity, 10);
  EXPECT_EQ(FromLog(b).subscriptions.at(b_sub).quantity, 9);
  EXPECT_EQ(FromLog(c).subscriptions.at(c_sub).quantity, 3);
}

// A retry with If-Match that arrives while its original is staged but not
// yet durable gets the original's outcome, not 412: deciding again fails
// on the ETag (the staged state is one version on), and the request id is
// found among the staged ones. (Found by reading, issue 24.)
TEST_F(CustomerCacheTest, ARetryWithIfMatchWhileItsOriginalAwaitsItsCommitGetsItsOutcome) {
  const auto added = AddWithE3(*processor_, "retried");
  const std::string c = added.first, sub = added.second;
  ASSERT_FALSE(c.empty());
  const uint64_t version = FromLog(c).version;
  GatedLog gated(*log_);
  CommandProcessor p(gated, *catalog_, Instance::kGlobal, ids_);
  GroupCommitWriter writer(gated);
  auto submit = [&] {
    UpdateSubscription change{c, sub, 9};
    change.expected_version = version;
    auto promise = std::make_shared<std::promise<Result<CommandOutcome>>>();
    auto future = promise->get_future();
    writer.Submit(p.Task(change, Meta("p1", "retry-me"), [promise](Result<CommandOutcome> r) {
      promise->set_value(std::move(r));
    }));
    return future;
  };
  gated.commits.Hold();
  auto original = submit();
  gated.prepared.WaitArrived(1);  // staged, its commit held
  auto retry = submit();
  gated.prepares.WaitArrived(2);  // decided (and its group prepared) while the original is not durable
  EXPECT_EQ(FromLog(c).version, version) << "nothing is durable while the commit is held";
  gated.commits.Release();
  auto first = original.get();
  auto again = retry.get();
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  ASSERT_TRUE(again.ok()) << "the retry was answered " << again.error().ToString();
  EXPECT_EQ(again->last_position, first->last_position);
  EXPECT_EQ(again->version, first->version);
  EXPECT_EQ(FromLog(c).subscriptions.at(sub).quantity, 9);
  EXPECT_EQ(FromLog(c).version, version + 1) << "the retry appended something";
  writer.Stop();
}

}  // namespace
}  // namespace tally::domain
