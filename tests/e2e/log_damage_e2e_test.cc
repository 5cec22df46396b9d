// Damage to a stopped tallyd's files, the way disks do it, on a real tallyd:
// a cut write-ahead log, a flipped bit in it, an event's bytes changed with
// valid RocksDB checksums, a flipped bit in a table file, a read model that
// claims a position beyond the log. Each time tallyd refuses to start (or,
// with --on-damage=read-only, serves reads and refuses writes) and names the
// positions, `tallyctl verify` exits 1 naming the first one, and nothing is
// published or decided on damaged bytes.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/metadata.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/log_format.h"
#include "engine/rocksdb_event_log.h"
#include "projections/projection.h"
#include "projections/store.h"
#include "tests/testing/api_bodies.h"
#include "tests/testing/http_client.h"
#include "tests/testing/process.h"
#include "tests/testing/tallyd.h"
#include "tests/testing/test_util.h"

namespace tally {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::HttpClient;
using testing::NewCustomer;

constexpr int kCustomers = 150;  // ~225 KiB of write-ahead log

// A data folder written by a real tallyd (kCustomers customers, then a clean
// stop), made once and copied for each test.
class LogDamageE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    base_ = new testing::TempDir();
    testing::TallydProcess tallyd(TALLYD, base_->Sub("var"));
    ASSERT_TRUE(tallyd.running()) << tallyd.output();
    HttpClient partner(tallyd.port(), tallyd.dev_token());
    for (int i = 0; i < kCustomers; ++i) {
      auto created = partner.Post("/v1/customers", NewCustomer("dmg" + std::to_string(i)));
      ASSERT_EQ(created.status, 201) << created.body;
      ids_->push_back(created.json["id"]);
    }
    head_ = HttpClient(tallyd.port()).Get("/healthz").json["head"];
    token_ = new std::string(tallyd.dev_token());
    ASSERT_EQ(tallyd.Stop(), 0) << tallyd.output();
  }
  static void TearDownTestSuite() {
    delete base_;
    delete token_;
  }
  void SetUp() override {
    ASSERT_NE(base_, nullptr);
    fs::copy(base_->Sub("var"), Data(), fs::copy_options::recursive);
  }
  std::string Data() const { return dir_.Sub("var"); }
  std::string Wal() const {
    for (const auto& e : fs::directory_iterator(Data() + "/log")) {
      if (e.path().extension() == ".log") return e.path();
    }
    ADD_FAILURE() << "no write-ahead log";
    return "";
  }
  static void FlipByte(const std::string& file, uintmax_t at) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    f.read(&c, 1);
    c ^= 0x10;
    f.seekp(static_cast<std::streamoff>(at));
    f.write(&c, 1);
  }
  testing::Output Verify() { return testing::RunCommand(std::string(TALLYCTL) + " verify --data " + Data()); }
  // Polls /healthz until it says "damaged" (or 20 s pass).
  static json WaitForDamage(uint16_t port) {
    json health;
    for (int i = 0; i < 200; ++i) {
      health = HttpClient(port).Get("/healthz").json;
      if (health.value("status", "") == "damaged") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return health;
  }
  // POST /admin/v1/verify with an operator's token: answered 200 with the
  // finding as data (ok false), never a 5xx.
  testing::HttpReply AdminVerify(uint16_t port) {
    const std::string ops = testing::AddedToken(TALLYCTL, Data(), "operators add ops");
    auto verified = HttpClient(port, ops).Post("/admin/v1/verify", json::object());
    EXPECT_EQ(verified.status, 200) << verified.body;
    EXPECT_EQ(verified.json["ok"], false) << verified.body;
    return verified;
  }
  // A write, as a partner tool makes it: refused with 503 log_damaged.
  static void ExpectWritesRefused(uint16_t port) {
    for (int i = 0; i < 2; ++i) {  // the second too: a refusal leaves the log refusing, not failed otherwise
      auto refused = HttpClient(port, *token_).Post("/v1/customers", NewCustomer("afterdamage" + std::to_string(i)));
      EXPECT_EQ(refused.status, 503) << refused.body;
      EXPECT_EQ(refused.code(), static_cast<int>(ErrorCode::kLogDamaged)) << refused.body;
    }
    auto health = HttpClient(port).Get("/healthz").json;
    EXPECT_EQ(health["writes"]["code"], static_cast<int>(ErrorCode::kLogDamaged)) << health.dump();
  }

  static inline testing::TempDir* base_ = nullptr;
  static inline std::vector<std::string>* ids_ = new std::vector<std::string>();
  static inline uint64_t head_ = 0;
  static inline std::string* token_ = nullptr;
  testing::TempDir dir_;
};

