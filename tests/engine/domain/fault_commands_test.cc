// Commands over a log whose write fails (tests/testing/fault_fs.h): the
// command processor must not keep what it staged for a commit that failed.
// After the log recovers, the next command is decided against what is
// durable: same version (ETag), same quantity.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "engine/group_commit_writer.h"
#include "tests/engine/domain/domain_fixture.h"
#include "tests/testing/fault_fs.h"

namespace tally::domain {
namespace {

using namespace tally::testing;  // NOLINT

class FaultCommandsTest : public DomainFixture {
 protected:
  void SetUp() override {
    file_system_ = fault_;
    DomainFixture::SetUp();
  }
  std::pair<std::string, std::string> AddWithE3(const std::string& prefix) {
    auto add = ValidAddCustomer(prefix);
    add.line_items = {Item(offers::kE3, 5)};
    auto r = processor_->Execute(add, Meta("p1"));
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    if (!r.ok() || r->subscription_ids.empty()) return {};
    return {r->customer_id, r->subscription_ids[0]};
  }
  void RecoverLog() {
    fault_->Heal();
    Status s = log_->Recover();
    for (int i = 0; i < 100 && !s.ok(); ++i) {  // a full disk: RocksDB resumes once there is room
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      s = log_->Recover();
    }
    ASSERT_TRUE(s.ok()) << s.error().ToString();
  }
  // Quantity 5 -> 8 refused by the disk, then the same change expecting the
  // durable version, accepted; the state is the log's.
  void ExpectDecidedAgainstTheDurableState(const std::function<Result<CommandOutcome>(const Command&)>& run) {
    auto [c, sub] = AddWithE3("faulty");
    const uint64_t version = StateOf(c).version;
    fault_->FailWrites(FaultInjectionFileSystem::Fault::kNoSpace);
    UpdateSubscription more{c, sub, 8};
    more.expected_version = version;
    auto failed = run(more);
    ASSERT_FALSE(failed.ok()) << "a write the disk refused was acknowledged";
    ASSERT_NO_FATAL_FAILURE(RecoverLog());
    // Decided against the durable state: version `version`, quantity 5.
    UpdateSubscription again{c, sub, 9};
    again.expected_version = version;
    auto changed = run(again);
    ASSERT_TRUE(changed.ok()) << "decided against the failed write's staged state: " << changed.error().ToString();
    EXPECT_EQ(changed->version, version + 1);
    CommandProcessor fresh(*log_, *catalog_, Instance::kGlobal, ids_);
    auto durable = fresh.State(c);
    ASSERT_TRUE(durable.ok() && *durable != nullptr);
    EXPECT_EQ(StateOf(c), **durable);
    EXPECT_EQ((*durable)->subscriptions.at(sub).quantity, 9);
  }

  std::shared_ptr<FaultInjectionFileSystem> fault_ = std::make_shared<FaultInjectionFileSystem>();
};

TEST_F(FaultCommandsTest, AfterAFailedCommitThroughTheWriterTheCacheHoldsOnlyDurableState) {
  GroupCommitWriter writer(*log_);
  ExpectDecidedAgainstTheDurableState([&](const Command& c) {
    std::promise<Result<CommandOutcome>> promise;
    auto future = promise.get_future();
    writer.Submit(processor_->Task(c, Meta("p1"), [&](Result<CommandOutcome> r) { promise.set_value(std::move(r)); }));
    return future.get();
  });
}

TEST_F(FaultCommandsTest, AfterAFailedExecuteTheCacheHoldsOnlyDurableState) {
  ExpectDecidedAgainstTheDurableState([&](const Command& c) { return processor_->Execute(c, Meta("p1")); });
}

}  // namespace
}  // namespace tally::domain
