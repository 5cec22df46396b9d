// The Kafka relay against librdkafka's mock cluster (real Kafka protocol on
// loopback) and a RocksDB event log on disk.
#include "engine/kafka/relay.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "engine/kafka/embedded.h"
#include "engine/log_format.h"
#include "engine/rocksdb_event_log.h"
#include "events/codec.h"
#include "events/samples.h"
#include "tests/testing/kafka_topic.h"
#include "tests/testing/test_util.h"

namespace tally::kafka {
namespace {

using testing::TopicRecord;

constexpr int kPartitions = 4;
const std::string kTopic = "tally.events.test";

class RelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = RocksDbEventLog::Open(dir_.Sub("log"));
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    log_ = std::move(*log);
    auto kafka = EmbeddedKafka::Start(3, kTopic, kPartitions);
    ASSERT_TRUE(kafka.ok()) << kafka.error().ToString();
    kafka_ = std::move(*kafka);
  }

  RelayOptions Options() const {
    RelayOptions o;
    o.topic = kTopic;
    o.config = {{"bootstrap.servers", kafka_->bootstraps()}};
    o.retry = std::chrono::milliseconds(200);
    return o;
  }

  // `n` one-event commands over `customers` customers.
  void Append(int n, int customers = 17) {
    for (int i = 0; i < n; ++i) {
      AppendRequest r;
      r.events.push_back(samples_.SubscriptionCreated("c" + std::to_string(next_++ % customers), "", i % 50 + 1));
      auto results = log_->AppendBatch(std::span<AppendRequest>(&r, 1));
      ASSERT_TRUE(results[0].ok()) << results[0].error().ToString();
    }
  }

  // `n` one-event commands in synced batches of 500 (faster, for long logs).
  void AppendMany(int n, int customers = 101) {
    while (n > 0) {
      std::vector<AppendRequest> batch(std::min(n, 500));
      for (auto& r : batch) {
        r.events.push_back(samples_.SubscriptionCreated("c" + std::to_string(next_++ % customers), "", 1));
      }
      for (auto& result : log_->AppendBatch(batch)) ASSERT_TRUE(result.ok()) << result.error().ToString();
      n -= static_cast<int>(batch.size());
    }
  }

  static bool WaitFor(const std::function<bool()>& done, int seconds = 30) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  // The topic holds every event of the log exactly once, each customer's in
  // order in its own partition, with the contract's key, value and headers.
  void ExpectTopicIsTheLog() {
    const uint64_t head = log_->Head();
    auto records = testing::ReadTopic(kafka_->bootstraps(), kTopic);
    ASSERT_EQ(records.size(), head);
    std::vector<int> seen(head + 1, 0);
    std::map<std::string, uint64_t> last_of_customer;
    for (const TopicRecord& r : records) {
      const uint64_t position = std::stoull(r.position);
      ASSERT_GE(position, 1u);
      ASSERT_LE(position, head);
      ++seen[position];
      auto stored = log_->Read(position, 1);
      ASSERT_TRUE(stored.ok() && stored->size() == 1);
      EXPECT_EQ(r.value, (*stored)[0].envelope) << "position " << position;
      auto env = events::VerifyEnvelope((*stored)[0].envelope);
      ASSERT_TRUE(env.ok());
      EXPECT_EQ(r.key, events::View((*env)->customer_id()));
      EXPECT_EQ(r.event_id, events::View((*env)->event_id()));
      EXPECT_EQ(r.event_type, events::EventTypeName((*env)->payload_type()));
      EXPECT_EQ(r.schema_version, std::to_string((*env)->schema_version()));
      EXPECT_EQ(r.partition, PartitionFor(r.key, kPartitions)) << r.key;
      EXPECT_GT(position, last_of_customer[r.key]) << "customer " << r.key << " out of order";
      last_of_customer[r.key] = position;
    }
    for (uint64_t p = 1; p <= head; ++p) ASSERT_EQ(seen[p], 1) << "position " << p;
  }