TEST_F(LogDamageE2eTest, ACutWriteAheadLogIsRefusedAndNamedNeverServedAsHealthy) {
  ASSERT_GT(head_, 2u * kCustomers - 1);
  fs::resize_file(Wal(), fs::file_size(Wal()) - 65536);
  const std::string lost_to = "-" + std::to_string(head_) + " (head mark): missing";
  {
    testing::TallydProcess refused(TALLYD, Data());
    EXPECT_FALSE(refused.running());
    EXPECT_EQ(refused.Kill(SIGTERM), 3) << refused.output();
    EXPECT_NE(refused.output().find(lost_to), std::string::npos) << refused.output();
    EXPECT_NE(refused.output().find("read model customer): missing"), std::string::npos) << refused.output();
    EXPECT_NE(refused.output().find("restore --from-kafka"), std::string::npos) << refused.output();
  }
  auto verify = Verify();
  EXPECT_EQ(verify.exit_code, 1) << verify.text;
  EXPECT_NE(verify.text.find("FAILED at position"), std::string::npos) << verify.text;
  EXPECT_NE(verify.text.find(lost_to), std::string::npos) << verify.text;
  // Read-only on the operator's word: reads served, writes refused, health
  // not ok, and the positions named.
  {
    testing::TallydProcess reads(TALLYD, Data(), {"--on-damage", "read-only"});
    ASSERT_TRUE(reads.running()) << reads.output();
    auto health = HttpClient(reads.port()).Get("/healthz");
    EXPECT_EQ(health.status, 503) << health.body;
    EXPECT_EQ(health.json["status"], "damaged") << health.body;
    ASSERT_FALSE(health.json["damage"].empty()) << health.body;
    EXPECT_EQ(health.json["damage"][0]["lastPosition"], head_) << health.body;
    EXPECT_LT(health.json["head"].get<uint64_t>(), head_) << health.body;
    EXPECT_EQ(HttpClient(reads.port()).Get("/readyz").status, 503);
    ExpectWritesRefused(reads.port());
    EXPECT_EQ(HttpClient(reads.port(), *token_).Get("/v1/customers/" + ids_->front()).status, 200);
    auto metrics = HttpClient(reads.port()).Get("/metrics").body;
    EXPECT_NE(metrics.find("tally_log_damaged 1"), std::string::npos);
    EXPECT_EQ(reads.Stop(), 0) << reads.output();
  }
  // The read-only run did not move the head mark back: still refused.
  testing::TallydProcess again(TALLYD, Data());
  EXPECT_FALSE(again.running());
  EXPECT_EQ(again.Kill(SIGTERM), 3) << again.output();
  EXPECT_NE(again.output().find(lost_to), std::string::npos) << again.output();
}

