// tallyctl as a real process on a real log: verify names the first bad
// position and exits 1, replay prints one JSON object per line, status
// counts events by type.
#include <gtest/gtest.h>
#include <chrono>
#include <thread>
#include <unistd.h>
#include <signal.h>
#include <poll.h>
#include <rocksdb/db.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/log_format.h"
#include "engine/rocksdb_event_log.h"
#include "events/samples.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"

namespace tally {
namespace {

using testing::Output;

Output Tallyctl(const std::string& args) { return testing::RunCommand(std::string(TALLYCTL) + " " + args); }

class TallyctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = RocksDbEventLog::Open(dir_.Sub("log"));
    ASSERT_TRUE(log.ok());
    events::SampleEvents samples(3);
    for (int i = 0; i < 20; ++i) {
      AppendRequest r;
      const std::string c = "c" + std::to_string(i % 4);
      r.events.push_back(i < 4 ? samples.CustomerCreated(c, "r" + std::to_string(i))
                               : samples.SubscriptionCreated(c, "r" + std::to_string(i), i));
      auto results = (*log)->AppendBatch(std::span<AppendRequest>(&r, 1));
      ASSERT_TRUE(results[0].ok());
    }
  }
  testing::TempDir dir_;
};

TEST_F(TallyctlTest, VerifyPassesThenNamesTheTamperedPosition) {
  auto ok = Tallyctl("verify --data " + dir_.path());
  EXPECT_EQ(ok.exit_code, 0) << ok.text;
  EXPECT_NE(ok.text.find("OK: 20 events verified"), std::string::npos) << ok.text;

  {  // flip one byte of event 13's envelope, behind the log's back
    auto log = RocksDbEventLog::Open(dir_.Sub("log"));
    ASSERT_TRUE(log.ok());
    std::string value;
    const auto key = log_format::EventKey(13);
    ASSERT_TRUE((*log)->db()->Get(rocksdb::ReadOptions(), (*log)->events_cf(), key, &value).ok());
    value[value.size() - 30] ^= 0x20;
    ASSERT_TRUE((*log)->db()->Put(rocksdb::WriteOptions(), (*log)->events_cf(), key, value).ok());
  }
  auto bad = Tallyctl("verify --data " + dir_.path());
  EXPECT_EQ(bad.exit_code, 1) << bad.text;
  EXPECT_NE(bad.text.find("FAILED at position 13"), std::string::npos) << bad.text;
  auto before = Tallyctl("verify --data " + dir_.path() + " --from 1 --to 12");
  EXPECT_EQ(before.exit_code, 0) << before.text;
}

TEST_F(TallyctlTest, ReplayPrintsJsonLinesWithFilters) {
  auto all = Tallyctl("replay --data " + dir_.path());
  ASSERT_EQ(all.exit_code, 0) << all.text;
  std::istringstream lines(all.text);
  std::string line;
  uint64_t expected_position = 1;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j.at("position"), expected_position++);
  }
  EXPECT_EQ(expected_position, 21u);

  auto created = Tallyctl("replay --data " + dir_.path() + " --type CustomerCreated");
  ASSERT_EQ(created.exit_code, 0);
  EXPECT_EQ(std::count(created.text.begin(), created.text.end(), '\n'), 4);
  auto stream = Tallyctl("replay --data " + dir_.path() + " --stream customer-c1 --from 6");
  ASSERT_EQ(stream.exit_code, 0);
  std::istringstream s(stream.text);
  int n = 0;
  while (std::getline(s, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j.at("stream_id"), "customer-c1");
    EXPECT_GE(j.at("position").get<int>(), 6);
    ++n;
  }
  EXPECT_EQ(n, 4) << "positions 6, 10, 14, 18";

  auto count = [&](const std::string& args) {
    auto out = Tallyctl("replay --data " + dir_.path() + " " + args);
    EXPECT_EQ(out.exit_code, 0) << args << ": " << out.text;
    return std::count(out.text.begin(), out.text.end(), '\n');
  };
  EXPECT_EQ(count("--customer c1 --from 6"), 4);
  EXPECT_EQ(count("--partner partner-0001"), 20);
  EXPECT_EQ(count("--partner partner-0002"), 0);
  EXPECT_EQ(count("--since 2000-01-01"), 20);
  EXPECT_EQ(count("--since 2000-01-01 --until 2000-12-31T23:59:59Z"), 0);
  EXPECT_EQ(count("--since 2999-01-01"), 0);
  EXPECT_EQ(count("--until 2999-01-01 --type CustomerCreated --partner partner-0001"), 4);
  EXPECT_EQ(Tallyctl("replay --data " + dir_.path() + " --since yesterday").exit_code, 2);
  EXPECT_NE(Tallyctl("replay --data " + dir_.path() + " --customer c1 --stream customer-c1").exit_code, 0);
}

