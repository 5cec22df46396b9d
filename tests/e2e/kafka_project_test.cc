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

#include <algorithm>
#include <filesystem>
#include <random>
#include <thread>

#include "engine/command_processor.h"
#include "engine/domain/catalog.h"
#include "engine/kafka/embedded.h"
#include "engine/kafka/relay.h"
#include "engine/rocksdb_event_log.h"
#include "projections/kafka_feed.h"
#include "projections/rebuild.h"
#include "tests/testing/projection_rows.h"
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

TEST(KafkaProjectTest, KilledAndRestartedTheModelsFedFromKafkaEqualARebuild) {
  const uint64_t seed = testing::TestSeed();
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
  auto kafka = kafka::EmbeddedKafka::Start(1, "tally.events", 6);
  ASSERT_TRUE(kafka.ok()) << kafka.error().ToString();
  {
    kafka::RelayOptions options;
    options.config = {{"bootstrap.servers", (*kafka)->bootstraps()}};
    kafka::Relay relay(**log, options);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (relay.Status().published < head && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(relay.Status().published, head) << relay.Status().last_error;
  }

  std::mt19937_64 rng(seed);
  std::string output;
  for (int round = 0; round < 3; ++round) {
    const size_t kill_after = 1 + rng() % 8;  // of ~67 writes of 50 events
    EXPECT_EQ(RunProjector((*kafka)->bootstraps(), dir.Sub("p"), dir.path(), kill_after, &output), 128 + SIGKILL) << output;
  }
  ASSERT_EQ(RunProjector((*kafka)->bootstraps(), dir.Sub("p"), dir.path(), 0, &output), 0) << output;
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
  auto fresh = projections::ProjectionStore::Open(dir.Sub("fresh"), projections::ModelNames());
  ASSERT_TRUE(fresh.ok());
  projections::LogEventSource source(**log);
  ASSERT_TRUE(projections::Rebuild(source, **fresh, projections::ModelNames(), nullptr).ok());
  const std::string offsets = projections::KafkaOffsetKey("", 0).substr(0, 8);  // "\xff\xffkafka/"
  for (const auto& m : projections::ModelNames()) {
    const testing::Rows a = testing::DumpActive(**store, m, offsets), b = testing::DumpActive(**fresh, m);
    EXPECT_EQ(a.size(), b.size()) << m;
    EXPECT_TRUE(a == b) << m << ": the model fed from Kafka differs from a rebuild from the log";
  }
}

}  // namespace
}  // namespace tally
