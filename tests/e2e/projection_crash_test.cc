// Crash test for the read models: `tallyctl project` (a real process) applies
// a real log and is killed with SIGKILL at seeded points of its progress,
// again and again on the same folder. Afterwards the models equal a rebuild
// from scratch, row for row: every event applied exactly once.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rocksdb/db.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "engine/domain/catalog.h"
#include "engine/rocksdb_event_log.h"
#include "projections/rebuild.h"
#include "tests/testing/projection_rows.h"
#include "tests/testing/test_util.h"
#include "tools/common/workload.h"

namespace tally {
namespace {

using testing::DumpActive;
using testing::Rows;

// Runs `tallyctl project` and kills it with SIGKILL after it has reported
// `kill_after` writes (0: let it finish). Returns true if it was killed.
// On a loaded machine the child may finish before the kill lands: not a
// failure in itself (the run ends with fewer kills, which the test counts).
bool RunProject(const std::string& data, size_t kill_after) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(TALLYCTL, TALLYCTL, "project", "--data", data.c_str(), "--batch", "40", "--progress-lines",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  size_t lines = 0;
  bool killed = false;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    lines += std::count(buf, buf + n, '\n');
    if (kill_after > 0 && !killed && lines >= kill_after) {
      kill(pid, SIGKILL);
      killed = true;
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (killed) {
    const bool finished_first = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    EXPECT_TRUE(finished_first || (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) << "status " << status;
    if (finished_first) std::printf("[ crash    ] the run finished before the kill at write %zu landed\n", kill_after);
  } else {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }
  return killed && WIFSIGNALED(status);
}

uint64_t LowestCheckpoint(const std::string& data) {
  projections::ProjectionStoreOptions ro;
  ro.read_only = true;
  auto store = projections::ProjectionStore::Open(data + "/projections", projections::ModelNames(), ro);
  if (!store.ok()) return 0;  // not created yet
  uint64_t lowest = UINT64_MAX;
  for (const auto& m : projections::ModelNames()) {
    lowest = std::min(lowest, (*store)->ReadCheckpoint(*(*store)->Active(m))->position);
  }
  return lowest;
}

TEST(ProjectionCrashTest, KilledApplyingAndRestartedTheModelsEqualARebuild) {
  const uint64_t seed = testing::TestSeed();
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  uint64_t head = 0;
  {
    auto catalog = domain::Catalog::Load(TALLY_OFFERS_JSON);
    ASSERT_TRUE(catalog.ok());
    std::filesystem::create_directories(data);
    auto log = RocksDbEventLog::Open(data + "/log");
    ASSERT_TRUE(log.ok());
    domain::RandomIdSource ids(seed);
    CommandProcessor processor(**log, *catalog, domain::Instance::kGlobal, ids);
    tools::Workload(seed).Run(processor, 8000);
    head = (*log)->Head();
  }
  const size_t writes = head / 40;
  std::mt19937_64 rng(seed);
  int kills = 0, partial = 0;
  uint64_t last = 0;
  for (int round = 0; round < 12; ++round) {
    // Kill somewhere in what is left of the run.
    const size_t left = std::max<size_t>(1, writes - std::min<size_t>(writes, last / 40));
    const size_t kill_after = 1 + rng() % std::max<size_t>(1, left / 3);
    if (!RunProject(data, kill_after)) break;  // finished before the kill point
    ++kills;
    const uint64_t now = LowestCheckpoint(data);
    EXPECT_GE(now, last) << "a checkpoint never goes back";
    if (now > last && now < head) ++partial;
    last = now;
  }
  std::printf("[ crash    ] log of %llu events, %d kills, %d with the models part-way\n",
              static_cast<unsigned long long>(head), kills, partial);
  EXPECT_GE(kills, 3);
  EXPECT_GE(partial, 2) << "kills should land while events are being applied";
  RunProject(data, 0);  // to the end
  EXPECT_EQ(LowestCheckpoint(data), head);

  auto log = RocksDbEventLog::OpenReadOnly(data + "/log");
  ASSERT_TRUE(log.ok());
  auto store = projections::ProjectionStore::Open(data + "/projections", projections::ModelNames());
  ASSERT_TRUE(store.ok());
  auto fresh = projections::ProjectionStore::Open(dir.Sub("fresh"), projections::ModelNames());
  ASSERT_TRUE(fresh.ok());
  projections::LogEventSource source(**log);
  ASSERT_TRUE(projections::Rebuild(source, **fresh, projections::ModelNames(), nullptr).ok());
  for (const auto& m : projections::ModelNames()) {
    const Rows a = DumpActive(**store, m), b = DumpActive(**fresh, m);
    EXPECT_EQ(a.size(), b.size()) << m;
    EXPECT_TRUE(a == b) << m << ": the crashed-and-resumed model differs from a rebuild";
  }
}

}  // namespace
}  // namespace tally
