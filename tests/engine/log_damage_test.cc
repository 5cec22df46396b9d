// Damage to the log is caught by every reader and latched: an event changed
// with valid RocksDB checksums is never handed to a reader (Scan, Read,
// ReadStream), the log then refuses writes with log_damaged; the head mark
// records where the log ended and never goes back; the witness check names
// positions the log lost or changed.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/head_mark.h"
#include "engine/log_format.h"
#include "engine/log_witnesses.h"
#include "events/codec.h"
#include "tests/engine/log_fixture.h"

namespace tally {
namespace {

class LogDamageTest : public testing::LogFixture {
 protected:
  // Ten events in two streams (positions 1-10; customer a: 1-5, b: 6-10).
  void SetUp() override {
    LogFixture::SetUp();
    ASSERT_TRUE(AppendOne(Request("a", 5, "r1")).ok());
    ASSERT_TRUE(AppendOne(Request("b", 5, "r2")).ok());
    ASSERT_EQ(log_->Head(), 10u);
  }
  // Changes one envelope byte of `position`, keeping its stored hash: as an
  // `ldb put` would, with valid RocksDB checksums.
  void ChangeEnvelope(uint64_t position) {
    const std::string key = log_format::EventKey(position);
    std::string value;
    ASSERT_TRUE(log_->db()->Get(rocksdb::ReadOptions(), log_->events_cf(), key, &value).ok());
    value[value.size() - 3] ^= 0x01;
    ASSERT_TRUE(log_->db()->Put(rocksdb::WriteOptions(), log_->events_cf(), key, value).ok());
  }
};

TEST_F(LogDamageTest, ScanStopsBeforeAChangedEventAndTheLogRefusesWrites) {
  ChangeEnvelope(7);
  std::vector<uint64_t> seen;
  Status s = log_->Scan(1, 10, [&](const EventView& v) {
    seen.push_back(v.position);
    return true;
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kLogDamaged);
  EXPECT_NE(s.error().message().find("position 7 (chain)"), std::string::npos) << s.error().message();
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6})) << "the changed event is never handed out";
  ASSERT_TRUE(log_->damage().damaged());
  EXPECT_EQ(log_->damage().List().front().first, 7u);
  // Writes are refused from then on, with the code HTTP answers 503 to.
  auto refused = AppendOne(Request("c", 1, "r3"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kLogDamaged);
  EXPECT_EQ(HttpStatus(ErrorCode::kLogDamaged), 503);
  ASSERT_TRUE(log_->WriteFailure().has_value());
  EXPECT_EQ(log_->Head(), 10u);
}

// Group commit: a batch prepared before the damage was found commits; the
// one prepared after is refused with log_damaged; the log is not failed (a
// refused batch keeps its place in the commit order).
TEST_F(LogDamageTest, ABatchPreparedAfterTheDamageIsRefusedWithoutFailingTheLog) {
  std::vector<AppendRequest> before, after;
  before.push_back(Request("c", 2, "r3"));
  after.push_back(Request("d", 1, "r4"));
  auto first = log_->Prepare(before);
  log_->damage().Report({4, 4, "chain", "test"});
  auto second = log_->Prepare(after);
  ASSERT_FALSE(second->results[0].ok());
  EXPECT_EQ(second->results[0].error().code(), ErrorCode::kLogDamaged);
  PreparedBatch* both[] = {first.get(), second.get()};
  Status committed = log_->Commit(both);
  ASSERT_TRUE(committed.ok()) << committed.error().ToString();
  EXPECT_TRUE(first->results[0].ok());
  EXPECT_FALSE(log_->failed());
  EXPECT_EQ(log_->Head(), 12u);
  EXPECT_EQ(log_->WriteFailure()->code(), ErrorCode::kLogDamaged);
}

TEST_F(LogDamageTest, ReadsFromTheMiddleCheckTheLinkBeforeThem) {
  ChangeEnvelope(8);
  auto read = log_->Read(8, 3);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code(), ErrorCode::kLogDamaged);
  // A range that ends before the damage reads fine.
  auto before = log_->Read(2, 5);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->size(), 5u);
}

TEST_F(LogDamageTest, AStreamReadCatchesAChangedEventSoNothingIsDecidedOnIt) {
  ChangeEnvelope(3);  // customer a's third event
  auto a = log_->ReadStream("customer-a", 1, 100);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code(), ErrorCode::kLogDamaged);
  EXPECT_NE(a.error().message().find("position 3"), std::string::npos) << a.error().message();
  auto b = log_->ReadStream("customer-b", 1, 100);  // untouched
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->size(), 5u);
  EXPECT_TRUE(log_->damage().damaged());
}

TEST_F(LogDamageTest, AMissingEventIsDamageNotTheEnd) {
  ASSERT_TRUE(log_->db()->Delete(rocksdb::WriteOptions(), log_->events_cf(), log_format::EventKey(5)).ok());
  Status s = log_->Scan(1, 10, [](const EventView&) { return true; });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("position 5 (chain): missing"), std::string::npos) << s.error().message();
}

