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

// Chunks of 4096 records are verified on several threads: a long log with
// damage in several chunks must still name the earliest bad record, and
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
  auto report = VerifyChain(*log_);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->first_bad, 9000u) << report->reason;
  EXPECT_EQ(report->checked, 9000u);
  auto from_the_middle = VerifyChain(*log_, 9001);
  ASSERT_TRUE(from_the_middle.ok());
  EXPECT_EQ(from_the_middle->first_bad, 12290u) << from_the_middle->reason;
  EXPECT_EQ(from_the_middle->checked, 12290u - 9001u + 1);
  // (From 17002 the tampered hash of 17001 is the start of the range: a mismatch at 17002.)
  auto last_chunk = VerifyChain(*log_, 17003);
  ASSERT_TRUE(last_chunk.ok());
  EXPECT_TRUE(last_chunk->ok()) << last_chunk->reason;
  EXPECT_EQ(last_chunk->checked, 20000u - 17003u + 1);
  auto at_the_hash = VerifyChain(*log_, 17002);
  ASSERT_TRUE(at_the_hash.ok());
  EXPECT_EQ(at_the_hash->first_bad, 17002u);
}

}  // namespace
}  // namespace tally