  testing::TempDir dir_;
  std::unique_ptr<RocksDbEventLog> log_;
  std::unique_ptr<EmbeddedKafka> kafka_;
  events::SampleEvents samples_{42};
  int next_ = 0;
};

TEST(PartitionForTest, AgreesWithLibrdkafkasMurmur2Partitioner) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string key(rng() % 40, '\0');
    for (char& c : key) c = static_cast<char>(rng());
    const int32_t partitions = static_cast<int32_t>(rng() % 64 + 1);
    ASSERT_EQ(PartitionFor(key, partitions),
              rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partitions, nullptr, nullptr))
        << "key length " << key.size();
  }
}

TEST_F(RelayTest, PublishesEveryEventOnceInPerCustomerOrder) {
  Append(500);
  Relay relay(*log_, Options());
  Append(500);
  ASSERT_TRUE(WaitFor([&] { return relay.Status().published == 1000; })) << relay.Status().last_error;
  const RelayStatus status = relay.Status();
  EXPECT_EQ(status.sent, 1000u);
  EXPECT_EQ(status.lag(), 0u);
  EXPECT_EQ(status.partitions, kPartitions);
  EXPECT_TRUE(status.connected);
  EXPECT_EQ(status.last_error, "");
  relay.Stop();
  ExpectTopicIsTheLog();
}

// Long enough that the relay reads ahead chunk after chunk (2048 records
// each) while it produces, and writers append meanwhile.
TEST_F(RelayTest, ALongLogIsPublishedInChunksWhileWritersAppend) {
  AppendMany(7000);
  Relay relay(*log_, Options());
  AppendMany(5000);
  ASSERT_TRUE(WaitFor([&] { return relay.Status().published == 12000; })) << relay.Status().last_error;
  EXPECT_EQ(relay.Status().sent, 12000u);
  relay.Stop();
  ExpectTopicIsTheLog();
}

// A record that does not verify, three chunks in: everything before it is
// published, nothing from it on, and the status says where and why.
TEST_F(RelayTest, PublishesEverythingBeforeACorruptEventAndNothingFromIt) {
  AppendMany(6000);
  std::string value;
  const std::string key = log_format::EventKey(4500);
  ASSERT_TRUE(log_->db()->Get(rocksdb::ReadOptions(), log_->events_cf(), key, &value).ok());
  value.replace(log_format::kHashSize, 4, "\xff\xff\xff\x7f");  // the envelope's root offset, far outside
  ASSERT_TRUE(log_->db()->Put(rocksdb::WriteOptions(), log_->events_cf(), key, value).ok());

  Relay relay(*log_, Options());
  ASSERT_TRUE(WaitFor([&] { return relay.Status().published == 4499; })) << relay.Status().last_error;
  ASSERT_TRUE(WaitFor([&] { return relay.Status().last_error.find("position 4500") != std::string::npos; }))
      << relay.Status().last_error;
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // a few retries
  EXPECT_EQ(relay.Status().published, 4499u);
  relay.Stop();
  auto records = testing::ReadTopic(kafka_->bootstraps(), kTopic);
  EXPECT_EQ(records.size(), 4499u);
  for (const TopicRecord& r : records) ASSERT_LT(std::stoull(r.position), 4500u);
}

TEST_F(RelayTest, ARestartedRelaySendsNothingTwice) {
  Append(300);
  {
    Relay relay(*log_, Options());
    ASSERT_TRUE(WaitFor([&] { return relay.Status().published == 300; })) << relay.Status().last_error;
  }
  Append(300);
  {
    Relay relay(*log_, Options());
    ASSERT_TRUE(WaitFor([&] { return relay.Status().published == 600; })) << relay.Status().last_error;
    EXPECT_EQ(relay.Status().sent, 300u);
  }
  {
    Relay relay(*log_, Options());
    // Connected means resumed from the partitions' last records; published
    // then catches up over the events those records already hold, sending
    // none of them.
    ASSERT_TRUE(WaitFor([&] { return relay.Status().connected && relay.Status().published == 600u; }))
        << relay.Status().published << " " << relay.Status().last_error;
    EXPECT_EQ(relay.Status().sent, 0u);
  }
  ExpectTopicIsTheLog();
}

