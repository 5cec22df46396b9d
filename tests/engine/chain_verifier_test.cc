#include "engine/chain_verifier.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "engine/log_format.h"
#include "tests/engine/log_fixture.h"

namespace tally {
namespace {

class ChainVerifierTest : public testing::LogFixture {
 protected:
  void Fill(int requests) {
    for (int i = 0; i < requests; ++i) {
      ASSERT_TRUE(AppendOne(Request("c" + std::to_string(i % 3), 2, "r" + std::to_string(i))).ok());
    }
  }
  // Rewrites the stored record at `position` through RocksDB itself.
  void Tamper(uint64_t position, size_t offset) {
    std::string value;
    auto key = log_format::EventKey(position);
    ASSERT_TRUE(log_->db()->Get(rocksdb::ReadOptions(), log_->events_cf(), key, &value).ok());
    ASSERT_LT(offset, value.size());
    value[offset] ^= 0x01;
    ASSERT_TRUE(log_->db()->Put(rocksdb::WriteOptions(), log_->events_cf(), key, value).ok());
  }
};

TEST_F(ChainVerifierTest, IntactLogVerifies) {
  Fill(10);
  auto report = VerifyChain(*log_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->reason;
  EXPECT_EQ(report->checked, 20u);
}

TEST_F(ChainVerifierTest, EmptyLogVerifies) {
  auto report = VerifyChain(*log_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->checked, 0u);
}

TEST_F(ChainVerifierTest, NamesAFlippedEnvelopeByte) {
  Fill(10);
  // Last byte of the envelope: inside string data, structurally still valid;
  // only the chain catches it.
  std::string value;
  ASSERT_TRUE(log_->db()->Get(rocksdb::ReadOptions(), log_->events_cf(), log_format::EventKey(7), &value).ok());
  Tamper(7, value.size() - 40);
  auto report = VerifyChain(*log_);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->first_bad, 7u);
  EXPECT_EQ(report->checked, 7u);
  EXPECT_FALSE(report->reason.empty());
}

TEST_F(ChainVerifierTest, NamesAFlippedChainHashByte) {
  Fill(10);
  Tamper(12, 5);  // inside the stored 32-byte hash
  auto report = VerifyChain(*log_);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->first_bad, 12u);
  EXPECT_EQ(report->reason, "chain hash mismatch");
}

TEST_F(ChainVerifierTest, NamesAMissingEvent) {
  Fill(5);
  ASSERT_TRUE(log_->db()->Delete(rocksdb::WriteOptions(), log_->events_cf(), log_format::EventKey(4)).ok());
  auto report = VerifyChain(*log_);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->first_bad, 4u);
}

TEST_F(ChainVerifierTest, NamesAnEventWhoseEnvelopeClaimsAnotherPosition) {
  Fill(3);
  // Copy record 2 over record 3: valid envelope, wrong position.
  std::string value;
  ASSERT_TRUE(log_->db()->Get(rocksdb::ReadOptions(), log_->events_cf(), log_format::EventKey(2), &value).ok());
  ASSERT_TRUE(log_->db()->Put(rocksdb::WriteOptions(), log_->events_cf(), log_format::EventKey(3), value).ok());
  auto report = VerifyChain(*log_);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->first_bad, 3u);
}

TEST_F(ChainVerifierTest, VerifiesARangeFromTheMiddle) {
  Fill(10);
  Tamper(3, 40);
  auto tail = VerifyChain(*log_, 10, 20);
  ASSERT_TRUE(tail.ok());
  EXPECT_TRUE(tail->ok()) << tail->reason;
  EXPECT_EQ(tail->checked, 11u);
  auto head = VerifyChain(*log_, 1, 5);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->first_bad, 3u);
}

TEST_F(ChainVerifierTest, ReportsProgressEvery65536Records) {
  for (int b = 0; b < 70; ++b) {
    std::vector<AppendRequest> batch;
    for (int i = 0; i < 1000; ++i) batch.push_back(Request("c" + std::to_string(i), 1));
    for (auto& r : log_->AppendBatch(batch)) ASSERT_TRUE(r.ok());
  }
  std::vector<uint64_t> calls;
  auto report = VerifyChain(*log_, 1, 0, [&](uint64_t n) { calls.push_back(n); });
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->reason;
  EXPECT_EQ(report->checked, 70000u);
  EXPECT_EQ(calls, (std::vector<uint64_t>{65536}));
}

