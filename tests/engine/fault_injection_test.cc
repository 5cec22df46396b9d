// Faults injected under the real log (tests/testing/fault_fs.h): a write or
// sync of RocksDB's write-ahead log that fails. What must hold: nothing
// unacknowledged is ever visible (head, reads, request ids, domains), the
// log latches the failure and refuses every write with its reason until it
// recovers, positions stay gapless after recovery, and the command
// processor decides the next commands against what is durable, not against
// the state it had staged for the failed commit.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "engine/chain_verifier.h"
#include "engine/command_processor.h"
#include "engine/group_commit_writer.h"
#include "engine/rocksdb_event_log.h"
#include "events/samples.h"
#include "tests/testing/fault_fs.h"
#include "tests/testing/test_util.h"

namespace tally {
namespace {

using testing::FaultInjectionFileSystem;

class FaultInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    writer_.reset();
    log_.reset();
    RocksDbEventLogOptions options;
    options.file_system = fs_;
    auto log = RocksDbEventLog::Open(dir_.Sub("log"), options);
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    log_ = std::move(*log);
    writer_ = std::make_unique<GroupCommitWriter>(*log_);
  }
  // One event on customer `c`'s stream, optionally claiming a unique key.
  Result<AppendOutcome> Append(const std::string& c, const std::string& request_id, const std::string& claim = "") {
    AppendRequest r;
    r.request_id = request_id;
    r.fingerprint = "fp-" + request_id;
    r.events.push_back(samples_.CustomerCreated(c, request_id));
    r.outcome = "outcome-" + request_id;
    if (!claim.empty()) r.claims.push_back({claim, c});
    return writer_->Append(std::move(r));
  }

  void FailASync();
  void ExpectChain(uint64_t head);

  testing::TempDir dir_;
  events::SampleEvents samples_{42};
  std::shared_ptr<FaultInjectionFileSystem> fs_ = std::make_shared<FaultInjectionFileSystem>();
  std::unique_ptr<RocksDbEventLog> log_;
  std::unique_ptr<GroupCommitWriter> writer_;
};

// Two writes, then a third whose WAL sync fails: refused, invisible, and
// the log latched. RocksDB's WAL writer keeps the sync error ("Seen
// error"), so the open log cannot resume: Recover says why and writes stay
// refused (tallyd reports it on /healthz) until the log is opened again.
void FaultInjectionTest::FailASync() {
  ASSERT_TRUE(Append("s-1", "r-1").ok());
  ASSERT_TRUE(Append("s-1", "r-2").ok());
  ASSERT_EQ(log_->Head(), 2u);

  fs_->FailSyncs(FaultInjectionFileSystem::Fault::kIoError);
  auto failed = Append("s-2", "r-3", "domain:lost.example");
  ASSERT_FALSE(failed.ok()) << "a write whose sync failed was acknowledged";
  EXPECT_EQ(failed.error().code(), ErrorCode::kIoError);
  EXPECT_GT(fs_->refused(), 0u);
  // Nothing of it is visible.
  EXPECT_EQ(log_->Head(), 2u);
  auto read = log_->Read(3, 10);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->empty());
  auto request = log_->FindRequest("r-3");
  ASSERT_TRUE(request.ok());
  EXPECT_FALSE(request->has_value()) << "the failed request's id was kept";
  auto owner = log_->UniqueOwner("domain:lost.example");
  ASSERT_TRUE(owner.ok());
  EXPECT_FALSE(owner->has_value()) << "the failed request's claim was kept";

  ASSERT_TRUE(log_->WriteFailure().has_value());
  fs_->Heal();
  ASSERT_TRUE(log_->WriteFailure().has_value());
  Status recovered = log_->Recover();
  ASSERT_FALSE(recovered.ok());
  EXPECT_NE(recovered.error().message().find("not recovered yet"), std::string::npos) << recovered.error().ToString();
  auto refused = Append("s-3", "r-4");
  ASSERT_FALSE(refused.ok()) << "a latched log acknowledged a write";
  EXPECT_EQ(log_->Head(), 2u);
}

