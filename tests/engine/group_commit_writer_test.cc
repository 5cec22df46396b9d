#include "engine/group_commit_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "engine/chain_verifier.h"
#include "tests/engine/fake_event_log.h"
#include "tests/engine/log_fixture.h"

namespace tally {
namespace {

using testing::FakeEventLog;

// Waits until the writer has handed every batch the fake log prepared to its
// commit thread (a condition, not a sleep).
void WaitHandedOver(GroupCommitWriter& writer, FakeEventLog& log) {
  while (writer.Stats().prepared_batches < log.PrepareSizes().size()) std::this_thread::yield();
}

AppendRequest Req(int events, const std::string& outcome = "") {
  AppendRequest r;
  r.events.resize(events);
  r.outcome = outcome;
  return r;
}

TEST(GroupCommitWriterTest, EverySubmitIsAnsweredOnce) {
  FakeEventLog log;
  GroupCommitWriter writer(log);
  auto r = writer.Append(Req(2, "x"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first_position, 1u);
  EXPECT_EQ(r->last_position, 2u);
  EXPECT_EQ(r->outcome, "x");
}

TEST(GroupCommitWriterTest, WorkStagedDuringASyncIsCommittedByTheNextOne) {
  FakeEventLog log;
  // Room for every batch the staging thread may cut while the sync is held
  // (on a loaded machine submissions trickle in, one small batch each; with
  // the default cap of 4 staging would wait, as designed, and so would the test).
  GroupCommitWriterOptions options;
  options.max_prepared_batches = 64;
  GroupCommitWriter writer(log, options);
  log.Hold();
  std::promise<void> first_done;
  writer.Submit(Req(1), [&](Result<AppendOutcome> r) { first_done.set_value(); });
  log.WaitCommitsEntered(1);  // commit 1 is in flight, held
  std::atomic<int> answered{0};
  for (int i = 0; i < 50; ++i) {
    writer.Submit(Req(2), [&](Result<AppendOutcome> r) {
      EXPECT_TRUE(r.ok());
      answered.fetch_add(1);
    });
  }
  log.WaitPrepared(51);  // staged while the first commit is still syncing
  WaitHandedOver(writer, log);
  EXPECT_EQ(answered.load(), 0) << "nobody is answered before their batch is durable";
  log.Release();
  first_done.get_future().wait();
  writer.Stop();
  EXPECT_EQ(answered.load(), 50);
  EXPECT_EQ(log.CommitSizes(), (std::vector<size_t>{1, 50})) << "one sync for all staged work";
  auto stats = writer.Stats();
  EXPECT_EQ(stats.commits, 2u);
  EXPECT_EQ(stats.requests, 51u);
  EXPECT_EQ(stats.events, 101u);
  EXPECT_EQ(stats.largest_commit, 50u);
  EXPECT_GE(stats.prepared_batches, 2u);
}

TEST(GroupCommitWriterTest, PreparedBatchesAreCappedAtTheConfiguredSize) {
  FakeEventLog log;
  GroupCommitWriterOptions options;
  options.max_batch_requests = 8;
  options.max_prepared_batches = 64;  // see above
  GroupCommitWriter writer(log, options);
  log.Hold();
  writer.Submit(Req(1), [](Result<AppendOutcome>) {});
  log.WaitCommitsEntered(1);
  for (int i = 0; i < 20; ++i) writer.Submit(Req(1), [](Result<AppendOutcome>) {});
  log.WaitPrepared(21);
  WaitHandedOver(writer, log);
  log.Release();
  writer.Stop();
  for (size_t n : log.PrepareSizes()) EXPECT_LE(n, 8u);
  EXPECT_EQ(log.CommitSizes(), (std::vector<size_t>{1, 20}));
}

TEST(GroupCommitWriterTest, StagingPausesWhenTooManyBatchesWaitSoTheNextGrows) {
  FakeEventLog log;
  GroupCommitWriterOptions options;
  options.max_batch_requests = 1;  // one request per prepared batch...
  options.max_prepared_batches = 2;  // ...and at most two waiting
  GroupCommitWriter writer(log, options);
  log.Hold();
  writer.Submit(Req(1), [](Result<AppendOutcome>) {});
  log.WaitCommitsEntered(1);
  for (int i = 0; i < 5; ++i) writer.Submit(Req(1), [](Result<AppendOutcome>) {});
  log.WaitPrepared(3);  // two waiting: the stager now pauses
  EXPECT_EQ(log.PrepareSizes().size(), 3u);
  log.Release();
  writer.Stop();
  size_t total = 0;
  for (size_t n : log.CommitSizes()) total += n;
  EXPECT_EQ(total, 6u);
}

// The background lane: foreground work submitted after it is staged first,
// and a batch takes at most max_background_per_batch background requests.
TEST(GroupCommitWriterTest, BackgroundWorkNeverQueuesAheadAndTakesItsShareOfABatch) {
  FakeEventLog log;
  GroupCommitWriterOptions options;
  options.max_background_per_batch = 3;
  options.max_prepared_batches = 1;  // the stager pauses with one batch waiting
  GroupCommitWriter writer(log, options);
  std::mutex mu;
  std::vector<std::string> answered;
  auto record = [&](Result<AppendOutcome> r) {
    ASSERT_TRUE(r.ok());
    std::lock_guard<std::mutex> lock(mu);
    answered.push_back(r->outcome);
  };
  log.Hold();
  writer.Submit(Req(1, "f0"), record);
  log.WaitCommitsEntered(1);  // held in its sync
  writer.SubmitBackground(Req(1, "b0"), record);
  log.WaitPrepared(2);  // b0 waits in a batch of its own; the stager pauses
  for (int i = 1; i <= 6; ++i) writer.SubmitBackground(Req(1, "b" + std::to_string(i)), record);
  writer.Submit(Req(1, "f1"), record);
  writer.Submit(Req(1, "f2"), record);
  log.Release();
  writer.Stop();
  EXPECT_EQ(answered, (std::vector<std::string>{"f0", "b0", "f1", "f2", "b1", "b2", "b3", "b4", "b5", "b6"}));
  EXPECT_EQ(log.PrepareSizes(), (std::vector<size_t>{1, 1, 5, 3})) << "2 foreground + 3 background, then the rest";
}

TEST(GroupCommitWriterTest, AFailedCommitFailsEveryRequestInIt) {
  FakeEventLog log;
  log.FailCommits(true);
  GroupCommitWriter writer(log);
  auto r = writer.Append(Req(1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kIoError);
  EXPECT_EQ(writer.Stats().failed_requests, 1u);
  EXPECT_EQ(writer.Stats().events, 0u);
}

TEST(GroupCommitWriterTest, FullQueueFailsFastWithBusy) {
  FakeEventLog log;
  GroupCommitWriterOptions options;
  options.max_queued_requests = 3;
  options.max_prepared_batches = 1;
  GroupCommitWriter writer(log, options);
  log.Hold();
  writer.Submit(Req(1), [](Result<AppendOutcome>) {});
  log.WaitCommitsEntered(1);
  writer.Submit(Req(1), [](Result<AppendOutcome>) {});
  log.WaitPrepared(2);  // one batch waiting: staging pauses, the queue fills
  for (int i = 0; i < 3; ++i) writer.Submit(Req(1), [](Result<AppendOutcome> r) { EXPECT_TRUE(r.ok()); });
  std::optional<ErrorCode> code;
  writer.Submit(Req(1), [&](Result<AppendOutcome> r) { code = r.error().code(); });
  ASSERT_TRUE(code.has_value()) << "answered at once, on the calling thread";
  EXPECT_EQ(*code, ErrorCode::kBusy);
  log.Release();
}

TEST(GroupCommitWriterTest, StopFinishesQueuedWorkThenRefuses) {
  FakeEventLog log;
  GroupCommitWriter writer(log);
  log.Hold();
  writer.Submit(Req(1), [](Result<AppendOutcome>) {});
  log.WaitCommitsEntered(1);
  std::atomic<int> ok{0};
  for (int i = 0; i < 10; ++i) writer.Submit(Req(1), [&](Result<AppendOutcome> r) { ok += r.ok(); });
  std::thread stopper([&] { writer.Stop(); });
  log.Release();
  stopper.join();
  EXPECT_EQ(ok.load(), 10);
  auto late = writer.Append(Req(1));
  EXPECT_EQ(late.error().code(), ErrorCode::kShuttingDown);
}

// The real log under concurrent callers: every append acknowledged, gapless,
// and the chain verifies.
using GroupCommitOnRocksDbTest = testing::LogFixture;

TEST_F(GroupCommitOnRocksDbTest, ConcurrentCallersAllLandInAVerifiedChain) {
  constexpr int kThreads = 8, kPerThread = 300;
  {
    GroupCommitWriter writer(*log_);
    std::vector<std::thread> threads;
    std::atomic<int> acked{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        events::SampleEvents samples(t);
        for (int i = 0; i < kPerThread; ++i) {
          AppendRequest r;
          r.request_id = "t" + std::to_string(t) + "-" + std::to_string(i);
          const std::string c = "c" + std::to_string(t);
          r.events.push_back(samples.SubscriptionCreated(c, r.request_id, i + 1));
          auto out = writer.Append(std::move(r));
          ASSERT_TRUE(out.ok()) << out.error().ToString();
          acked.fetch_add(1);
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(acked.load(), kThreads * kPerThread);
    EXPECT_LT(writer.Stats().commits, static_cast<uint64_t>(kThreads * kPerThread))
        << "concurrent callers share batches";
  }
  EXPECT_EQ(log_->Head(), static_cast<uint64_t>(kThreads * kPerThread));
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(*log_->StreamVersion("customer-c" + std::to_string(t)), uint64_t{kPerThread});
  }
  auto report = VerifyChain(*log_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->reason;
}

}  // namespace
}  // namespace tally
