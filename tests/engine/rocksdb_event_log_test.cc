#include "engine/rocksdb_event_log.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>

#include "engine/chain_verifier.h"
#include "engine/log_format.h"
#include "events/codec.h"
#include "tests/engine/log_fixture.h"

namespace tally {
namespace {

using testing::LogFixture;
using EventLogTest = LogFixture;

TEST_F(EventLogTest, EmptyLogHasHeadZero) {
  EXPECT_EQ(log_->Head(), 0u);
  auto events = log_->Read(1, 10);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
  EXPECT_EQ(*log_->HashAt(0), kGenesisDigest);
}

TEST_F(EventLogTest, AppendsGaplessPositionsAndStreamVersions) {
  auto a = AppendOne(Request("c1", 3, "r1"));
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  EXPECT_EQ(a->first_position, 1u);
  EXPECT_EQ(a->last_position, 3u);
  EXPECT_EQ(a->stream_versions, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_FALSE(a->replayed);
  auto b = AppendOne(Request("c2", 1, "r2"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first_position, 4u);
  EXPECT_EQ(b->stream_versions, (std::vector<uint64_t>{1}));
  EXPECT_EQ(log_->Head(), 4u);

  auto events = log_->Read(1, 100);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 4u);
  for (size_t i = 0; i < events->size(); ++i) {
    auto env = events::VerifyEnvelope((*events)[i].envelope);
    ASSERT_TRUE(env.ok());
    EXPECT_EQ((*env)->position(), i + 1);
    EXPECT_EQ((*events)[i].position, i + 1);
    EXPECT_EQ((*env)->recorded_at_us(), clock_.NowMicros());
  }
}

TEST_F(EventLogTest, ReadsByStreamAndByRange) {
  ASSERT_TRUE(AppendOne(Request("c1", 2, "r1")).ok());
  ASSERT_TRUE(AppendOne(Request("c2", 2, "r2")).ok());
  ASSERT_TRUE(AppendOne(Request("c1", 2, "r3")).ok());
  auto c1 = log_->ReadStream("customer-c1", 1, 100);
  ASSERT_TRUE(c1.ok());
  ASSERT_EQ(c1->size(), 4u);
  EXPECT_EQ((*c1)[0].position, 1u);
  EXPECT_EQ((*c1)[2].position, 5u);
  auto tail = log_->ReadStream("customer-c1", 3, 1);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 1u);
  EXPECT_EQ((*tail)[0].position, 5u);
  EXPECT_TRUE(log_->ReadStream("customer-c", 1, 10)->empty()) << "prefix of another stream";
  EXPECT_EQ(*log_->StreamVersion("customer-c1"), 4u);
  EXPECT_EQ(*log_->StreamVersion("customer-c2"), 2u);
  EXPECT_EQ(*log_->StreamVersion("customer-c"), 0u);
  auto mid = log_->Read(3, 2);
  ASSERT_TRUE(mid.ok());
  ASSERT_EQ(mid->size(), 2u);
  EXPECT_EQ((*mid)[0].position, 3u);
  EXPECT_EQ((*mid)[1].position, 4u);
  EXPECT_TRUE(log_->Read(7, 10)->empty());
}

TEST_F(EventLogTest, ARequestInterleavingStreamsIndexesEachStreamCorrectly) {
  ASSERT_TRUE(AppendOne(Request("a", 1, "r0")).ok());  // a@1 = position 1
  AppendRequest r;
  r.request_id = "r1";
  r.events.push_back(samples_.SubscriptionCreated("a", "r1", 1));  // a@2 = 2
  r.events.push_back(samples_.SubscriptionCreated("b", "r1", 2));  // b@1 = 3
  r.events.push_back(samples_.SubscriptionCreated("a", "r1", 3));  // a@3 = 4
  r.events.push_back(samples_.SubscriptionCreated("b", "r1", 4));  // b@2 = 5
  auto out = AppendOne(std::move(r));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->stream_versions, (std::vector<uint64_t>{2, 1, 3, 2}));
  auto positions = [&](const std::string& stream, uint64_t from) {
    std::vector<uint64_t> p;
    auto events = log_->ReadStream(stream, from, 100);  // keep the Result alive
    EXPECT_TRUE(events.ok());
    for (const auto& e : *events) p.push_back(e.position);
    return p;
  };
  EXPECT_EQ(positions("customer-a", 1), (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_EQ(positions("customer-a", 3), (std::vector<uint64_t>{4}));
  EXPECT_EQ(positions("customer-b", 1), (std::vector<uint64_t>{3, 5}));
  EXPECT_EQ(positions("customer-b", 2), (std::vector<uint64_t>{5}));
  EXPECT_EQ(*log_->StreamVersion("customer-a"), 3u);
  EXPECT_EQ(*log_->StreamVersion("customer-b"), 2u);
  Reopen();  // versions now come from the index, not the writer's cache
  auto next = Request("b", 1, "r2");
  next.expectations.push_back({"customer-b", 2});
  auto appended = AppendOne(std::move(next));
  ASSERT_TRUE(appended.ok()) << appended.error().ToString();
  EXPECT_EQ(appended->stream_versions, (std::vector<uint64_t>{3}));
}

TEST_F(EventLogTest, ExpectedVersionMismatchIsAConflictAndAppendsNothing) {
  ASSERT_TRUE(AppendOne(Request("c1", 2, "r1")).ok());
  auto r = Request("c1", 1, "r2");
  r.expectations.push_back({"customer-c1", 1});
  auto conflict = AppendOne(std::move(r));
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code(), ErrorCode::kWrongExpectedVersion);
  EXPECT_EQ(log_->Head(), 2u);

  auto ok = Request("c1", 1, "r3");
  ok.expectations.push_back({"customer-c1", 2});
  ASSERT_TRUE(AppendOne(std::move(ok)).ok());
  EXPECT_EQ(log_->Head(), 3u);
}

TEST_F(EventLogTest, NoStreamExpectationRefusesAnExistingStream) {
  auto first = Request("c1", 1, "r1");
  first.expectations.push_back({"customer-c1", kNoStream});
  ASSERT_TRUE(AppendOne(std::move(first)).ok());
  auto second = Request("c1", 1, "r2");
  second.expectations.push_back({"customer-c1", kNoStream});
  EXPECT_EQ(AppendOne(std::move(second)).error().code(), ErrorCode::kWrongExpectedVersion);
  EXPECT_EQ(log_->Head(), 1u);
}

TEST_F(EventLogTest, RetriedRequestIdReturnsFirstOutcomeAndAppendsNothing) {
  auto first = AppendOne(Request("c1", 2, "r1"));
  ASSERT_TRUE(first.ok());
  auto retry = AppendOne(Request("c1", 2, "r1"));
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->replayed);
  EXPECT_EQ(retry->first_position, 1u);
  EXPECT_EQ(retry->last_position, 2u);
  EXPECT_EQ(retry->outcome, "outcome-r1");
  EXPECT_EQ(log_->Head(), 2u);
  // Also after a restart.
  Reopen();
  auto again = AppendOne(Request("c1", 2, "r1"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(log_->Head(), 2u);
}

TEST_F(EventLogTest, RequestIdWithDifferentBodyIsRejected) {
  ASSERT_TRUE(AppendOne(Request("c1", 1, "r1")).ok());
  auto other = Request("c2", 1, "r1");
  other.fingerprint = "something else";
  EXPECT_EQ(AppendOne(std::move(other)).error().code(), ErrorCode::kRequestIdReused);
  EXPECT_EQ(log_->Head(), 1u);
}

TEST_F(EventLogTest, DuplicatesWithinOneBatchAreResolvedInOrder) {
  std::vector<AppendRequest> batch;
  batch.push_back(Request("c1", 1, "r1"));
  batch.push_back(Request("c1", 1, "r1"));  // same body: a replay
  auto different = Request("c2", 1, "r1");
  different.fingerprint = "other";
  batch.push_back(std::move(different));   // same id, other body: rejected
  batch.push_back(Request("c3", 1, "r4"));
  auto results = log_->AppendBatch(batch);
  ASSERT_EQ(results.size(), 4u);
  ASSERT_TRUE(results[0].ok());
  ASSERT_TRUE(results[1].ok());
  EXPECT_TRUE(results[1]->replayed);
  EXPECT_EQ(results[1]->first_position, results[0]->first_position);
  EXPECT_EQ(results[2].error().code(), ErrorCode::kRequestIdReused);
  ASSERT_TRUE(results[3].ok());
  EXPECT_EQ(results[3]->first_position, 2u);
  EXPECT_EQ(log_->Head(), 2u);
}

TEST_F(EventLogTest, LaterRequestsInABatchSeeEarlierOnes) {
  std::vector<AppendRequest> batch;
  batch.push_back(Request("c1", 2, "r1"));
  auto second = Request("c1", 1, "r2");
  second.expectations.push_back({"customer-c1", 2});
  batch.push_back(std::move(second));
  auto stale = Request("c1", 1, "r3");
  stale.expectations.push_back({"customer-c1", 2});
  batch.push_back(std::move(stale));
  auto results = log_->AppendBatch(batch);
  ASSERT_TRUE(results[0].ok());
  ASSERT_TRUE(results[1].ok());
  EXPECT_EQ(results[1]->stream_versions, (std::vector<uint64_t>{3}));
  EXPECT_EQ(results[2].error().code(), ErrorCode::kWrongExpectedVersion);
  EXPECT_EQ(log_->Head(), 3u);
}

TEST_F(EventLogTest, UniqueClaimsAreExclusiveAcrossBatchesAndWithinOne) {
  auto a = Request("c1", 1, "r1");
  a.claims.push_back({"domain/contoso.onmicrosoft.com", "c1"});
  ASSERT_TRUE(AppendOne(std::move(a)).ok());
  EXPECT_EQ(**log_->UniqueOwner("domain/contoso.onmicrosoft.com"), "c1");
  EXPECT_FALSE(log_->UniqueOwner("domain/fabrikam.onmicrosoft.com")->has_value());

  auto b = Request("c2", 1, "r2");
  b.claims.push_back({"domain/contoso.onmicrosoft.com", "c2"});
  EXPECT_EQ(AppendOne(std::move(b)).error().code(), ErrorCode::kUniqueKeyTaken);

  std::vector<AppendRequest> batch;
  batch.push_back(Request("c3", 1, "r3"));
  batch[0].claims.push_back({"domain/fabrikam.onmicrosoft.com", "c3"});
  batch.push_back(Request("c4", 1, "r4"));
  batch[1].claims.push_back({"domain/fabrikam.onmicrosoft.com", "c4"});
  auto results = log_->AppendBatch(batch);
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[1].error().code(), ErrorCode::kUniqueKeyTaken);
  EXPECT_EQ(**log_->UniqueOwner("domain/fabrikam.onmicrosoft.com"), "c3");
  EXPECT_EQ(log_->Head(), 2u);
}

TEST_F(EventLogTest, MalformedEventFailsOnlyItsRequest) {
  std::vector<AppendRequest> batch;
  batch.push_back(Request("c1", 2, "r1"));
  batch[0].events[1] = std::string(100, 'x');
  batch.push_back(Request("c2", 1, "r2"));
  auto results = log_->AppendBatch(batch);
  EXPECT_EQ(results[0].error().code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(results[1].ok());
  EXPECT_EQ(results[1]->first_position, 1u);
  EXPECT_EQ(log_->Head(), 1u);
  EXPECT_EQ(*log_->StreamVersion("customer-c1"), 0u) << "nothing of the bad request";
  // Its request id is not consumed: a corrected retry goes through.
  auto retry = AppendOne(Request("c1", 2, "r1"));
  ASSERT_TRUE(retry.ok());
  EXPECT_FALSE(retry->replayed);
}

TEST_F(EventLogTest, ReopenRestoresHeadChainAndVersions) {
  ASSERT_TRUE(AppendOne(Request("c1", 3, "r1")).ok());
  const ChainDigest before = *log_->HashAt(3);
  Reopen();
  EXPECT_EQ(log_->Head(), 3u);
  EXPECT_EQ(*log_->HashAt(3), before);
  auto next = Request("c1", 1, "r2");
  next.expectations.push_back({"customer-c1", 3});
  auto r = AppendOne(std::move(next));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->first_position, 4u);
  EXPECT_EQ(r->stream_versions, (std::vector<uint64_t>{4}));
  auto report = VerifyChain(*log_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->reason;
  EXPECT_EQ(report->checked, 4u);
}

TEST_F(EventLogTest, RefusesAFolderOfAnotherFormat) {
  log_.reset();
  {
    // Rewrite the marker with raw RocksDB.
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* n : {"default", log_format::kEventsCf, log_format::kStreamsCf,
                          log_format::kRequestsCf, log_format::kUniqueCf, log_format::kMetaCf,
                          log_format::kKeysCf}) {
      cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir_.Sub("log"), cfs, &handles, &db).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[5], log_format::kFormatKey, "tally-log/99").ok());
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    delete db;
  }
  auto opened = RocksDbEventLog::Open(dir_.Sub("log"));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code(), ErrorCode::kFormatMismatch);
}

