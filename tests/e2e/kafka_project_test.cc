// Read models fed from Kafka in another process: `tallyctl project
// --from-kafka` (a real process) is killed with SIGKILL at seeded moments
// while it applies the topic a relay filled from a real log, and restarted.
// Afterwards its models equal a rebuild from the log, row for row: the
// offsets stored beside the rows made every event count exactly once.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <filesystem>
#include <random>
#include <thread>

#include "engine/command_processor.h"
#include "engine/domain/catalog.h"
#include "engine/kafka/client.h"
#include "engine/kafka/embedded.h"
#include "engine/kafka/relay.h"
#include "engine/rocksdb_event_log.h"
#include "projections/kafka_feed.h"
#include "projections/rebuild.h"
#include "tests/testing/projection_rows.h"
#include "tests/testing/projector.h"
#include "tests/testing/test_util.h"
#include "tools/common/workload.h"

namespace tally {
namespace {

// Starts the projector; kills it after it has reported `kill_after` writes
// (0: lets it run to the end, with --exit-at-end). Returns its exit status
// (128 + signal when killed).
// `keys_from`: the data folder holding the log, whose keys open the
// personal fields (so that the rows equal a rebuild from the log).
int RunProjector(const std::string& bootstrap, const std::string& data, const std::string& keys_from,
                 size_t kill_after, std::string* log) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    if (kill_after == 0) {
      execl(TALLYCTL, TALLYCTL, "project", "--from-kafka", "--bootstrap", bootstrap.c_str(), "--data", data.c_str(),
            "--keys-from", keys_from.c_str(), "--batch", "50", "--progress-lines", "--exit-at-end",
            static_cast<char*>(nullptr));
    } else {
      execl(TALLYCTL, TALLYCTL, "project", "--from-kafka", "--bootstrap", bootstrap.c_str(), "--data", data.c_str(),
            "--keys-from", keys_from.c_str(), "--batch", "50", "--progress-lines", static_cast<char*>(nullptr));
    }
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool killed = false;
  char buf[4096];
  for (;;) {
    size_t writes = 0;
    for (size_t at = out.find("applied "); at != std::string::npos; at = out.find("applied ", at + 1)) ++writes;
    if (kill_after > 0 && !killed && writes >= kill_after) {
      kill(pid, SIGKILL);
      killed = true;
    }
    if (std::chrono::steady_clock::now() > deadline && !killed) {
      kill(pid, SIGKILL);
      killed = true;
      ADD_FAILURE() << "the projector did not finish in time: " << out;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, n);
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  *log += out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A log written by the workload, all of it published to an embedded Kafka
// of 6 partitions.
class KafkaProjectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = RocksDbEventLog::Open(dir.Sub("log"));
    ASSERT_TRUE(log.ok());
    log_ = std::move(*log);
    {
      auto catalog = domain::Catalog::Load(TALLY_OFFERS_JSON);
      ASSERT_TRUE(catalog.ok());
      domain::RandomIdSource ids(seed);
      CommandProcessor processor(*log_, *catalog, domain::Instance::kGlobal, ids);
      tools::Workload(seed).Run(processor, 6000);
    }
    head = log_->Head();
    auto kafka = kafka::EmbeddedKafka::Start(1, "tally.events", kPartitions);
    ASSERT_TRUE(kafka.ok()) << kafka.error().ToString();
    kafka_ = std::move(*kafka);
    kafka::RelayOptions options;
    options.config = {{"bootstrap.servers", kafka_->bootstraps()}};
    kafka::Relay relay(*log_, options);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (relay.Status().published < head && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(relay.Status().published, head) << relay.Status().last_error;
    auto fresh = projections::ProjectionStore::Open(dir.Sub("fresh"), projections::ModelNames());
    ASSERT_TRUE(fresh.ok());
    rebuilt_ = std::move(*fresh);
    projections::LogEventSource source(*log_);
    ASSERT_TRUE(projections::Rebuild(source, *rebuilt_, projections::ModelNames(), nullptr).ok());
  }

  std::string bootstrap() const { return kafka_->bootstraps(); }

  static constexpr int32_t kPartitions = 6;
  const uint64_t seed = testing::TestSeed();
  testing::TempDir dir;
  uint64_t head = 0;
  std::unique_ptr<RocksDbEventLog> log_;
  std::unique_ptr<kafka::EmbeddedKafka> kafka_;
  std::unique_ptr<projections::ProjectionStore> rebuilt_;  // from the log, for comparison
};

TEST_F(KafkaProjectTest, KilledAndRestartedTheModelsFedFromKafkaEqualARebuild) {
  std::mt19937_64 rng(seed);
  std::string output;
  for (int round = 0; round < 3; ++round) {
    const size_t kill_after = 1 + rng() % 8;  // of ~67 writes of 50 events
    EXPECT_EQ(RunProjector(bootstrap(), dir.Sub("p"), dir.path(), kill_after, &output), 128 + SIGKILL) << output;
  }
  ASSERT_EQ(RunProjector(bootstrap(), dir.Sub("p"), dir.path(), 0, &output), 0) << output;
  // A restart after a kill resumed part-way at least once: some partition
  // was assigned from a stored offset.
  size_t resumed = 0;
  for (size_t at = output.find('@'); at != std::string::npos; at = output.find('@', at + 1)) {
    resumed += std::isdigit(static_cast<unsigned char>(output[at + 1])) ? 1 : 0;
  }
  EXPECT_GE(resumed, 2u) << output;
  std::printf("[ projector] %zu assignments\n", static_cast<size_t>(std::count(output.begin(), output.end(), '@')) / 6);

  auto store = projections::ProjectionStore::Open(dir.Sub("p") + "/projections", projections::ModelNames());
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  const std::string offsets = projections::KafkaOffsetKey("", 0).substr(0, 8);  // "\xff\xffkafka/"
  for (const auto& m : projections::ModelNames()) {
    const testing::Rows a = testing::DumpActive(**store, m, offsets), b = testing::DumpActive(*rebuilt_, m);
    EXPECT_EQ(a.size(), b.size()) << m;
    EXPECT_TRUE(a == b) << m << ": the model fed from Kafka differs from a rebuild from the log";
  }
}

using testing::ReadFile;
using testing::WaitExit;
using testing::WaitForOutput;

pid_t StartProjector(const std::string& bootstrap, const std::string& data, const std::string& keys_from,
                     bool exit_at_end, const std::string& out_file) {
  return testing::StartProjector(TALLYCTL, bootstrap, data, keys_from, exit_at_end, out_file);
}

TEST_F(KafkaProjectTest, TwoProcessesSplitThePartitionsAndNeitherKeepsStaleRows) {
  // A reads everything alone, then B joins the group: A loses half the
  // partitions and must drop those customers' rows.
  const std::string a_out = dir.Sub("a.out"), b_out = dir.Sub("b.out");
  const pid_t a = StartProjector(bootstrap(), dir.Sub("a"), dir.path(), /*exit_at_end=*/false, a_out);
  ASSERT_TRUE(WaitForOutput(a_out, [&](const std::string& text) {
    return text.find("applied " + std::to_string(head) + "\n") != std::string::npos;
  })) << ReadFile(a_out);
  const pid_t b = StartProjector(bootstrap(), dir.Sub("b"), dir.path(), /*exit_at_end=*/true, b_out);
  EXPECT_EQ(WaitExit(b), 0) << ReadFile(b_out);
  EXPECT_TRUE(WaitForOutput(a_out, [](const std::string& text) { return text.find("dropped ") != std::string::npos; }))
      << ReadFile(a_out);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // A writes its last batch (flush every 200 ms)
  kill(a, SIGTERM);
  EXPECT_EQ(WaitExit(a), 0) << ReadFile(a_out);

  // Each store holds exactly the rows of the customers of the partitions it
  // holds offsets for; together they hold every partition once.
  testing::ExpectStoresSplitByPartition(*rebuilt_, {dir.Sub("a"), dir.Sub("b")}, "tally.events", kPartitions);

  // Alone again, A takes every partition back and reads the dropped ones
  // from their start: a rebuild, row for row.
  const pid_t again = StartProjector(bootstrap(), dir.Sub("a"), dir.path(), /*exit_at_end=*/true, a_out);
  const std::string own_keys = "\xff\xff";
  ASSERT_EQ(WaitExit(again), 0) << ReadFile(a_out);
  auto store = projections::ProjectionStore::Open(dir.Sub("a") + "/projections", projections::ModelNames());
  ASSERT_TRUE(store.ok());
  for (const auto& m : projections::ModelNames()) {
    EXPECT_TRUE(testing::DumpActive(**store, m, own_keys) == testing::DumpActive(*rebuilt_, m, own_keys)) << m;
  }
}

// Issue 17, item 4: the embedded Kafka (librdkafka's mock cluster) keeps
// about 5 MiB per partition and drops the oldest records beyond that. The
// relay notices that the topic no longer starts at offset 0, and a
// projector reading it from the start stops with an error instead of
// building a model that lacks the first events.
TEST(KafkaTruncationTest, ATopicThatLostItsStartIsReportedAndNeverProjected) {
  testing::TempDir dir;
  auto log = RocksDbEventLog::Open(dir.Sub("log"));
  ASSERT_TRUE(log.ok());
  const uint64_t seed = testing::TestSeed();
  {
    auto catalog = domain::Catalog::Load(TALLY_OFFERS_JSON);
    ASSERT_TRUE(catalog.ok());
    domain::RandomIdSource ids(seed);
    CommandProcessor processor(**log, *catalog, domain::Instance::kGlobal, ids);
    tools::Workload(seed).Run(processor, 36000);  // ~15k events, ~9 MiB: beyond one partition's 5 MiB
  }
  const uint64_t head = (*log)->Head();
  auto kafka = kafka::EmbeddedKafka::Start(1, "tally.events", 1);
  ASSERT_TRUE(kafka.ok()) << kafka.error().ToString();
  kafka::RelayOptions options;
  // The mock's retention counts stored bytes: uncompressed records of this
  // workload overflow it (the relay's default zstd would keep them all).
  options.config = {{"bootstrap.servers", (*kafka)->bootstraps()}, {"compression.type", "none"}};
  options.retention_check = std::chrono::milliseconds(100);
  kafka::Relay relay(**log, options);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while ((relay.Status().published < head || relay.Status().truncated.empty()) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(relay.Status().published, head) << relay.Status().last_error;
  const std::string truncated = relay.Status().truncated;
  ASSERT_FALSE(truncated.empty()) << "the mock kept all " << head << " events: raise the workload";
  EXPECT_EQ(truncated.rfind("0@", 0), 0u) << truncated;
  std::printf("[ truncated] %llu events published, the topic now starts at %s\n",
              static_cast<unsigned long long>(head), truncated.c_str());

  std::string output;
  const int status = RunProjector((*kafka)->bootstraps(), dir.Sub("p"), dir.path(), 0, &output);
  EXPECT_EQ(status, 2) << output;
  EXPECT_NE(output.find("should go on at offset 0"), std::string::npos) << output;
  auto store = projections::ProjectionStore::Open(dir.Sub("p") + "/projections", projections::ModelNames());
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  for (const auto& m : projections::ModelNames()) {
    EXPECT_TRUE(testing::DumpActive(**store, m).empty()) << m << ": rows built from a partial topic";
  }
}

}  // namespace
}  // namespace tally