// With no copy to heal from, the operator accepts the loss explicitly: a
// LogPositionsLost event stands at each lost position, the read models are
// rebuilt from the log (a lost customer is no longer served), and new events
// go after every position that was ever acknowledged.
TEST_F(LogDamageE2eTest, AnAcceptedLossIsRecordedAndNoPositionIsGivenTwice) {
  fs::resize_file(Wal(), fs::file_size(Wal()) - 65536);
  const std::string tallyctl = TALLYCTL;
  auto unexplained = testing::RunCommand(tallyctl + " accept-loss --data " + Data());
  EXPECT_EQ(unexplained.exit_code, 2) << unexplained.text;  // --reason is required
  auto unnamed = testing::RunCommand(tallyctl + " accept-loss --data " + Data() + " --reason x");
  EXPECT_EQ(unnamed.exit_code, 2) << unnamed.text;  // the topic to check, or --no-kafka
  EXPECT_NE(unnamed.text.find("--no-kafka"), std::string::npos) << unnamed.text;
  auto accepted = testing::RunCommand(tallyctl + " accept-loss --no-kafka --data " + Data() +
                                      " --operator alice --reason 'the disk lost the tail; no Kafka copy'");
  ASSERT_EQ(accepted.exit_code, 0) << accepted.text;
  EXPECT_NE(accepted.text.find("-" + std::to_string(head_) + " are lost"), std::string::npos) << accepted.text;
  auto verify = Verify();
  EXPECT_EQ(verify.exit_code, 0) << verify.text;
  auto lost = testing::RunCommand(tallyctl + " replay --type LogPositionsLost --data " + Data() + " 2>/dev/null");
  EXPECT_NE(lost.text.find("\"position\": " + std::to_string(head_) + ","), std::string::npos) << lost.text;
  EXPECT_NE(lost.text.find("operator:alice"), std::string::npos) << lost.text;
  testing::TallydProcess tallyd(TALLYD, Data());
  ASSERT_TRUE(tallyd.running()) << tallyd.output();
  HttpClient partner(tallyd.port(), *token_);
  auto fresh = partner.Post("/v1/customers", NewCustomer("afterloss"));
  ASSERT_EQ(fresh.status, 201) << fresh.body;
  json health;
  for (int i = 0; i < 300; ++i) {  // the read models are built again from position 1
    health = HttpClient(tallyd.port()).Get("/healthz").json;
    if (health["readModels"][0]["lag"] == 0 && health["readModels"][0]["position"] > head_) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(health["status"], "ok") << health.dump();
  EXPECT_GT(health["head"].get<uint64_t>(), head_) << "new events go after every acknowledged position";
  EXPECT_EQ(partner.Get("/v1/customers/" + fresh.json["id"].get<std::string>()).status, 200);
  EXPECT_EQ(partner.Get("/v1/customers/" + ids_->back()).status, 404) << "the last customer was lost";
  EXPECT_EQ(partner.Get("/v1/customers/" + ids_->front()).status, 200);
}

// Not damage: writes a crash or power loss cut short before their sync
// (never acknowledged) can leave more than the last record torn (pages
// written back out of order). Beyond everything the witnesses saw durable,
// they are dropped with a warning (a copy of the log kept), as RocksDB
// drops a torn last record; tallyd serves.
TEST_F(LogDamageE2eTest, ATornTailOfUnsyncedWritesIsDroppedNotTakenForDamage) {
  {
    std::ofstream wal(Wal(), std::ios::binary | std::ios::app);
    std::string junk(40000, '\0');
    uint32_t x = 12345;
    for (char& c : junk) c = static_cast<char>((x = x * 1103515245 + 12345) >> 16);
    wal << junk;
  }
  testing::TallydProcess tallyd(TALLYD, Data());
  ASSERT_TRUE(tallyd.running()) << tallyd.output();
  EXPECT_NE(tallyd.output().find("beyond everything acknowledged"), std::string::npos) << tallyd.output();
  auto health = HttpClient(tallyd.port()).Get("/healthz");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(health.json["head"], head_) << health.body;
  bool kept = false;
  for (const auto& e : fs::directory_iterator(Data())) kept |= e.path().filename().string().starts_with("log.damaged-");
  EXPECT_TRUE(kept) << "the log as it was is kept";
  EXPECT_EQ(HttpClient(tallyd.port(), *token_).Post("/v1/customers", NewCustomer("aftertorn")).status, 201);
}

// tallyctl verify beside a running tallyd: the witnesses it reads may be
// behind the log it sees, never ahead: no false damage while writes go on.
TEST_F(LogDamageE2eTest, VerifyBesideARunningTallydFindsNothingWrong) {
  testing::TallydProcess tallyd(TALLYD, Data());
  ASSERT_TRUE(tallyd.running()) << tallyd.output();
  std::atomic<bool> stop{false};
  std::thread writes([&] {
    HttpClient partner(tallyd.port(), *token_);
    for (int i = 0; !stop; ++i) {
      if (partner.Post("/v1/customers", NewCustomer("beside" + std::to_string(i))).status != 201) break;
    }
  });
  for (int i = 0; i < 20; ++i) {
    auto verify = Verify();
    EXPECT_EQ(verify.exit_code, 0) << verify.text;
  }
  stop = true;
  writes.join();
  EXPECT_EQ(HttpClient(tallyd.port()).Get("/healthz").json["status"], "ok");
}

TEST_F(LogDamageE2eTest, AFlippedBitInTheWriteAheadLogIsRefusedAndNamed) {
  FlipByte(Wal(), fs::file_size(Wal()) / 2);
  testing::TallydProcess refused(TALLYD, Data());
  EXPECT_FALSE(refused.running());
  EXPECT_EQ(refused.Kill(SIGTERM), 3) << refused.output();
  const std::string named = "-" + std::to_string(head_) + " (write-ahead log): unreadable after position ";
  EXPECT_NE(refused.output().find(named), std::string::npos) << refused.output();
  auto verify = Verify();
  EXPECT_EQ(verify.exit_code, 1) << verify.text;
  EXPECT_NE(verify.text.find("FAILED at position"), std::string::npos) << verify.text;
  EXPECT_NE(verify.text.find("write-ahead log is unreadable"), std::string::npos) << verify.text;
  // Read-only: the log up to the damage is served.
  testing::TallydProcess reads(TALLYD, Data(), {"--on-damage", "read-only"});
  ASSERT_TRUE(reads.running()) << reads.output();
  auto health = HttpClient(reads.port()).Get("/healthz").json;
  EXPECT_EQ(health["status"], "damaged") << health.dump();
  EXPECT_LT(health["head"].get<uint64_t>(), head_);
  ExpectWritesRefused(reads.port());
}

TEST_F(LogDamageE2eTest, AnEventChangedWithValidChecksumsIsNeverPublishedOrDecidedOn) {
  const uint64_t changed = head_ / 2;
  {
    auto log = RocksDbEventLog::Open(Data() + "/log");
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    const std::string key = log_format::EventKey(changed);
    std::string value;
    ASSERT_TRUE((*log)->db()->Get(rocksdb::ReadOptions(), (*log)->events_cf(), key, &value).ok());
    value[value.size() - 5] ^= 0x01;  // an envelope byte; the stored hash kept
    ASSERT_TRUE((*log)->db()->Put(rocksdb::WriteOptions(), (*log)->events_cf(), key, value).ok());
  }
  // tallyd starts (the damage is older than the head mark), and the relay,
  // which publishes the log from position 1 into the embedded Kafka, finds
  // it: nothing from it on is published, writes are refused.
  testing::TallydProcess tallyd(TALLYD, Data());
  ASSERT_TRUE(tallyd.running()) << tallyd.output();
  json health = WaitForDamage(tallyd.port());
  ASSERT_EQ(health["status"], "damaged") << health.dump();
  EXPECT_EQ(health["damage"][0]["firstPosition"], changed) << health.dump();
  EXPECT_LT(health["kafka"]["published"].get<uint64_t>(), changed) << health.dump();
  ExpectWritesRefused(tallyd.port());
  // The operators' verify answers the finding as data.
  auto verified = AdminVerify(tallyd.port());
  EXPECT_EQ(verified.json["firstBad"], changed) << verified.body;
  auto verify = Verify();
  EXPECT_EQ(verify.exit_code, 1) << verify.text;
  EXPECT_NE(verify.text.find("FAILED at position " + std::to_string(changed) + ": chain hash mismatch"),
            std::string::npos)
      << verify.text;
  // A restart does not forget what a reader found: recorded beside the log.
  EXPECT_EQ(tallyd.Stop(), 0) << tallyd.output();
  testing::TallydProcess again(TALLYD, Data());
  EXPECT_FALSE(again.running());
  EXPECT_EQ(again.Kill(SIGTERM), 3) << again.output();
  EXPECT_NE(again.output().find("position " + std::to_string(changed) + " (recorded: chain)"), std::string::npos)
      << again.output();
}

TEST_F(LogDamageE2eTest, AFlippedBitInATableFileNamesItsPosition) {
  std::string table;
  {
    auto log = RocksDbEventLog::Open(Data() + "/log");
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    ASSERT_TRUE((*log)->Flush().ok());
    std::vector<rocksdb::LiveFileMetaData> files;
    (*log)->db()->GetLiveFilesMetaData(&files);
    for (const auto& f : files) {
      if (f.column_family_name == log_format::kEventsCf) table = f.db_path + f.name;
    }
  }
  ASSERT_FALSE(table.empty());
  FlipByte(table, 200);  // inside the first data block (the head's block, read at start, stays good)
  testing::TallydProcess tallyd(TALLYD, Data());
  ASSERT_TRUE(tallyd.running()) << tallyd.output();
  json health = WaitForDamage(tallyd.port());
  ASSERT_EQ(health["status"], "damaged") << health.dump();
  EXPECT_GT(health["damage"][0]["firstPosition"].get<uint64_t>(), 0u) << health.dump();
  EXPECT_LT(health["kafka"]["published"].get<uint64_t>(), head_) << health.dump();
  ExpectWritesRefused(tallyd.port());
  auto verified = AdminVerify(tallyd.port());
  EXPECT_GT(verified.json.value("firstBad", 0), 0) << verified.body;
  auto verify = Verify();
  EXPECT_EQ(verify.exit_code, 1) << verify.text;
  EXPECT_NE(verify.text.find("FAILED at position"), std::string::npos) << verify.text;
  EXPECT_NE(verify.text.find("cannot be read"), std::string::npos) << verify.text;
}

TEST_F(LogDamageE2eTest, AReadModelThatClaimsAPositionBeyondTheLogIsRefused) {
  fs::remove(Data() + "/log/TALLY-HEAD-MARK");  // the read model is the only witness
  {
    auto store = projections::ProjectionStore::Open(Data() + "/projections", projections::ModelNames());
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    auto copy = (*store)->Active("license");
    ASSERT_NE(copy, nullptr);
    auto checkpoint = (*store)->ReadCheckpoint(*copy);
    ASSERT_TRUE(checkpoint.ok());
    ASSERT_EQ(checkpoint->position, head_);
    checkpoint->position = head_ + 40;
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Put(copy->cf(), projections::kCheckpointKey, checkpoint->Encode()).ok());
    ASSERT_TRUE((*store)->Write(batch, true).ok());
  }
  testing::TallydProcess refused(TALLYD, Data());
  EXPECT_FALSE(refused.running());
  EXPECT_EQ(refused.Kill(SIGTERM), 3) << refused.output();
  const std::string named = "positions " + std::to_string(head_ + 1) + "-" + std::to_string(head_ + 40) +
                            " (read model license): missing";
  EXPECT_NE(refused.output().find(named), std::string::npos) << refused.output();
  auto verify = Verify();
  EXPECT_EQ(verify.exit_code, 1) << verify.text;
  EXPECT_NE(verify.text.find(named), std::string::npos) << verify.text;
}

}  // namespace
}  // namespace tally