TEST_F(EventLogTest, ReadOnlyOpenReadsButRefusesAppends) {
  ASSERT_TRUE(AppendOne(Request("c1", 2, "r1")).ok());
  log_.reset();
  auto ro = RocksDbEventLog::OpenReadOnly(dir_.Sub("log"));
  ASSERT_TRUE(ro.ok()) << ro.error().ToString();
  EXPECT_EQ((*ro)->Head(), 2u);
  std::vector<AppendRequest> batch;
  batch.push_back(Request("c2", 1, "r2"));
  auto results = (*ro)->AppendBatch(batch);
  EXPECT_EQ(results[0].error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ((*ro)->Head(), 2u);
}

// The reserve (tallyd --min-free-mib): below it the log refuses as a full
// disk would, says why, appends nothing, and takes writes again as soon as
// there is room, with no Recover and no reopen in between.
TEST_F(EventLogTest, BelowItsFreeSpaceReserveTheLogRefusesWritesUntilThereIsRoom) {
  ASSERT_TRUE(AppendOne(Request("c1", 2, "r1")).ok());
  log_.reset();
  const uint64_t free_now = std::filesystem::space(dir_.Sub("log")).available;
  RocksDbEventLogOptions options;
  options.min_free_bytes = free_now + (uint64_t{1} << 40);  // a terabyte more than the disk has
  auto opened = RocksDbEventLog::Open(dir_.Sub("log"), options);
  ASSERT_TRUE(opened.ok()) << opened.error().ToString();
  RocksDbEventLog& full = **opened;
  ASSERT_TRUE(full.WriteFailure().has_value());
  EXPECT_EQ(full.WriteFailure()->code(), ErrorCode::kStorageFull);
  EXPECT_NE(full.WriteFailure()->message().find("No space left for the event log"), std::string::npos)
      << full.WriteFailure()->message();
  std::vector<AppendRequest> batch;
  batch.push_back(Request("c2", 1, "r2"));
  auto refused = full.AppendBatch(batch);
  ASSERT_FALSE(refused[0].ok());
  EXPECT_EQ(refused[0].error().code(), ErrorCode::kStorageFull);
  EXPECT_EQ(full.Head(), 2u);
  EXPECT_FALSE(full.failed()) << "a reserve is not a failure: nothing to recover from";
  opened->reset();

  options.min_free_bytes = 1;  // room again
  opened = RocksDbEventLog::Open(dir_.Sub("log"), options);
  ASSERT_TRUE(opened.ok()) << opened.error().ToString();
  EXPECT_FALSE((*opened)->WriteFailure().has_value());
  batch.clear();
  batch.push_back(Request("c2", 1, "r2"));
  auto accepted = (*opened)->AppendBatch(batch);
  ASSERT_TRUE(accepted[0].ok()) << accepted[0].error().ToString();
  EXPECT_EQ((*opened)->Head(), 3u);
}

TEST_F(EventLogTest, OpeningAMissingFolderReadOnlyFails) {
  auto ro = RocksDbEventLog::OpenReadOnly(dir_.Sub("nope"));
  EXPECT_FALSE(ro.ok());
}

// Issue 21: a log restored from another copy of its envelopes (the Kafka
// topic) is the original byte for byte, chain hash for chain hash; an
// envelope out of place or a claim already taken is refused and nothing of
// that call is written.
TEST_F(EventLogTest, AppendStampedCopiesALogAndRefusesWhatDoesNotFollow) {
  AppendRequest first = Request("c1", 2, "r1");
  first.claims.push_back({"domain/contoso.onmicrosoft.com", "c1"});
  ASSERT_TRUE(AppendOne(std::move(first)).ok());
  ASSERT_TRUE(AppendOne(Request("c2", 1, "r2")).ok());
  ASSERT_TRUE(AppendOne(Request("c1", 1, "r3")).ok());
  auto original = log_->Read(1, 100);
  ASSERT_TRUE(original.ok());
  ASSERT_EQ(original->size(), 4u);

  auto copy = RocksDbEventLog::Open(dir_.Sub("copy"));
  ASSERT_TRUE(copy.ok());
  auto stamped = [&](size_t i) {
    RocksDbEventLog::StampedEvent e;
    e.envelope = (*original)[i].envelope;
    return e;
  };
  // Position 2 first: refused, nothing written.
  std::vector<RocksDbEventLog::StampedEvent> wrong = {stamped(1)};
  auto refused = (*copy)->AppendStamped(wrong);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("expected position 1, got 2"), std::string::npos) << refused.error().ToString();
  EXPECT_EQ((*copy)->Head(), 0u);

  std::vector<RocksDbEventLog::StampedEvent> two = {stamped(0), stamped(1)};
  two[0].claims.push_back({"domain/contoso.onmicrosoft.com", "c1"});
  ASSERT_TRUE((*copy)->AppendStamped(two).ok());
  // A claim already taken: the whole call refused.
  std::vector<RocksDbEventLog::StampedEvent> taken = {stamped(2)};
  taken[0].claims.push_back({"domain/contoso.onmicrosoft.com", "c2"});
  auto claim = (*copy)->AppendStamped(taken);
  ASSERT_FALSE(claim.ok());
  EXPECT_EQ(claim.error().code(), ErrorCode::kUniqueKeyTaken);
  EXPECT_EQ((*copy)->Head(), 2u);
  std::vector<RocksDbEventLog::StampedEvent> rest = {stamped(2), stamped(3)};
  ASSERT_TRUE((*copy)->AppendStamped(rest).ok());

  ASSERT_EQ((*copy)->Head(), 4u);
  for (uint64_t p = 1; p <= 4; ++p) {
    EXPECT_EQ((*(*copy)->Read(p, 1))[0].envelope, (*original)[p - 1].envelope) << p;
    EXPECT_EQ(*(*copy)->HashAt(p), *log_->HashAt(p)) << p;
  }
  EXPECT_EQ(*(*copy)->StreamVersion("customer-c1"), 3u);
  EXPECT_EQ((*(*copy)->UniqueOwner("domain/contoso.onmicrosoft.com")).value_or(""), "c1");
  auto report = VerifyChain(**copy);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->reason;
  // At position 5 but c1's version 3 again: refused.
  std::vector<RocksDbEventLog::StampedEvent> again = {stamped(3)};
  ASSERT_TRUE(events::StampEnvelope(again[0].envelope, 5, 3, clock_.NowMicros()));
  auto version = (*copy)->AppendStamped(again);
  ASSERT_FALSE(version.ok());
  EXPECT_NE(version.error().message().find("version 3 does not follow 3"), std::string::npos)
      << version.error().ToString();
  EXPECT_EQ((*copy)->Head(), 4u);
}

}  // namespace
}  // namespace tally