TEST_F(RelayTest, BrokersDownAppendsGoOnAndTheTopicCompletesWhenTheyReturn) {
  Append(100);
  ::testing::internal::CaptureStderr();  // what an operator reads during the outage
  Relay relay(*log_, Options());
  ASSERT_TRUE(WaitFor([&] { return relay.Status().published == 100; })) << relay.Status().last_error;
  for (int b = 1; b <= 3; ++b) ASSERT_EQ(rd_kafka_mock_broker_set_down(kafka_->cluster(), b), RD_KAFKA_RESP_ERR_NO_ERROR);
  Append(200);  // never waits for Kafka
  EXPECT_EQ(log_->Head(), 300u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  RelayStatus behind = relay.Status();
  EXPECT_EQ(behind.published, 100u) << "published while every broker was down";
  EXPECT_EQ(behind.lag(), 200u);
  EXPECT_GT(behind.lag_seconds, 1.0);
  for (int b = 1; b <= 3; ++b) ASSERT_EQ(rd_kafka_mock_broker_set_up(kafka_->cluster(), b), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_TRUE(WaitFor([&] { return relay.Status().published == 300; }, 60)) << relay.Status().last_error;
  EXPECT_EQ(relay.Status().lag_seconds, 0);
  relay.Stop();
  const std::string said = ::testing::internal::GetCapturedStderr();
  // In tally's form, each error once, saying what happened.
  std::istringstream lines(said);
  int connect_failures = 0, app_errors = 0;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(line.starts_with("tally kafka: ")) << "a line not in tally's form: " << line;
    if (line.find("Connection refused") != std::string::npos) ++connect_failures;
    if (line.find("[thrd:app]") != std::string::npos) ++app_errors;
  }
  EXPECT_GT(connect_failures, 0) << said;
  EXPECT_EQ(app_errors, 0) << "errors printed twice:\n" << said;
  EXPECT_NE(said.find("every broker is down"), std::string::npos) << said;
  ExpectTopicIsTheLog();
}

TEST_F(RelayTest, RefusesATopicThatAnotherLogFilled) {
  Append(50);
  {
    Relay relay(*log_, Options());
    ASSERT_TRUE(WaitFor([&] { return relay.Status().published == 50; })) << relay.Status().last_error;
  }
  // Another data folder, more events, same topic: its events at the
  // topic's positions are different events.
  testing::TempDir other_dir;
  auto other = RocksDbEventLog::Open(other_dir.Sub("log"));
  ASSERT_TRUE(other.ok());
  events::SampleEvents other_samples(99);
  for (int i = 0; i < 80; ++i) {
    AppendRequest r;
    r.events.push_back(other_samples.SubscriptionCreated("c" + std::to_string(i % 17), "", 1));
    ASSERT_TRUE((*other)->AppendBatch(std::span<AppendRequest>(&r, 1))[0].ok());
  }
  Relay relay(**other, Options());
  ASSERT_TRUE(WaitFor([&] { return !relay.Status().last_error.empty(); })) << "no error";
  EXPECT_NE(relay.Status().last_error.find("belongs to another log"), std::string::npos) << relay.Status().last_error;
  EXPECT_FALSE(relay.Status().connected);
  relay.Stop();
  ASSERT_EQ(testing::ReadTopic(kafka_->bootstraps(), kTopic).size(), 50u) << "the other log published";

  // And a log shorter than the topic.
  testing::TempDir short_dir;
  auto shorter = RocksDbEventLog::Open(short_dir.Sub("log"));
  ASSERT_TRUE(shorter.ok());
  Relay short_relay(**shorter, Options());
  ASSERT_TRUE(WaitFor([&] { return !short_relay.Status().last_error.empty(); })) << "no error";
  EXPECT_NE(short_relay.Status().last_error.find("beyond this log's head"), std::string::npos)
      << short_relay.Status().last_error;
}

}  // namespace
}  // namespace tally::kafka
