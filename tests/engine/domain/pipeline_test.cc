// Commands through the group-commit writer: decided on its staging thread,
// many per fsync, with the same results as one at a time.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "engine/chain_verifier.h"
#include "tests/engine/domain/domain_fixture.h"

namespace tally::domain {
namespace {

using namespace tally::testing;  // NOLINT

class PipelineTest : public DomainFixture {
 protected:
  // Submits and waits.
  Result<CommandOutcome> Run(GroupCommitWriter& writer, Command c, CommandMeta m) {
    std::promise<Result<CommandOutcome>> p;
    auto f = p.get_future();
    writer.Submit(processor_->Task(std::move(c), std::move(m),
                                   [&p](Result<CommandOutcome> r) { p.set_value(std::move(r)); }));
    return f.get();
  }
};

TEST_F(PipelineTest, ConcurrentCommandsShareSyncsAndMatchTheLog) {
  constexpr int kCustomers = 300;
  GroupCommitWriter writer(*log_);
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  std::vector<std::string> ids(kCustomers);
  for (int i = 0; i < kCustomers; ++i) {
    auto add = ValidAddCustomer("pipe" + std::to_string(i));
    add.line_items = {Item(offers::kE3, 1 + i % 20), Item(offers::kBusinessBasic, 2)};
    writer.Submit(processor_->Task(add, Meta("p1"), [&, i](Result<CommandOutcome> r) {
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      std::lock_guard<std::mutex> lock(mu);
      ids[i] = r->customer_id;
      ++done;
      cv.notify_one();
    }));
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done == kCustomers; });
  }
  writer.Stop();
  EXPECT_EQ(log_->Head(), kCustomers * 5u);  // created, relationship, agreement, 2 subscriptions
  EXPECT_LT(writer.Stats().commits, static_cast<uint64_t>(kCustomers)) << "commands share fsyncs";
  CommandProcessor fresh(*log_, *catalog_, Instance::kGlobal, ids_);
  for (const auto& id : ids) {
    auto rebuilt = fresh.State(id);
    ASSERT_TRUE(rebuilt.ok() && *rebuilt != nullptr);
    EXPECT_EQ(**rebuilt, StateOf(id));
  }
  auto report = VerifyChain(*log_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
}

TEST_F(PipelineTest, TheSameDomainTwiceInOneBatchIsTakenOnce) {
  GroupCommitWriter writer(*log_);
  std::promise<Result<CommandOutcome>> a, b;
  writer.Submit(processor_->Task(ValidAddCustomer("twin"), Meta("p1"), [&](auto r) { a.set_value(std::move(r)); }));
  writer.Submit(processor_->Task(ValidAddCustomer("TWIN"), Meta("p2"), [&](auto r) { b.set_value(std::move(r)); }));
  auto ra = a.get_future().get(), rb = b.get_future().get();
  ASSERT_TRUE(ra.ok()) << ra.error().ToString();
  ASSERT_FALSE(rb.ok());
  EXPECT_EQ(rb.error().code(), ErrorCode::kDomainTaken);
  EXPECT_EQ(log_->Head(), 3u);  // created, relationship, agreement
}

TEST_F(PipelineTest, DependentCommandsSubmittedTogetherApplyInOrder) {
  GroupCommitWriter writer(*log_);
  auto add = ValidAddCustomer("chain");
  add.line_items = {Item(offers::kE3, 1)};
  auto created = Run(writer, add, Meta("p1"));
  ASSERT_TRUE(created.ok());
  const std::string c = created->customer_id, sub = created->subscription_ids[0];
  constexpr int kChanges = 30;
  std::vector<std::promise<Result<CommandOutcome>>> results(kChanges);
  for (int i = 0; i < kChanges; ++i) {
    UpdateSubscription u{c, sub};
    u.quantity = 2 + i;
    u.expected_version = 4 + i;  // each decided against the one staged before it
    writer.Submit(processor_->Task(u, Meta("p1", "q" + std::to_string(i)),
                                   [&, i](auto r) { results[i].set_value(std::move(r)); }));
  }
  for (int i = 0; i < kChanges; ++i) {
    auto r = results[i].get_future().get();
    ASSERT_TRUE(r.ok()) << i << ": " << r.error().ToString();
    EXPECT_EQ(r->version, 5u + i);
  }
  writer.Stop();
  EXPECT_EQ(StateOf(c).subscriptions.at(sub).quantity, 1 + kChanges);
  EXPECT_EQ(log_->Head(), 4u + kChanges);
}

TEST_F(PipelineTest, ARejectedCommandAppendsNothing) {
  GroupCommitWriter writer(*log_);
  auto created = Run(writer, ValidAddCustomer("solo"), Meta("p1"));
  ASSERT_TRUE(created.ok());
  const uint64_t head = log_->Head();
  auto bad = Run(writer, CreateOrder{created->customer_id, {Item(offers::kBusinessBasic, 301)}}, Meta("p1"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kQuantityOutOfRange);
  auto retry = Run(writer, ValidAddCustomer("solo"), Meta("p1"));
  ASSERT_FALSE(retry.ok());
  EXPECT_EQ(retry.error().code(), ErrorCode::kDomainTaken);
  writer.Stop();
  EXPECT_EQ(log_->Head(), head);
}

}  // namespace
}  // namespace tally::domain