// Kills a child process a test left running because an assertion returned
// early; a running child would keep ctest waiting on its output.
struct ChildGuard {
  pid_t pid;
  ~ChildGuard() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

TEST_F(TallyctlTest, ReplayFollowPrintsWhatAWriterAppendsLater) {
  // tallyctl replay --follow as a real process beside a writing one.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string data = dir_.path();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(TALLYCTL, TALLYCTL, "replay", "--follow", "--from", "19", "--to", "22", "--data", data.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  ChildGuard guard{pid};
  close(fds[1]);
  std::string out;
  auto read_until = [&](size_t lines) {
    char buf[4096];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (static_cast<size_t>(std::count(out.begin(), out.end(), '\n')) < lines &&
           std::chrono::steady_clock::now() < deadline) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, n);
    }
  };
  read_until(2);  // positions 19 and 20, already there
  ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  {
    auto log = RocksDbEventLog::Open(dir_.Sub("log"));
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    events::SampleEvents samples(9);
    for (int i = 0; i < 3; ++i) {
      AppendRequest r;
      r.events.push_back(samples.SubscriptionCreated("c9", "late" + std::to_string(i), i));
      auto results = (*log)->AppendBatch(std::span<AppendRequest>(&r, 1));
      ASSERT_TRUE(results[0].ok());
    }
  }
  read_until(4);
  int status = 0;
  for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (waitpid(pid, &status, WNOHANG) == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ADD_FAILURE() << "replay --follow --to 22 did not stop at 22";
  }
  guard.pid = 0;
  close(fds[0]);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::istringstream lines(out);
  std::vector<uint64_t> positions;
  for (std::string line; std::getline(lines, line);) positions.push_back(nlohmann::json::parse(line).at("position"));
  EXPECT_EQ(positions, (std::vector<uint64_t>{19, 20, 21, 22})) << out;
}

TEST_F(TallyctlTest, ReplayFollowStopsOnSigtermAndRemovesItsScratchFolder) {
  const std::string data = dir_.path();
  const std::string tmp = dir_.Sub("tmp");
  std::filesystem::create_directories(tmp);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    setenv("TMPDIR", tmp.c_str(), 1);
    execl(TALLYCTL, TALLYCTL, "replay", "--follow", "--from", "20", "--data", data.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  ChildGuard guard{pid};
  close(fds[1]);
  std::string out;
  char buf[4096];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (out.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, n);
  }
  ASSERT_NE(out.find("\"position\": 20,"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::is_empty(tmp)) << "the follower keeps its scratch folder under TMPDIR";
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  guard.pid = 0;
  close(fds[0]);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(std::filesystem::is_empty(tmp)) << "scratch folder left behind";
}

TEST_F(TallyctlTest, HistoryTellsOneCustomersStory) {
  auto history = Tallyctl("history c1 --data " + dir_.path());
  ASSERT_EQ(history.exit_code, 0) << history.text;
  EXPECT_EQ(std::count(history.text.begin(), history.text.end(), '\n'), 6) << history.text;  // a header, 5 events
  EXPECT_NE(history.text.find("customer c1: 5 events"), std::string::npos) << history.text;
  EXPECT_NE(history.text.find("partner-0001   CustomerCreated"), std::string::npos) << history.text;
  EXPECT_NE(history.text.find("SubscriptionCreated"), std::string::npos) << history.text;
  EXPECT_NE(history.text.find("(request r1)"), std::string::npos) << history.text;
  EXPECT_EQ(Tallyctl("history nobody --data " + dir_.path()).exit_code, 2);
  EXPECT_EQ(Tallyctl("history nobody.onmicrosoft.com --data " + dir_.path()).exit_code, 2);
}

TEST_F(TallyctlTest, StatusCountsEventsByType) {
  auto status = Tallyctl("status --data " + dir_.path());
  ASSERT_EQ(status.exit_code, 0) << status.text;
  EXPECT_NE(status.text.find("log head: 20"), std::string::npos) << status.text;
  EXPECT_NE(status.text.find("CustomerCreated"), std::string::npos);
  EXPECT_NE(status.text.find("SubscriptionCreated"), std::string::npos);
}

TEST_F(TallyctlTest, AMissingFolderOrBadUsageExitsTwo) {
  EXPECT_EQ(Tallyctl("verify --data " + dir_.Sub("nope")).exit_code, 2);
  EXPECT_EQ(Tallyctl("verify --from 0 --data " + dir_.path()).exit_code, 2) << "--from starts at 1";
  EXPECT_NE(Tallyctl("frobnicate").exit_code, 0);
}

}  // namespace
}  // namespace tally