TEST_F(LogDamageTest, TheHeadMarkFollowsCommitsAndNeverGoesBack) {
  const std::string dir = dir_.Sub("log");
  auto mark = ReadHeadMark(dir);
  ASSERT_TRUE(mark.ok());
  ASSERT_TRUE(mark->has_value());
  EXPECT_EQ((*mark)->position, 10u);
  EXPECT_EQ((*mark)->hash, *log_->HashAt(10));
  // A writer opened on a mark at 10 does not move it back.
  {
    auto writer = HeadMarkWriter::Open(dir);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Record({4, *log_->HashAt(4)}, /*sync=*/true).ok());
  }
  EXPECT_EQ((*ReadHeadMark(dir))->position, 10u);
  // One torn slot: the other still counts.
  {
    const int fd = ::open((dir + "/" + kHeadMarkFile).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    char garbage[64] = {'x'};
    ASSERT_EQ(::pwrite(fd, garbage, sizeof garbage, 0), 64);
    ::close(fd);
  }
  auto after = ReadHeadMark(dir);
  ASSERT_TRUE(after.ok());
  ASSERT_TRUE(after->has_value());
  EXPECT_EQ((*after)->position, 10u);
}

TEST_F(LogDamageTest, TheWitnessCheckNamesLostAndChangedPositions) {
  // The log agrees with its witnesses: nothing found.
  auto read = log_->Read(4, 1);
  ASSERT_TRUE(read.ok());
  auto env = events::VerifyEnvelope((*read)[0].envelope);
  ASSERT_TRUE(env.ok());
  const std::string id4(events::View((*env)->event_id()));
  HeadMarkEntry mark{10, *log_->HashAt(10)};
  auto clean = CheckAgainstWitnesses(*log_, mark, {{"read model x", 10, ""}, {"kafka p0", 4, id4}});
  ASSERT_TRUE(clean.ok());
  EXPECT_TRUE(clean->damage.empty());
  EXPECT_FALSE(log_->damage().damaged());
  // A mark and a read model beyond the head: the positions in between are lost.
  auto lost = CheckAgainstWitnesses(*log_, HeadMarkEntry{14, {}}, {{"read model x", 12, ""}});
  ASSERT_TRUE(lost.ok());
  ASSERT_EQ(lost->damage.size(), 2u);
  EXPECT_EQ(lost->damage[0].ToString().substr(0, 30), "positions 11-14 (head mark): m");
  EXPECT_EQ(lost->damage[1].first, 11u);
  EXPECT_EQ(lost->damage[1].last, 12u);
  // A mark whose hash differs, a topic whose event id differs.
  auto changed = CheckAgainstWitnesses(*log_, HeadMarkEntry{10, {}}, {{"kafka p0", 4, "another-id"}});
  ASSERT_TRUE(changed.ok());
  ASSERT_EQ(changed->damage.size(), 2u);
  EXPECT_EQ(changed->damage[0].first, 10u);
  EXPECT_EQ(changed->damage[1].first, 4u);
  EXPECT_TRUE(log_->damage().damaged());
}

TEST_F(LogDamageTest, TheWitnessCheckVerifiesTheChainFromTheMark) {
  ChangeEnvelope(9);
  HeadMarkEntry mark{6, *log_->HashAt(6)};
  auto report = CheckAgainstWitnesses(*log_, mark, {});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->verified_from, 7u);
  ASSERT_EQ(report->damage.size(), 1u);
  EXPECT_EQ(report->damage[0].first, 9u);
  EXPECT_EQ(report->damage[0].witness, "chain");
}

// A finding is recorded beside the log at once, read back after a reopen,
// and not recorded twice when it is found again.
TEST_F(LogDamageTest, AFindingIsRecordedBesideTheLogOnceAndOutlivesTheProcess) {
  const std::string file = dir_.Sub("log") + "/" + kDamageFile;
  EXPECT_TRUE(ReadRecordedDamage(file)->empty());
  ChangeEnvelope(6);
  EXPECT_FALSE(log_->Scan(1, 10, [](const EventView&) { return true; }).ok());
  auto recorded = ReadRecordedDamage(file);
  ASSERT_TRUE(recorded.ok());
  ASSERT_EQ(recorded->size(), 1u);
  EXPECT_EQ((*recorded)[0].first, 6u);
  EXPECT_EQ((*recorded)[0].witness, "chain");
  Reopen();
  EXPECT_FALSE(log_->damage().damaged()) << "the latch itself starts empty; tallyd's check reads the file";
  EXPECT_FALSE(log_->Scan(1, 10, [](const EventView&) { return true; }).ok());
  EXPECT_EQ(ReadRecordedDamage(file)->size(), 1u) << "found again: not recorded twice";
}

TEST(LogDamageLatchTest, KeepsABoundedListAndCountsEveryReport) {
  LogDamageLatch latch;
  EXPECT_FALSE(latch.AsError().has_value());
  for (uint64_t i = 1; i <= 100; ++i) latch.Report({i, i, "chain", "x"});
  latch.Report({1, 1, "chain", "x"});
  EXPECT_EQ(latch.List().size(), LogDamageLatch::kMaxKept);
  EXPECT_EQ(latch.reports(), 101u);
  ASSERT_TRUE(latch.AsError().has_value());
  EXPECT_EQ(latch.AsError()->code(), ErrorCode::kLogDamaged);
}

}  // namespace
}  // namespace tally
