// Kafka end to end: a real tallyd publishing to its embedded Kafka, read by
// kcat (a Kafka client that is not tally); and a tallyd killed with SIGKILL
// at random moments while it publishes to a cluster that outlives it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "engine/kafka/client.h"
#include "engine/kafka/embedded.h"
#include "tests/testing/api_bodies.h"
#include "tests/testing/http_client.h"
#include "tests/testing/kafka_topic.h"
#include "tests/testing/process.h"
#include "tests/testing/tallyd.h"
#include "tests/testing/test_util.h"

namespace tally {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::Line;
using testing::NewCustomer;
using testing::WaitPublished;
using namespace testing::offers;

// Each position 1..head exactly once; each key's records in position order.
void ExpectExactlyOnceInOrder(const std::vector<testing::TopicRecord>& records, uint64_t head) {
  std::map<uint64_t, int> seen;
  std::map<std::string, uint64_t> last_of_key;
  std::map<std::string, int32_t> partition_of_key;
  for (const auto& r : records) {
    const uint64_t position = std::stoull(r.position);
    ++seen[position];
    EXPECT_GT(position, last_of_key[r.key]) << "key " << r.key << " out of order";
    last_of_key[r.key] = position;
    auto [it, fresh] = partition_of_key.emplace(r.key, r.partition);
    EXPECT_EQ(it->second, r.partition) << "key " << r.key << " in two partitions";
  }
  EXPECT_EQ(records.size(), head);
  for (uint64_t p = 1; p <= head; ++p) EXPECT_EQ(seen[p], 1) << "position " << p;
}

TEST(KafkaE2eTest, TallydPublishesToItsEmbeddedKafkaAndKcatReadsIt) {
  testing::TempDir dir;
  testing::TallydProcess tallyd(TALLYD, dir.Sub("var"));
  ASSERT_TRUE(tallyd.running()) << tallyd.output();
  HttpClient p1(tallyd.port(), tallyd.dev_token());
  auto created = p1.Post("/v1/customers", NewCustomer("kafka1", {Line(kBasic, 10), Line(kE3, 5)}));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string customer = created.json["id"];
  const std::string password = created.json["userCredentials"]["password"];
  const std::string sub = created.json["orders"][0]["lineItems"][1]["subscriptionId"];
  ASSERT_EQ(p1.Patch("/v1/customers/" + customer + "/subscriptions/" + sub, {{"quantity", 8}}).status, 200);
  const uint64_t head = WaitPublished(tallyd.port());
  ASSERT_GE(head, 5u);

  HttpClient anonymous(tallyd.port());
  auto health = anonymous.Get("/healthz");
  const std::string bootstrap = health.json.value("kafka_bootstrap", "");
  ASSERT_NE(bootstrap.find("127.0.0.1:"), std::string::npos) << health.body;
  EXPECT_NE(tallyd.output().find("embedded Kafka"), std::string::npos) << tallyd.output();

  auto kcat = testing::RunCommand("timeout 20 kcat -C -b " + bootstrap + " -t tally.events -e -q -f '%k %h\\n'");
  ASSERT_EQ(kcat.exit_code, 0) << kcat.text;
  std::istringstream lines(kcat.text);
  std::set<std::string> positions;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_EQ(line.substr(0, line.find(' ')), customer) << line;
    EXPECT_NE(line.find("event_type="), std::string::npos) << line;
    const size_t at = line.find("position=");
    ASSERT_NE(at, std::string::npos) << line;
    positions.insert(line.substr(at + 9, line.find(',', at) - at - 9));
  }
  EXPECT_EQ(positions.size(), head) << kcat.text;
  EXPECT_EQ(positions.count("1") + positions.count(std::to_string(head)), 2u) << kcat.text;

  // The admin password never reaches Kafka.
  auto records = testing::ReadTopic(bootstrap, "tally.events");
  ExpectExactlyOnceInOrder(records, head);
  for (const auto& r : records) EXPECT_EQ(r.value.find(password), std::string::npos);