// Segments of the range are verified on several threads: a long log with
// damage in several segments must still name the earliest bad record, and
// count the records up to it.
TEST_F(ChainVerifierTest, NamesTheEarliestOfSeveralBadRecordsAcrossChunks) {
  for (int b = 0; b < 20; ++b) {
    std::vector<AppendRequest> batch;
    for (int i = 0; i < 1000; ++i) batch.push_back(Request("c" + std::to_string(i), 1));
    for (auto& r : log_->AppendBatch(batch)) ASSERT_TRUE(r.ok());
  }
  Tamper(17001, 5);    // a hash, in the fifth chunk
  Tamper(9000, 50);    // an envelope byte, in the third chunk
  Tamper(12290, 50);   // in the fourth
  auto report = VerifyChain(*log_, 1, 0, nullptr, 4);  // segments of 5000 records
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->first_bad, 9000u) << report->reason;
  EXPECT_EQ(report->checked, 9000u);
  auto from_the_middle = VerifyChain(*log_, 9001, 0, nullptr, 2);
  ASSERT_TRUE(from_the_middle.ok());
  EXPECT_EQ(from_the_middle->first_bad, 12290u) << from_the_middle->reason;
  EXPECT_EQ(from_the_middle->checked, 12290u - 9001u + 1);
  // (From 17002 the tampered hash of 17001 is the start of the range: a mismatch at 17002.)
  auto last_chunk = VerifyChain(*log_, 17003, 0, nullptr, 4);
  ASSERT_TRUE(last_chunk.ok());
  EXPECT_TRUE(last_chunk->ok()) << last_chunk->reason;
  EXPECT_EQ(last_chunk->checked, 20000u - 17003u + 1);
  auto at_the_hash = VerifyChain(*log_, 17002, 0, nullptr, 4);
  ASSERT_TRUE(at_the_hash.ok());
  EXPECT_EQ(at_the_hash->first_bad, 17002u);
}

// Whatever the number of segments, the report is the sequential one: the
// same first bad record, reason and count, for damage of every kind placed
// on and around segment boundaries.
TEST_F(ChainVerifierTest, EverySegmentCountGivesTheSequentialReport) {
  for (int b = 0; b < 24; ++b) {
    std::vector<AppendRequest> batch;
    for (int i = 0; i < 1000; ++i) batch.push_back(Request("c" + std::to_string(i), 1));
    for (auto& r : log_->AppendBatch(batch)) ASSERT_TRUE(r.ok());
  }
  auto all = [&](uint64_t from) {
    std::vector<VerifyReport> reports;
    for (unsigned threads : {1u, 2u, 3u, 4u, 5u}) {
      auto r = VerifyChain(*log_, from, 0, nullptr, threads);
      EXPECT_TRUE(r.ok());
      if (r.ok()) reports.push_back(*r);
    }
    return reports;
  };
  auto expect_same = [&](uint64_t from, uint64_t first_bad, uint64_t checked) {
    for (const auto& r : all(from)) {
      EXPECT_EQ(r.first_bad, first_bad) << r.reason;
      EXPECT_EQ(r.checked, checked) << r.reason;
      EXPECT_EQ(r.reason, all(from)[0].reason);
    }
  };
  expect_same(1, 0, 24000);
  // 24000 records: segment boundaries at 8001 (3 threads), 12001 (2, 4), 6001, 18001 (4), 4801... (5).
  Tamper(18002, 3);  // hash of the second record of the last of four segments
  expect_same(1, 18002, 18002);
  ASSERT_TRUE(log_->db()->Delete(rocksdb::WriteOptions(), log_->events_cf(), log_format::EventKey(12001)).ok());
  expect_same(1, 12001, 12001);  // a gap right at a boundary (counted, as a bad record is)
  Tamper(6000, 50);  // the last record of the first of four segments
  expect_same(1, 6000, 6000);
  expect_same(6001, 12001, 6001);
  expect_same(12002, 12001, 0);  // the hash before the range is missing
  expect_same(12003, 18002, 18002 - 12003 + 1);
  // A gap that ends an inner segment (from 6001, 3 threads: 6001-12000,
  // 12001-18000, ...): the report names the next stored record, as a
  // sequential pass does.
  for (uint64_t p : {11999, 12000}) {
    ASSERT_TRUE(log_->db()->Delete(rocksdb::WriteOptions(), log_->events_cf(), log_format::EventKey(p)).ok());
  }
  expect_same(6001, 11999, 11999 - 6001 + 1);
  auto gap = VerifyChain(*log_, 6001, 0, nullptr, 3);
  ASSERT_TRUE(gap.ok());
  EXPECT_EQ(gap->reason, "missing event: next stored position is 12002");
  // And a log that ends early inside the range (the last records are gone):
  // only the good records count.
  for (uint64_t p = 23990; p <= 24000; ++p) {
    ASSERT_TRUE(log_->db()->Delete(rocksdb::WriteOptions(), log_->events_cf(), log_format::EventKey(p)).ok());
  }
  expect_same(18004, 23990, 23990 - 18004);
}

}  // namespace
}  // namespace tally
