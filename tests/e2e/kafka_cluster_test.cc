// Kafka for real: a 3-node Apache Kafka cluster (tools/kafka/cluster.sh,
// KRaft, replication factor 3, min.insync.replicas 2), real tallyd
// processes publishing to it through the relay, nodes and tallyd killed with
// SIGKILL. Every test counts the topic over positions: each event exactly
// once, each customer's events in order, and prints the figures.
//
// One cluster serves the whole binary (started once, ~25 s); each test has
// its own topic and its own log, and starts again any node a test before it
// left down.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "engine/command_processor.h"
#include "engine/domain/catalog.h"
#include "engine/kafka/client.h"
#include "engine/kafka/relay.h"
#include "engine/log_format.h"
#include "engine/rocksdb_event_log.h"
#include "projections/rebuild.h"
#include "tests/testing/api_bodies.h"
#include "tests/testing/http_client.h"
#include "tests/testing/kafka_cluster.h"
#include "tests/testing/kafka_topic.h"
#include "tests/testing/projector.h"
#include "tests/testing/tallyd.h"
#include "tests/testing/test_util.h"
#include "tools/common/workload.h"

namespace tally {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::KafkaCluster;
using testing::Line;
using testing::NewCustomer;
using namespace testing::offers;
using namespace std::chrono_literals;

constexpr int kNodes = 3;

testing::TempDir* cluster_dir = nullptr;
KafkaCluster* cluster = nullptr;

class ClusterEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    cluster_dir = new testing::TempDir();
    cluster = new KafkaCluster(kNodes, cluster_dir->Sub("kafka"));
    ASSERT_TRUE(cluster->ok()) << cluster->output();
  }
  void TearDown() override {
    delete cluster;
    delete cluster_dir;
  }
};
const auto* const environment = ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);

class KafkaClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(cluster, nullptr);
    ASSERT_TRUE(cluster->ok()) << cluster->output();
    cluster->Up();
    topic = std::string("t.") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    cluster->CreateTopic(topic);
  }

  std::vector<std::string> TallydArgs() const {
    return {"--kafka-bootstrap", cluster->bootstrap(), "--kafka-topic", topic};
  }

  std::string topic;
  const uint64_t seed = testing::TestSeed();
};