  // tallyctl consume: the same JSON lines as replay (with the keys of the
  // data folder), filters, committed offsets.
  const std::string consume =
      std::string(TALLYCTL) + " consume --bootstrap " + bootstrap + " --exit-at-end --keys-from " + dir.Sub("var");
  auto all = testing::RunCommand("timeout 30 " + consume + " 2>/dev/null");
  ASSERT_EQ(all.exit_code, 0) << all.text;
  EXPECT_EQ(static_cast<uint64_t>(std::count(all.text.begin(), all.text.end(), '\n')), head) << all.text;
  auto replayed = testing::RunCommand(std::string(TALLYCTL) + " replay --data " + dir.Sub("var") + " 2>/dev/null");
  std::multiset<std::string> consumed_lines, replayed_lines;
  for (auto [text, set] : {std::pair{&all.text, &consumed_lines}, std::pair{&replayed.text, &replayed_lines}}) {
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);) set->insert(line);
  }
  EXPECT_EQ(consumed_lines, replayed_lines);
  auto again = testing::RunCommand("timeout 30 " + consume + " 2>/dev/null");
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.text, "") << "the group's offsets were not committed";
  auto subs = testing::RunCommand("timeout 30 " + consume + " --group g2 --type SubscriptionCreated 2>/dev/null");
  EXPECT_EQ(std::count(subs.text.begin(), subs.text.end(), '\n'), 2) << subs.text;
  auto other = testing::RunCommand("timeout 30 " + consume + " --group g3 --customer nobody 2>/dev/null");
  EXPECT_EQ(other.exit_code, 0);
  EXPECT_EQ(other.text, "");

  auto status = testing::RunCommand(std::string(TALLYCTL) + " status --data " + dir.Sub("var"));
  EXPECT_EQ(status.exit_code, 0) << status.text;
  EXPECT_NE(status.text.find("kafka relay: topic tally.events at " + bootstrap + ", connected; published through " +
                             std::to_string(head) + " of " + std::to_string(head) + " (lag 0 events"),
            std::string::npos) << status.text;

  auto metrics = anonymous.Get("/metrics");
  EXPECT_NE(metrics.body.find("tally_kafka_relay_lag_events 0\n"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("tally_kafka_relay_published_position " + std::to_string(head) + "\n"),
            std::string::npos) << metrics.body;
  EXPECT_EQ(tallyd.Stop(), 0) << tallyd.output();
  auto stopped = testing::RunCommand(std::string(TALLYCTL) + " status --data " + dir.Sub("var"));
  EXPECT_NE(stopped.text.find("kafka relay: tallyd is not running"), std::string::npos) << stopped.text;
}

TEST(KafkaE2eTest, TallydKilledAtRandomMomentsPublishesEveryEventExactlyOnce) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  auto kafka = kafka::EmbeddedKafka::Start(3, "tally.events", 6);  // outlives every tallyd below
  ASSERT_TRUE(kafka.ok()) << kafka.error().ToString();
  testing::TempDir dir;
  const std::vector<std::string> args = {"--kafka-bootstrap", (*kafka)->bootstraps()};
  std::string token;
  int acknowledged = 0;
  for (int round = 0; round < 6; ++round) {
    testing::TallydProcess tallyd(TALLYD, dir.Sub("var"), args);
    ASSERT_TRUE(tallyd.running()) << tallyd.output();
    if (round == 0) token = tallyd.dev_token();
    std::atomic<bool> stop{false};
    std::thread client([&, round] {
      HttpClient p1(tallyd.port(), token);
      for (int i = 0; !stop; ++i) {
        auto r = p1.Post("/v1/customers", NewCustomer("r" + std::to_string(round) + "n" + std::to_string(i),
                                                      json::array({Line(kBasic, 1 + i % 20)})));
        if (r.status == 201) ++acknowledged;
        if (r.status == 0) break;  // tallyd is gone
        if (r.status != 201) ADD_FAILURE() << r.status << " " << r.body;
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 600));
    EXPECT_EQ(tallyd.Kill(SIGKILL), 128 + SIGKILL);
    stop = true;
    client.join();
  }
  ASSERT_GT(acknowledged, 20);
  testing::TallydProcess tallyd(TALLYD, dir.Sub("var"), args);
  ASSERT_TRUE(tallyd.running()) << tallyd.output();
  const uint64_t head = WaitPublished(tallyd.port());
  ASSERT_GE(head, static_cast<uint64_t>(acknowledged) * 3);  // customer, relationship, subscription
  ExpectExactlyOnceInOrder(testing::ReadTopic((*kafka)->bootstraps(), "tally.events"), head);
  EXPECT_EQ(tallyd.Stop(), 0) << tallyd.output();
}

}  // namespace
}  // namespace tally
