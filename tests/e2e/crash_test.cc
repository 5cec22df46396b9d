// Crash test: a real child process appends under load and is killed with
// SIGKILL at random points of its progress (seeded, printed). After each kill the log is
// reopened and checked: every acknowledged request is present with exactly
// the positions it was acknowledged with, no request is half-written,
// positions are gapless and the hash chain verifies. Rounds continue on the
// same folder, so recovery itself is exercised again and again.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <sstream>

#include "engine/chain_verifier.h"
#include "engine/rocksdb_event_log.h"
#include "events/codec.h"
#include "tests/testing/test_util.h"

namespace tally {
namespace {

struct Ack {
  uint64_t first = 0, last = 0;
};

// Starts the writer, kills it with SIGKILL once it has acknowledged
// `kill_after` requests (a point in its progress, not in time, so that a
// slow machine or a sanitizer build changes nothing), and returns its acks.
// More acks may arrive between the decision and the kill; all are kept.
std::map<std::string, Ack> RunAndKill(const std::string& dir, uint64_t seed, int round,
                                      size_t kill_after) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    const std::string seed_s = std::to_string(seed), round_s = std::to_string(round);
    execl(TALLY_CRASH_WRITER, TALLY_CRASH_WRITER, dir.c_str(), seed_s.c_str(), round_s.c_str(),
          "64", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string output;
  size_t lines = 0;
  bool killed = false;
  // A guard against a writer that never gets going, not a speed check.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  char buf[65536];
  for (;;) {
    if (!killed && std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "round " << round << ": the writer did not reach " << kill_after << " acks";
      kill(pid, SIGKILL);
      killed = true;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;  // the writer is gone
    output.append(buf, n);
    lines += std::count(buf, buf + n, '\n');
    if (!killed && lines >= kill_after) {
      kill(pid, SIGKILL);
      killed = true;
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the writer must still be running when killed (status " << status << ")";

  std::map<std::string, Ack> acks;
  std::istringstream in(output);
  std::string word, id;
  Ack ack;
  while (in >> word >> id >> ack.first >> ack.last) {
    EXPECT_EQ(word, "ack");
    acks[id] = ack;
  }
  return acks;
}

TEST(CrashTest, AcknowledgedAppendsSurviveSigkill) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  testing::TempDir dir;
  const std::string path = dir.Sub("log");
  std::map<std::string, Ack> all_acks;
  constexpr int kRounds = 6;
  for (int round = 0; round < kRounds; ++round) {
    const size_t kill_after = 1 + rng() % 6000;
    auto acks = RunAndKill(path, seed + round, round, kill_after);
    EXPECT_GE(acks.size(), kill_after) << "round " << round;
    all_acks.insert(acks.begin(), acks.end());

    auto log = RocksDbEventLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    // Gapless and chained.
    auto report = VerifyChain(**log);
    ASSERT_TRUE(report.ok());
    ASSERT_TRUE(report->ok()) << "round " << round << ": " << report->reason << " at "
                              << report->first_bad;
    ASSERT_EQ(report->checked, (*log)->Head());

    // Group the log by request: every request complete (k of k events,
    // contiguous positions), nothing half-written.
    std::map<std::string, std::pair<uint64_t, uint64_t>> stored;  // id -> first, last
    std::map<std::string, int> expected_count, seen_count;
    auto s = (*log)->Scan(1, (*log)->Head(), [&](const EventView& v) {
      auto env = events::VerifyEnvelope(v.envelope);
      EXPECT_TRUE(env.ok());
      if (!env.ok()) return false;
      const std::string id(events::View((*env)->request_id()));
      const int q = (*env)->payload_as_SubscriptionCreated()->quantity();
      expected_count[id] = q / 100;
      ++seen_count[id];
      EXPECT_EQ(q % 100, seen_count[id]) << id << " events out of order";
      auto [it, fresh] = stored.emplace(id, std::make_pair(v.position, v.position));
      if (!fresh) {
        EXPECT_EQ(it->second.second + 1, v.position) << id << " events not contiguous";
        it->second.second = v.position;
      }
      return true;
    });
    ASSERT_TRUE(s.ok());
    for (const auto& [id, k] : expected_count) {
      EXPECT_EQ(seen_count[id], k) << "request " << id << " is half-written";
    }
    // Every acknowledged request is there, where it was acknowledged.
    for (const auto& [id, ack] : all_acks) {
      auto it = stored.find(id);
      ASSERT_NE(it, stored.end()) << "acknowledged request " << id << " was lost";
      EXPECT_EQ(it->second.first, ack.first) << id;
      EXPECT_EQ(it->second.second, ack.last) << id;
    }
    // Retrying an acknowledged request after the crash is a replay.
    if (!acks.empty()) {
      const auto& [id, ack] = *acks.begin();
      AppendRequest retry;
      retry.request_id = id;
      retry.fingerprint = id;
      auto results = (*log)->AppendBatch(std::span<AppendRequest>(&retry, 1));
      ASSERT_TRUE(results[0].ok());
      EXPECT_TRUE(results[0]->replayed);
      EXPECT_EQ(results[0]->first_position, ack.first);
    }
    std::fprintf(stderr, "[ round %d ] killed after %zu acks (%zu seen), log head %llu, %zu requests stored\n",
                 round, kill_after, acks.size(), static_cast<unsigned long long>((*log)->Head()),
                 stored.size());
  }
}

}  // namespace
}  // namespace tally