// Commands sent to a tallyd from a thread of their own, one customer with
// one subscription each (three events), until Stop() or until tallyd is
// gone. Counts the acknowledged ones.
class Load {
 public:
  Load(uint16_t port, std::string token, std::string prefix) {
    thread_ = std::thread([this, port, token = std::move(token), prefix = std::move(prefix)] {
      HttpClient client(port, token);
      for (int i = 0; !stop_; ++i) {
        auto r = client.Post("/v1/customers", NewCustomer(prefix + "n" + std::to_string(i),
                                                          json::array({Line(kBasic, 1 + i % 20)})));
        if (r.status == 201) ++acknowledged_;
        if (r.status == 0) break;  // tallyd is gone
        if (r.status != 201) ADD_FAILURE() << r.status << " " << r.body;
        std::this_thread::sleep_for(2ms);  // a steady stream, not a flood the topic has to hold
      }
    });
  }
  ~Load() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int acknowledged() const { return acknowledged_; }
  // Waits (up to a minute: sanitizer builds are slow) until `n` were acknowledged.
  bool WaitAcknowledged(int n) const {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (acknowledged_ < n && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
    return acknowledged_ >= n;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> acknowledged_{0};
  std::thread thread_;
};

json Health(uint16_t port) { return HttpClient(port).Get("/healthz").json; }

// Waits until the relay has published at least `position` (false after 60 s).
bool WaitPublishedAtLeast(uint16_t port, uint64_t position) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto h = Health(port);
    if (h.contains("kafka") && h["kafka"]["published"].get<uint64_t>() >= position) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST_F(KafkaClusterTest, APartitionLeaderKilledMidStreamAndRestartedLosesAndRepeatsNothing) {
  testing::TempDir dir;
  testing::TallydProcess tallyd(TALLYD, dir.Sub("var"), TallydArgs());
  ASSERT_TRUE(tallyd.running()) << tallyd.output();
  Load load(tallyd.port(), tallyd.dev_token(), "lead");
  ASSERT_TRUE(WaitPublishedAtLeast(tallyd.port(), 60));
  const int leader = cluster->LeaderOf(topic, 0);
  ASSERT_GE(leader, 1);
  cluster->Kill(leader);
  const auto killed = std::chrono::steady_clock::now();
  const uint64_t head_at_kill = Health(tallyd.port())["head"];
  // Commands go on; once the node is fenced, another replica leads.
  int new_leader = leader;
  while (new_leader == leader && std::chrono::steady_clock::now() - killed < 30s) {
    std::this_thread::sleep_for(100ms);
    new_leader = cluster->LeaderOf(topic, 0);
  }
  EXPECT_NE(new_leader, leader);
  const double failover = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  std::this_thread::sleep_for(1s);
  cluster->Restart(leader);
  std::this_thread::sleep_for(1s);
  load.Stop();
  const uint64_t head = testing::WaitPublished(tallyd.port(), 120s);
  EXPECT_GT(head, head_at_kill) << "no command while the leader was down";
  ASSERT_GE(head, static_cast<uint64_t>(load.acknowledged()) * 3);
  testing::ExpectExactlyOnce("leader of partition 0 (node " + std::to_string(leader) + ") killed at position " +
                                 std::to_string(head_at_kill) + ", restarted",
                             testing::ReadTopic(cluster->bootstrap(), topic, 60000), head);
  std::printf("[ failover   ] node %d killed, node %d leading partition 0 %.1f s later\n", leader, new_leader,
              failover);
  EXPECT_EQ(tallyd.Stop(), 0) << tallyd.output();
}

// Rounds of load against a tallyd that is killed at a random moment of each;
// with `kill_brokers`, a random partition's leader is killed at another
// random moment of the round and restarted at the start of the next.
void KillRounds(const std::string& topic, const std::vector<std::string>& args, uint64_t seed, bool kill_brokers,
                const std::string& what) {
  std::mt19937_64 rng(seed);
  testing::TempDir dir;
  std::string token;
  int acknowledged = 0, brokers_killed = 0;
  std::thread restart;  // the node killed in a round comes back while the rounds go on
  for (int round = 0; round < 6; ++round) {
    if (restart.joinable()) restart.join();
    testing::TallydProcess tallyd(TALLYD, dir.Sub("var"), args);
    ASSERT_TRUE(tallyd.running()) << tallyd.output();
    if (round == 0) token = tallyd.dev_token();
    Load load(tallyd.port(), token, "r" + std::to_string(round));
    const auto started = std::chrono::steady_clock::now();
    const auto tallyd_kill_at = started + std::chrono::milliseconds(300 + rng() % 1500);
    if (kill_brokers) {
      std::this_thread::sleep_until(started + std::chrono::milliseconds(rng() % 1500));
      const int node = cluster->LeaderOf(topic, static_cast<int32_t>(rng() % 6));
      if (node >= 1) {
        cluster->Kill(node);
        ++brokers_killed;
        const auto down_for = std::chrono::milliseconds(rng() % 3000);
        restart = std::thread([node, down_for] {
          std::this_thread::sleep_for(down_for);
          cluster->Restart(node);
        });
      }
    }
    std::this_thread::sleep_until(std::max(tallyd_kill_at, std::chrono::steady_clock::now()));
    EXPECT_EQ(tallyd.Kill(SIGKILL), 128 + SIGKILL);
    load.Stop();
    acknowledged += load.acknowledged();
  }
  if (restart.joinable()) restart.join();
  ASSERT_GT(acknowledged, 20);
  testing::TallydProcess tallyd(TALLYD, dir.Sub("var"), args);
  ASSERT_TRUE(tallyd.running()) << tallyd.output();
  const uint64_t head = testing::WaitPublished(tallyd.port(), 120s);
  ASSERT_GE(head, static_cast<uint64_t>(acknowledged) * 3);  // customer, relationship, subscription
  // Each restarted relay fenced the killed one's producer (its records in
  // flight were refused, its open transaction aborted) before reading where
  // the partitions end: read committed, every position once.
  testing::ExpectExactlyOnce(what + " (6 tallyd SIGKILLs, " + std::to_string(brokers_killed) + " leader SIGKILLs)",
                             testing::ReadTopic(cluster->bootstrap(), topic, 60000), head);
  EXPECT_EQ(tallyd.Stop(), 0) << tallyd.output();
}

TEST_F(KafkaClusterTest, TallydKilledAtRandomMomentsPublishesEveryEventExactlyOnce) {
  KillRounds(topic, TallydArgs(), seed, /*kill_brokers=*/false, "tallyd killed at random moments");
}

TEST_F(KafkaClusterTest, TallydAndPartitionLeadersKilledAtRandomMomentsPublishEveryEventExactlyOnce) {
  KillRounds(topic, TallydArgs(), seed, /*kill_brokers=*/true, "tallyd and leaders killed at random moments");
}

// A killed tallyd's relay as the brokers see it: a producer of the relay's
// transactional id whose open transaction holds copies of `records`
// (delivered, never committed), left alive as a paused process would be.
void OpenTransactionOfCopies(const std::string& topic, const std::vector<testing::TopicRecord>& records,
                             kafka::Handle* zombie) {
  auto conf = kafka::MakeConf({{"bootstrap.servers", cluster->bootstrap()},
                               {"transactional.id", "tally-relay." + topic},
                               {"transaction.timeout.ms", "60000"}});
  ASSERT_TRUE(conf.ok());
  auto handle = kafka::NewHandle(RD_KAFKA_PRODUCER, std::move(*conf));
  ASSERT_TRUE(handle.ok());
  rd_kafka_t* rk = handle->get();
  rd_kafka_error_t* error = rd_kafka_init_transactions(rk, 30000);
  ASSERT_EQ(error, nullptr) << rd_kafka_error_string(error);
  error = rd_kafka_begin_transaction(rk);
  ASSERT_EQ(error, nullptr) << rd_kafka_error_string(error);
  for (const auto& r : records) {
    auto err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(r.partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(r.key.data(), r.key.size()), RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
        RD_KAFKA_V_HEADER(kafka::kHeaderPosition, r.position.data(), static_cast<ssize_t>(r.position.size())),
        RD_KAFKA_V_HEADER(kafka::kHeaderEventId, r.event_id.data(), static_cast<ssize_t>(r.event_id.size())),
        RD_KAFKA_V_END);
    ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
  }
  ASSERT_EQ(rd_kafka_flush(rk, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);  // in the partitions, uncommitted
  *zombie = std::move(*handle);
}

// What a tallyd SIGKILL leaves, made deterministic: an open transaction of
// re-sent records. The restarted relay's transactional id fences that
// producer and aborts its transaction before reading where partitions end,
// so the copies are never seen and the zombie can no longer commit them.
// (Without the fence the zombie's commit would succeed: 100 duplicates.)
TEST_F(KafkaClusterTest, AKilledRelaysOpenTransactionIsAbortedAndItsProducerFenced) {
  testing::TempDir dir;
  std::string token;
  std::vector<testing::TopicRecord> published;
  {
    testing::TallydProcess tallyd(TALLYD, dir.Sub("var"), TallydArgs());
    ASSERT_TRUE(tallyd.running()) << tallyd.output();
    token = tallyd.dev_token();
    Load load(tallyd.port(), token, "a");
    ASSERT_TRUE(load.WaitAcknowledged(40)) << tallyd.output();  // 120 events at least
    load.Stop();
    const uint64_t head = testing::WaitPublished(tallyd.port(), 60s);
    EXPECT_EQ(tallyd.Stop(), 0) << tallyd.output();
    published = testing::ReadTopic(cluster->bootstrap(), topic, 60000);
    ASSERT_EQ(published.size(), head);
    ASSERT_GE(head, 100u);
  }
  kafka::Handle zombie;
  OpenTransactionOfCopies(topic, {published.end() - 100, published.end()}, &zombie);
  ASSERT_TRUE(zombie);

  testing::TallydProcess tallyd(TALLYD, dir.Sub("var"), TallydArgs());
  ASSERT_TRUE(tallyd.running()) << tallyd.output();
  Load load(tallyd.port(), token, "b");
  ASSERT_TRUE(load.WaitAcknowledged(10)) << tallyd.output();
  load.Stop();
  const uint64_t head = testing::WaitPublished(tallyd.port(), 60s);
  ASSERT_GT(head, published.size());
  rd_kafka_error_t* error = rd_kafka_commit_transaction(zombie.get(), 30000);
  ASSERT_NE(error, nullptr) << "the killed relay's producer committed its copies after the restart";
  std::printf("[ fenced ] the zombie's commit: %s (fatal: %s)\n", rd_kafka_error_string(error),
              rd_kafka_error_is_fatal(error) ? "yes" : "no");
  rd_kafka_error_destroy(error);
  testing::ExpectExactlyOnce("after a killed relay's open transaction of 100 copies",
                             testing::ReadTopic(cluster->bootstrap(), topic, 60000), head);
  EXPECT_EQ(tallyd.Stop(), 0) << tallyd.output();
}

TEST_F(KafkaClusterTest, AllBrokersDownFor30SecondsWhileCommandsGoOn) {
  testing::TempDir dir;
  testing::TallydProcess tallyd(TALLYD, dir.Sub("var"), TallydArgs());
  ASSERT_TRUE(tallyd.running()) << tallyd.output();
  Load load(tallyd.port(), tallyd.dev_token(), "down");
  ASSERT_TRUE(WaitPublishedAtLeast(tallyd.port(), 60));
  for (int node = 1; node <= kNodes; ++node) cluster->Kill(node);
  const uint64_t head_at_kill = Health(tallyd.port())["head"];
  const int acknowledged_at_kill = load.acknowledged();
  std::this_thread::sleep_for(30s);
  // Commands never wait for Kafka: they went on, unpublished.
  const json during = Health(tallyd.port());
  const int acknowledged_down = load.acknowledged() - acknowledged_at_kill;
  EXPECT_GT(acknowledged_down, 10);
  EXPECT_FALSE(during["kafka"]["connected"].get<bool>()) << during.dump();
  EXPECT_LT(during["kafka"]["published"].get<uint64_t>(), during["head"].get<uint64_t>()) << during.dump();
  cluster->Up();
  std::this_thread::sleep_for(1s);
  load.Stop();
  const auto back = std::chrono::steady_clock::now();
  const uint64_t head = testing::WaitPublished(tallyd.port(), 180s);
  const double caught_up = std::chrono::duration<double>(std::chrono::steady_clock::now() - back).count();
  std::printf("[ outage     ] %d commands acknowledged during the 30 s outage (head %llu -> %llu); the relay "
              "published everything %.1f s after the last restart and the load's end\n",
              acknowledged_down, static_cast<unsigned long long>(head_at_kill),
              static_cast<unsigned long long>(during["head"].get<uint64_t>()), caught_up);
  testing::ExpectExactlyOnce("all 3 nodes down for 30 s", testing::ReadTopic(cluster->bootstrap(), topic, 60000),
                             head);
  EXPECT_EQ(tallyd.Stop(), 0) << tallyd.output();
}

// Two `tallyctl project --from-kafka` processes in one group follow the
// topic while a relay fills it and a node is killed: each store equals a
// rebuild's rows of the partitions it holds.
TEST_F(KafkaClusterTest, TwoProjectorsInOneGroupWhileABrokerIsKilledEachEqualARebuildOfItsPartitions) {
  testing::TempDir dir;
  auto log = RocksDbEventLog::Open(dir.Sub("log"));
  ASSERT_TRUE(log.ok());
  {
    auto catalog = domain::Catalog::Load(TALLY_OFFERS_JSON);
    ASSERT_TRUE(catalog.ok());
    domain::RandomIdSource ids(seed);
    CommandProcessor processor(**log, *catalog, domain::Instance::kGlobal, ids);
    tools::Workload(seed).Run(processor, 6000);
  }
  const uint64_t head = (*log)->Head();
  auto rebuilt = projections::ProjectionStore::Open(dir.Sub("rebuilt"), projections::ModelNames());
  ASSERT_TRUE(rebuilt.ok());
  projections::LogEventSource source(**log);
  ASSERT_TRUE(projections::Rebuild(source, **rebuilt, projections::ModelNames(), nullptr).ok());

  const std::string a_out = dir.Sub("a.out"), b_out = dir.Sub("b.out");
  const pid_t a = testing::StartProjector(TALLYCTL, cluster->bootstrap(), dir.Sub("a"), dir.path(), false, a_out, topic);
  const pid_t b = testing::StartProjector(TALLYCTL, cluster->bootstrap(), dir.Sub("b"), dir.path(), false, b_out, topic);
  auto assigned = [](const std::string& text) { return text.find("assigned partitions") != std::string::npos; };
  ASSERT_TRUE(testing::WaitForOutput(a_out, assigned)) << testing::ReadFile(a_out);
  ASSERT_TRUE(testing::WaitForOutput(b_out, assigned)) << testing::ReadFile(b_out);

  // The relay starts; once Kafka has acknowledged its first records, the
  // leader of partition 0 is killed: the rest is published and read while
  // it is down (its partitions move to other leaders; if it coordinated the
  // group, so does that); it comes back once everything is published.
  kafka::RelayOptions options;
  options.topic = topic;
  options.config = {{"bootstrap.servers", cluster->bootstrap()}};
  kafka::Relay relay(**log, options);
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (relay.Status().published == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  const uint64_t published_at_kill = relay.Status().published;
  const int victim = cluster->LeaderOf(topic, 0);
  ASSERT_GE(victim, 1);
  cluster->Kill(victim);
  while (relay.Status().published < head && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(relay.Status().published, head) << relay.Status().last_error;
  auto applied = [](const std::string& out) { return out.find("applied ") != std::string::npos ? "yes" : "no"; };
  const std::string applied_while_down =
      std::string("a ") + applied(testing::ReadFile(a_out)) + ", b " + applied(testing::ReadFile(b_out));
  cluster->Restart(victim);
  std::printf("[ projectors ] node %d (leader of partition 0) killed with %llu of %llu events acknowledged, restarted "
              "once all were; applied events while it was down: %s\n",
              victim, static_cast<unsigned long long>(published_at_kill), static_cast<unsigned long long>(head),
              applied_while_down.c_str());

  // Both have applied what they hold once each has applied something and
  // neither has written for 3 s (a group whose coordinator was on the
  // killed node can take longer than that to start consuming again).
  std::string last_a, last_b;
  auto quiet_since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline + 60s) {
    const std::string now_a = testing::ReadFile(a_out), now_b = testing::ReadFile(b_out);
    if (now_a != last_a || now_b != last_b) {
      last_a = now_a;
      last_b = now_b;
      quiet_since = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - quiet_since > 3s && applied(now_a) == std::string("yes") &&
               applied(now_b) == std::string("yes")) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  kill(a, SIGTERM);
  kill(b, SIGTERM);
  EXPECT_EQ(testing::WaitExit(a), 0) << testing::ReadFile(a_out);
  EXPECT_EQ(testing::WaitExit(b), 0) << testing::ReadFile(b_out);
  relay.Stop();

  // Each holds its partitions to their end: the offsets stored beside the
  // rows follow each partition's last record (its transaction's marker
  // comes after it).
  auto records = testing::ReadTopic(cluster->bootstrap(), topic, 60000);
  testing::ExpectExactlyOnce("relay with a node killed", records, head);
  std::map<int32_t, int64_t> next_offset;
  for (const auto& r : records) next_offset[r.partition] = r.offset + 1;
  const auto held =
      testing::ExpectStoresSplitByPartition(**rebuilt, {dir.Sub("a"), dir.Sub("b")}, topic, 6);
  for (size_t i = 0; i < held.size(); ++i) {
    auto store = projections::ProjectionStore::Open(dir.Sub(i == 0 ? "a" : "b") + "/projections",
                                                    projections::ModelNames());
    ASSERT_TRUE(store.ok());
    for (int32_t p : held[i]) {
      auto offset = (*store)->Get(*(*store)->Active("customer"), projections::KafkaOffsetKey(topic, p));
      ASSERT_TRUE(offset.ok() && offset->has_value());
      EXPECT_EQ(std::stoll(**offset), next_offset[p]) << "partition " << p << " not read to its end";
    }
  }
  std::printf("[ projectors ] a held %zu partitions, b %zu; each equals the rebuild's rows of its partitions\n",
              held[0].size(), held[1].size());
}

// Every record of `records` but those at `skip` positions, produced to
// `topic` in order with the same key, partition and headers.
void Produce(const std::string& topic, const std::vector<testing::TopicRecord>& records, uint64_t skip) {
  auto conf = kafka::MakeConf({{"bootstrap.servers", cluster->bootstrap()}, {"enable.idempotence", "true"}});
  ASSERT_TRUE(conf.ok());
  auto handle = kafka::NewHandle(RD_KAFKA_PRODUCER, std::move(*conf));
  ASSERT_TRUE(handle.ok());
  rd_kafka_t* rk = handle->get();
  for (const auto& r : records) {
    if (std::stoull(r.position) == skip) continue;
    auto err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(r.partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(r.key.data(), r.key.size()), RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
        RD_KAFKA_V_HEADER(kafka::kHeaderEventType, r.event_type.data(), static_cast<ssize_t>(r.event_type.size())),
        RD_KAFKA_V_HEADER(kafka::kHeaderPosition, r.position.data(), static_cast<ssize_t>(r.position.size())),
        RD_KAFKA_V_HEADER(kafka::kHeaderEventId, r.event_id.data(), static_cast<ssize_t>(r.event_id.size())),
        RD_KAFKA_V_HEADER(kafka::kHeaderSchemaVersion, r.schema_version.data(),
                          static_cast<ssize_t>(r.schema_version.size())),
        RD_KAFKA_V_END);
    ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
    rd_kafka_poll(rk, 0);
  }
  ASSERT_EQ(rd_kafka_flush(rk, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

struct LogCopy {
  std::vector<std::string> envelopes;  // [position - 1]
  std::vector<ChainDigest> hashes;
};

LogCopy ReadLog(const std::string& data) {
  LogCopy copy;
  auto log = RocksDbEventLog::OpenReadOnly(data + "/log");
  EXPECT_TRUE(log.ok()) << log.error().ToString();
  if (!log.ok()) return copy;
  for (uint64_t p = 1; p <= (*log)->Head(); ++p) {
    auto events = (*log)->Read(p, 1);
    auto hash = (*log)->HashAt(p);
    EXPECT_TRUE(events.ok() && events->size() == 1 && hash.ok()) << p;
    if (!events.ok() || events->size() != 1 || !hash.ok()) return copy;
    copy.envelopes.push_back((*events)[0].envelope);
    copy.hashes.push_back(*hash);
  }
  return copy;
}

// Issue 21, "the log survives the machine": load, an erasure, tallyd
// stopped, the data folder deleted; the log restored from the topic alone
// (with the key backup and partners.json) equals the original position for
// position, bytes and chain hash, and tallyd runs on it.
TEST_F(KafkaClusterTest, ALogRestoredFromTheTopicAloneEqualsTheOriginalAndTallydRunsOnIt) {
  testing::TempDir dir;
  const std::string data = dir.Sub("var"), tallyctl = TALLYCTL;
  std::string token, kept_customer, kept_domain;
  uint64_t head = 0;
  {
    testing::TallydProcess tallyd(TALLYD, data, TallydArgs());
    ASSERT_TRUE(tallyd.running()) << tallyd.output();
    token = tallyd.dev_token();
    HttpClient p1(tallyd.port(), token);
    auto kept = p1.Post("/v1/customers", NewCustomer("restorekept", json::array({Line(kBasic, 3)})));
    ASSERT_EQ(kept.status, 201) << kept.body;
    kept_customer = kept.json["id"];
    kept_domain = kept.json["companyProfile"]["domain"];
    auto erased = p1.Post("/v1/customers", NewCustomer("restoreerased", json::array({Line(kE3, 2)})));
    ASSERT_EQ(erased.status, 201) << erased.body;
    {
      Load load(tallyd.port(), token, "restore");
      std::this_thread::sleep_for(1500ms);
    }
    auto forget = testing::RunCommand(tallyctl + " forget " + erased.json["id"].get<std::string>() + " --data " + data);
    ASSERT_EQ(forget.exit_code, 0) << forget.text;
    head = testing::WaitPublished(tallyd.port(), 120s);
    EXPECT_EQ(tallyd.Stop(), 0) << tallyd.output();
  }
  const LogCopy original = ReadLog(data);
  ASSERT_EQ(original.envelopes.size(), head);
  const auto replay = testing::RunCommand(tallyctl + " replay --data " + data + " 2>/dev/null");
  ASSERT_EQ(replay.exit_code, 0);
  ASSERT_NE(replay.text.find("\"personal_data\": \"erased\""), std::string::npos);
  ASSERT_NE(replay.text.find("\"personal_data\": \"clear\""), std::string::npos);
  auto exported = testing::RunCommand(tallyctl + " keys export " + dir.Sub("keys.jsonl") + " --data " + data);
  ASSERT_EQ(exported.exit_code, 0) << exported.text;
  EXPECT_EQ(std::filesystem::status(dir.Sub("keys.jsonl")).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::filesystem::copy_file(data + "/partners.json", dir.Sub("partners.json"));
  std::filesystem::remove_all(data);

  const std::string restore = tallyctl + " restore --from-kafka --bootstrap " + cluster->bootstrap() + " --topic " +
                              topic + " --partners " + dir.Sub("partners.json") + " --data ";
  auto restored = testing::RunCommand(restore + data + " --keys " + dir.Sub("keys.jsonl"));
  ASSERT_EQ(restored.exit_code, 0) << restored.text;
  std::printf("[ restore    ] %s", restored.text.c_str());
  const LogCopy copy = ReadLog(data);
  ASSERT_EQ(copy.envelopes.size(), original.envelopes.size());
  size_t differing = 0;
  for (size_t i = 0; i < copy.envelopes.size(); ++i) {
    differing += copy.envelopes[i] != original.envelopes[i] || copy.hashes[i] != original.hashes[i] ? 1 : 0;
  }
  EXPECT_EQ(differing, 0u) << "positions whose bytes or chain hash differ";
  std::printf("[ restore    ] %zu positions compared with the original: %zu differ in bytes or chain hash\n",
              copy.envelopes.size(), differing);
  auto replay_after = testing::RunCommand(tallyctl + " replay --data " + data + " 2>/dev/null");
  EXPECT_TRUE(replay_after.text == replay.text) << "personal fields read differently after the restore";
  EXPECT_EQ(testing::RunCommand(tallyctl + " verify --data " + data).exit_code, 0);
  // Into a folder that has a log: refused, nothing changed.
  auto again = testing::RunCommand(restore + data + " --keys " + dir.Sub("keys.jsonl"));
  EXPECT_EQ(again.exit_code, 2) << again.text;
  EXPECT_NE(again.text.find("restore into a new data folder"), std::string::npos) << again.text;

  uint64_t new_head = 0;
  {
    testing::TallydProcess tallyd(TALLYD, data, TallydArgs());
    ASSERT_TRUE(tallyd.running()) << tallyd.output();
    HttpClient p1(tallyd.port(), token);  // partners.json came along
    auto customer = p1.Get("/v1/customers/" + kept_customer);
    EXPECT_EQ(customer.status, 200) << customer.body;
    EXPECT_EQ(customer.json["companyProfile"]["domain"], kept_domain);
    // The domain reservations came back with CustomerCreated.
    auto taken = p1.Post("/v1/customers", NewCustomer("restorekept", json::array({Line(kBasic, 1)})));
    EXPECT_EQ(taken.status, 409) << taken.body;
    auto fresh = p1.Post("/v1/customers", NewCustomer("restorefresh", json::array({Line(kBasic, 1)})));
    EXPECT_EQ(fresh.status, 201) << fresh.body;
    // The relay finds the topic holds this log already and goes on after it.
    new_head = testing::WaitPublished(tallyd.port(), 60s);
    EXPECT_GT(new_head, head);
    EXPECT_EQ(tallyd.Stop(), 0) << tallyd.output();
  }
  testing::ExpectExactlyOnce("the topic after the restored tallyd went on",
                             testing::ReadTopic(cluster->bootstrap(), topic, 60000), new_head);

  // Without the key backup: everything else, personal fields unreadable.
  auto keyless = testing::RunCommand(restore + dir.Sub("keyless") + " --without-keys");
  ASSERT_EQ(keyless.exit_code, 0) << keyless.text;
  EXPECT_NE(keyless.text.find("personal fields stay unreadable"), std::string::npos) << keyless.text;
  auto keyless_replay = testing::RunCommand(tallyctl + " replay --data " + dir.Sub("keyless") + " 2>/dev/null");
  EXPECT_EQ(keyless_replay.text.find("\"personal_data\": \"clear\""), std::string::npos);
  const LogCopy keyless_copy = ReadLog(dir.Sub("keyless"));
  ASSERT_EQ(keyless_copy.hashes.size(), new_head);
  EXPECT_EQ(keyless_copy.hashes[head - 1], original.hashes.back());
}

// Issue 33, "healed where a copy exists": a stopped tallyd's write-ahead
// log loses its last 64 KiB. tallyd refuses to start, naming the positions
// the head mark, the read models and the topic saw; `tallyctl restore
// --from-kafka --heal` brings them back from the topic byte for byte (the
// positions the log kept compared with the topic, the chain verified), the
// topic is unchanged, and tallyd then goes on from the old head: no
// position is given twice.
TEST_F(KafkaClusterTest, ACutWriteAheadLogIsRefusedThenHealedByARestoreFromTheTopic) {
  testing::TempDir dir;
  const std::string data = dir.Sub("var"), tallyctl = TALLYCTL;
  std::string token;
  uint64_t head = 0;
  {
    testing::TallydProcess tallyd(TALLYD, data, TallydArgs());
    ASSERT_TRUE(tallyd.running()) << tallyd.output();
    token = tallyd.dev_token();
    HttpClient partner(tallyd.port(), token);
    for (int i = 0; i < 120; ++i) {
      auto created = partner.Post("/v1/customers", NewCustomer("heal" + std::to_string(i), json::array({Line(kBasic, 2)})));
      ASSERT_EQ(created.status, 201) << created.body;
    }
    head = testing::WaitPublished(tallyd.port(), 60s);
    EXPECT_EQ(tallyd.Stop(), 0) << tallyd.output();
  }
  auto exported = testing::RunCommand(tallyctl + " keys export " + dir.Sub("keys.jsonl") + " --data " + data);
  ASSERT_EQ(exported.exit_code, 0) << exported.text;
  const LogCopy original = ReadLog(data);
  ASSERT_EQ(original.envelopes.size(), head);
  const size_t topic_records = testing::ReadTopic(cluster->bootstrap(), topic, 60000).size();
  std::string wal;
  for (const auto& e : std::filesystem::directory_iterator(data + "/log")) {
    if (e.path().extension() == ".log") wal = e.path();
  }
  ASSERT_FALSE(wal.empty());
  std::filesystem::resize_file(wal, std::filesystem::file_size(wal) - 65536);
  const uint64_t changed = head / 3;  // and one event's bytes changed, its hash kept (valid checksums)
  {
    auto log = RocksDbEventLog::Open(data + "/log");
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    std::string value;
    const std::string key = log_format::EventKey(changed);
    ASSERT_TRUE((*log)->db()->Get(rocksdb::ReadOptions(), (*log)->events_cf(), key, &value).ok());
    value[value.size() - 5] ^= 0x01;
    ASSERT_TRUE((*log)->db()->Put(rocksdb::WriteOptions(), (*log)->events_cf(), key, value).ok());
  }
  {
    testing::TallydProcess refused(TALLYD, data, TallydArgs());
    EXPECT_FALSE(refused.running());
    EXPECT_EQ(refused.Kill(SIGTERM), 3) << refused.output();
    EXPECT_NE(refused.output().find("-" + std::to_string(head) + " (head mark): missing"), std::string::npos)
        << refused.output();
    EXPECT_NE(refused.output().find("(kafka topic " + topic + " partition"), std::string::npos) << refused.output();
  }
  {
    auto cut = RocksDbEventLog::OpenReadOnly(data + "/log");
    ASSERT_TRUE(cut.ok()) << cut.error().ToString();
    EXPECT_LT((*cut)->Head(), head) << "the cut lost events";
  }
  auto healed = testing::RunCommand(tallyctl + " restore --from-kafka --heal --bootstrap " + cluster->bootstrap() +
                                    " --topic " + topic + " --keys " + dir.Sub("keys.jsonl") + " --data " + data);
  ASSERT_EQ(healed.exit_code, 0) << healed.text;
  std::printf("[ heal       ] %s", healed.text.c_str());
  EXPECT_NE(healed.text.find("position " + std::to_string(changed) + " put back from the topic"), std::string::npos)
      << healed.text;
  const LogCopy copy = ReadLog(data);
  ASSERT_EQ(copy.envelopes.size(), head);
  size_t differing = 0;
  for (size_t i = 0; i < copy.envelopes.size(); ++i) {
    differing += copy.envelopes[i] != original.envelopes[i] || copy.hashes[i] != original.hashes[i] ? 1 : 0;
  }
  EXPECT_EQ(differing, 0u) << "positions whose bytes or chain hash differ after the heal";
  EXPECT_EQ(testing::RunCommand(tallyctl + " verify --data " + data).exit_code, 0);
  EXPECT_EQ(testing::ReadTopic(cluster->bootstrap(), topic, 60000).size(), topic_records) << "the topic changed";
  uint64_t new_head = 0;
  {
    testing::TallydProcess tallyd(TALLYD, data, TallydArgs());
    ASSERT_TRUE(tallyd.running()) << tallyd.output();
    EXPECT_EQ(Health(tallyd.port())["status"], "ok");
    auto fresh = HttpClient(tallyd.port(), token).Post("/v1/customers", NewCustomer("healfresh"));
    EXPECT_EQ(fresh.status, 201) << fresh.body;
    new_head = testing::WaitPublished(tallyd.port(), 60s);
    EXPECT_GT(new_head, head);
    EXPECT_EQ(tallyd.Stop(), 0) << tallyd.output();
  }
  testing::ExpectExactlyOnce("the topic after the healed tallyd went on",
                             testing::ReadTopic(cluster->bootstrap(), topic, 60000), new_head);
}

TEST_F(KafkaClusterTest, ATopicWithAGapIsRefusedByTheRestore) {
  testing::TempDir dir;
  uint64_t head = 0;
  {
    testing::TallydProcess tallyd(TALLYD, dir.Sub("var"), TallydArgs());
    ASSERT_TRUE(tallyd.running()) << tallyd.output();
    Load load(tallyd.port(), tallyd.dev_token(), "gap");
    std::this_thread::sleep_for(500ms);
    load.Stop();
    head = testing::WaitPublished(tallyd.port(), 60s);
    EXPECT_EQ(tallyd.Stop(), 0);
  }
  ASSERT_GT(head, 10u);
  const std::string gapped = topic + ".gap";
  cluster->CreateTopic(gapped);
  Produce(gapped, testing::ReadTopic(cluster->bootstrap(), topic, 60000), head / 2);
  auto r = testing::RunCommand(std::string(TALLYCTL) + " restore --from-kafka --bootstrap " + cluster->bootstrap() +
                               " --topic " + gapped + " --without-keys --data " + dir.Sub("restored"));
  EXPECT_EQ(r.exit_code, 1) << r.text;
  EXPECT_NE(r.text.find("position " + std::to_string(head / 2) + " is in no partition"), std::string::npos) << r.text;
  std::printf("[ gap        ] position %llu of %llu left out: %s", static_cast<unsigned long long>(head / 2),
              static_cast<unsigned long long>(head), r.text.c_str());
}

// Issue 21, "consumers in another language": the Python consumer
// (tools/consumers/python/tally_consume.py, code generated by flatc --python)
// follows the topic and prints, event for event, what `tallyctl replay`
// prints: every field, personal fields opened with the key backup, an
// erased customer's shown as erased.
TEST_F(KafkaClusterTest, ThePythonConsumerPrintsWhatReplayPrints) {
  testing::TempDir dir;
  const std::string data = dir.Sub("var"), tallyctl = TALLYCTL;
  testing::TallydProcess tallyd(TALLYD, data, TallydArgs());
  ASSERT_TRUE(tallyd.running()) << tallyd.output();
  HttpClient p1(tallyd.port(), tallyd.dev_token());
  auto erased = p1.Post("/v1/customers", NewCustomer("pyerased", json::array({Line(kE3, 2)})));
  ASSERT_EQ(erased.status, 201) << erased.body;
  {
    Load load(tallyd.port(), tallyd.dev_token(), "py");
    std::this_thread::sleep_for(1s);
  }
  auto forget = testing::RunCommand(tallyctl + " forget " + erased.json["id"].get<std::string>() + " --data " + data);
  ASSERT_EQ(forget.exit_code, 0) << forget.text;
  const uint64_t head = testing::WaitPublished(tallyd.port(), 60s);
  auto exported = testing::RunCommand(tallyctl + " keys export " + dir.Sub("keys.jsonl") + " --data " + data);
  ASSERT_EQ(exported.exit_code, 0) << exported.text;
  auto replay = testing::RunCommand(tallyctl + " replay --data " + data + " 2>/dev/null");
  ASSERT_EQ(replay.exit_code, 0);

  const std::string consume = std::string(TALLY_VENV_PYTHON) + " " + TALLY_PYTHON_CONSUMER + " --generated " +
                              TALLY_PYTHON_EVENTS + " --bootstrap " + cluster->bootstrap() + " --topic " + topic +
                              " --exit-at-end --keys " + dir.Sub("keys.jsonl");
  // (A subshell keeps the consumer's stderr out of the lines RunCommand reads.)
  auto consumed = testing::RunCommand("(timeout 120 " + consume + " --group py1 2>" + dir.Sub("py.err") + ")");
  ASSERT_EQ(consumed.exit_code, 0) << consumed.text << testing::ReadFile(dir.Sub("py.err"));

  std::map<uint64_t, json> by_position;
  std::istringstream lines(consumed.text);
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_TRUE(by_position.emplace(j["position"].get<uint64_t>(), j).second) << "printed twice: " << line;
  }
  size_t compared = 0, differing = 0, clear = 0, erased_lines = 0;
  std::istringstream replayed(replay.text);
  for (std::string line; std::getline(replayed, line);) {
    const json want = json::parse(line);
    const auto it = by_position.find(want["position"].get<uint64_t>());
    if (it == by_position.end()) {
      ADD_FAILURE() << "not printed by the Python consumer: " << line;
      continue;
    }
    ++compared;
    if (it->second != want) {
      if (++differing <= 3) ADD_FAILURE() << "replay: " << want.dump() << "\npython: " << it->second.dump();
    }
    clear += line.find("\"personal_data\": \"clear\"") != std::string::npos ? 1 : 0;
    erased_lines += line.find("\"personal_data\": \"erased\"") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(compared, head);
  EXPECT_EQ(by_position.size(), head);
  EXPECT_EQ(differing, 0u);
  EXPECT_GT(clear, 0u);
  EXPECT_GT(erased_lines, 0u);
  std::printf("[ python     ] %zu events compared with tallyctl replay, every field: %zu differ (%zu with personal "
              "fields in clear, %zu erased)\n",
              compared, differing, clear, erased_lines);
  // The group's offsets were committed: nothing again.
  auto again = testing::RunCommand("(timeout 60 " + consume + " --group py1 2>/dev/null)");
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.text, "");
  EXPECT_EQ(tallyd.Stop(), 0) << tallyd.output();
}

}  // namespace
}  // namespace tally