void FaultInjectionTest::ExpectChain(uint64_t head) {
  EXPECT_EQ(log_->Head(), head);
  auto report = VerifyChain(*log_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->reason;
  EXPECT_EQ(report->checked, head);
}

// The failed write's bytes were in the WAL file, only not synced. If they
// reach the disk anyway (here: the OS kept them), reopening replays them:
// the write the caller was refused is durable after all, whole (its event,
// request id and claim). An I/O error's outcome is unknown, as after any
// failed fsync; a retry with the same request id gets the first outcome and
// appends nothing.
TEST_F(FaultInjectionTest, AWriteWhoseSyncFailedButReachedTheDiskComesBackWholeAndARetryReplaysIt) {
  ASSERT_NO_FATAL_FAILURE(FailASync());
  Open();
  EXPECT_FALSE(log_->WriteFailure().has_value());
  ExpectChain(3);
  auto request = log_->FindRequest("r-3");
  ASSERT_TRUE(request.ok());
  ASSERT_TRUE(request->has_value());
  EXPECT_EQ((*request)->first_position, 3u);
  auto owner = log_->UniqueOwner("domain:lost.example");
  ASSERT_TRUE(owner.ok() && owner->has_value());
  auto retry = Append("s-2", "r-3", "domain:lost.example");
  ASSERT_TRUE(retry.ok()) << retry.error().ToString();
  EXPECT_TRUE(retry->replayed);
  EXPECT_EQ(retry->first_position, 3u);
  ExpectChain(3);
  ASSERT_TRUE(Append("s-2", "r-5").ok());
  ExpectChain(4);
}

// The same with a power cut: the unsynced tail is lost. Reopening finds the
// two durable writes only; the retry is a new write at the next position,
// with no gap.
TEST_F(FaultInjectionTest, AWriteWhoseSyncFailedAndWasLostLeavesNoTraceAndARetryAppendsIt) {
  ASSERT_NO_FATAL_FAILURE(FailASync());
  writer_.reset();
  log_.reset();
  fs_->DropUnsyncedData();
  Open();
  EXPECT_FALSE(log_->WriteFailure().has_value());
  ExpectChain(2);
  auto request = log_->FindRequest("r-3");
  ASSERT_TRUE(request.ok());
  EXPECT_FALSE(request->has_value());
  auto retry = Append("s-2", "r-3", "domain:lost.example");
  ASSERT_TRUE(retry.ok()) << retry.error().ToString();
  EXPECT_FALSE(retry->replayed);
  EXPECT_EQ(retry->first_position, 3u);
  ExpectChain(3);
}

TEST_F(FaultInjectionTest, AFailedWalWriteIsRefusedUntilRecoveredAndAFullDiskSaysSo) {
  ASSERT_TRUE(Append("s-1", "r-1").ok());
  fs_->FailWrites(FaultInjectionFileSystem::Fault::kNoSpace);
  auto failed = Append("s-1", "r-2");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(log_->Head(), 1u);
  // Refused while failed, without another write reaching the disk.
  const size_t refused = fs_->refused();
  auto refused_again = Append("s-1", "r-4");
  ASSERT_FALSE(refused_again.ok());
  EXPECT_EQ(refused_again.error().message(), log_->WriteFailure()->message());
  EXPECT_EQ(fs_->refused(), refused) << "a latched log still wrote";
  // Not recovered while the fault lasts.
  EXPECT_FALSE(log_->Recover().ok());
  fs_->Heal();
  // A full disk is recovered by RocksDB itself once there is room (Busy
  // until then), as the writer's staging thread retries every second.
  Status recovered = log_->Recover();
  for (int i = 0; i < 100 && !recovered.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    recovered = log_->Recover();
  }
  ASSERT_TRUE(recovered.ok()) << recovered.error().ToString();
  // The refused request is new again: appended at the next position, not
  // replayed from what was staged for the failed write.
  auto next = Append("s-1", "r-2");
  ASSERT_TRUE(next.ok()) << next.error().ToString();
  EXPECT_EQ(next->first_position, 2u);
  EXPECT_FALSE(next->replayed);
  ExpectChain(2);
  auto stored = log_->FindRequest("r-2");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  auto after = Append("s-1", "r-6");
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  EXPECT_EQ(after->first_position, 3u);
  ExpectChain(3);
}

}  // namespace
}  // namespace tally
