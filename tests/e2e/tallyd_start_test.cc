// tallyd as a real process: it refuses to start on a bad catalog or
// instance with a clear message, and a good start stops cleanly on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <thread>

#include "tests/testing/test_util.h"

namespace tally {
namespace {

struct Run {
  int exit_code = -1;
  std::string output;
};

// Runs tallyd with `args`; if `stop_after_ready`, sends SIGTERM once it says
// it is running.
Run Tallyd(const std::vector<std::string>& args, bool stop_after_ready) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv = {const_cast<char*>(TALLYD)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    // Any free port, so that tests can run side by side.
    if (std::find(args.begin(), args.end(), "--listen") == args.end()) {
      argv.push_back(const_cast<char*>("--listen"));
      argv.push_back(const_cast<char*>("127.0.0.1:0"));
    }
    argv.push_back(nullptr);
    execv(TALLYD, argv.data());
    _exit(127);
  }
  close(fds[1]);
  Run run;
  char buf[4096];
  ssize_t n;
  bool signalled = false;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) {
    run.output.append(buf, n);
    if (stop_after_ready && !signalled && run.output.find("running;") != std::string::npos) {
      kill(pid, SIGTERM);
      signalled = true;
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

TEST(TallydStartTest, StartsWithTheShippedCatalogAndStopsCleanlyOnSigterm) {
  testing::TempDir dir;
  auto run = Tallyd({"--data", dir.Sub("var")}, /*stop_after_ready=*/true);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("instance global, 23 offers"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("tallyd: stopped"), std::string::npos) << run.output;
}

TEST(TallydStartTest, ABadCatalogIsAClearStartUpError) {
  testing::TempDir dir;
  const std::string catalog = dir.Sub("offers.json");
  std::ofstream(catalog) << R"({"offers": [{"id": "x", "name": "X", "minimumQuantity": 5,
    "maximumQuantity": 2, "isAddOn": false, "instance": "global", "prices": [{"termDuration": "P1M",
    "billingCycle": "monthly", "unitPrice": 1, "effectiveStartDate": "2024-01-01"}]}]})";
  auto run = Tallyd({"--data", dir.Sub("var"), "--catalog", catalog}, false);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("invalid_catalog"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("maximumQuantity 2 is below minimumQuantity 5"), std::string::npos) << run.output;
}

TEST(TallydStartTest, AMissingCatalogOrUnknownInstanceIsRefused) {
  testing::TempDir dir;
  auto missing = Tallyd({"--data", dir.Sub("var"), "--catalog", dir.Sub("nope.json")}, false);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("cannot read the offer catalog"), std::string::npos) << missing.output;
  auto instance = Tallyd({"--data", dir.Sub("var"), "--instance", "mars"}, false);
  EXPECT_EQ(instance.exit_code, 2);
  EXPECT_NE(instance.output.find("unknown instance 'mars'"), std::string::npos) << instance.output;
}

TEST(TallydStartTest, UsGovStartsWithItsOwnCatalog) {
  testing::TempDir dir;
  auto run = Tallyd({"--data", dir.Sub("var"), "--instance", "usgov"}, true);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("instance usgov, 5 offers"), std::string::npos) << run.output;
}

TEST(TallydStartTest, TheFirstStartCreatesADevPartnerAndShowsItsTokenOnlyThen) {
  testing::TempDir dir;
  auto first = Tallyd({"--data", dir.Sub("var")}, true);
  EXPECT_EQ(first.exit_code, 0) << first.output;
  const auto at = first.output.find("TALLY_TOKEN=");
  ASSERT_NE(at, std::string::npos) << first.output;
  const std::string token = first.output.substr(at + 12, first.output.find('\n', at) - at - 12);
  EXPECT_EQ(token.size(), 43u);
  auto second = Tallyd({"--data", dir.Sub("var")}, true);
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(second.output.find("TALLY_TOKEN="), std::string::npos) << second.output;
  // Only the hash is kept.
  std::ifstream in(dir.Sub("var") + "/partners.json");
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(file.find("token_sha256"), std::string::npos);
  EXPECT_EQ(file.find(token), std::string::npos);
}

TEST(TallydStartTest, ABadListenAddressIsRefused) {
  testing::TempDir dir;
  for (const char* bad : {"8080", "localhost:", "127.0.0.1:99999", "127.0.0.1:http", ":80"}) {
    auto run = Tallyd({"--data", dir.Sub("var"), "--listen", bad}, false);
    EXPECT_EQ(run.exit_code, 2) << bad;
    EXPECT_NE(run.output.find("--listen must be HOST:PORT"), std::string::npos) << run.output;
  }
  auto unresolvable = Tallyd({"--data", dir.Sub("var"), "--listen", "no-such-host.invalid:8080"}, false);
  EXPECT_EQ(unresolvable.exit_code, 2) << unresolvable.output;
  EXPECT_NE(unresolvable.output.find("--listen no-such-host.invalid:8080"), std::string::npos)
      << unresolvable.output;
}

}  // namespace
}  // namespace tally
