// tallyctl rebuild while tallyd runs (through its control socket) and on a
// stopped folder: both swap in new copies that are caught up with the log.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "engine/domain/catalog.h"
#include "engine/rocksdb_event_log.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"
#include "tools/common/workload.h"

namespace tally {
namespace {

using testing::Output;

Output Tallyctl(const std::string& args) { return testing::RunCommand(std::string(TALLYCTL) + " " + args); }

TEST(RebuildWhileRunningTest, TallydRebuildsOnRequestAndAStoppedFolderDirectly) {
  testing::TempDir dir;
  const std::string data = dir.Sub("var");
  std::filesystem::create_directories(data);
  {
    auto catalog = domain::Catalog::Load(TALLY_OFFERS_JSON);
    ASSERT_TRUE(catalog.ok());
    auto log = RocksDbEventLog::Open(data + "/log");
    ASSERT_TRUE(log.ok());
    domain::RandomIdSource ids(5);
    CommandProcessor processor(**log, *catalog, domain::Instance::kGlobal, ids);
    tools::Workload workload(testing::TestSeed());
    for (int i = 0; i < 3000; ++i) {
      auto [command, meta] = workload.Next(processor);
      workload.Learn(command, processor.Execute(command, meta));
    }
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(TALLYD, TALLYD, "--data", data.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string output;
  char buf[4096];
  while (output.find("running;") == std::string::npos) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    ASSERT_GT(n, 0) << output;
    output.append(buf, n);
  }
  const Output rebuilt = Tallyctl("rebuild all --data " + data);
  EXPECT_EQ(rebuilt.exit_code, 0) << rebuilt.text;
  EXPECT_NE(rebuilt.text.find("tallyd rebuilt 3 read model(s)"), std::string::npos) << rebuilt.text;
  const Output unknown = Tallyctl("rebuild invoices --data " + data);
  EXPECT_EQ(unknown.exit_code, 2) << unknown.text;
  EXPECT_NE(unknown.text.find("no read model named 'invoices'"), std::string::npos) << unknown.text;

  kill(pid, SIGTERM);
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) output.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_NE(output.find("rebuild done"), std::string::npos) << output;
  EXPECT_FALSE(std::filesystem::exists(data + "/control.sock")) << "removed on a clean stop";

  const Output status_out = Tallyctl("status --data " + data);
  for (const char* model : {"customer ", "license ", "relationship "}) {
    const size_t at = status_out.text.find(std::string("  ") + model);
    ASSERT_NE(at, std::string::npos) << status_out.text;
    const std::string line = status_out.text.substr(at, status_out.text.find('\n', at) - at);
    EXPECT_NE(line.find("copy 2,"), std::string::npos) << line;
    EXPECT_NE(line.find("lag 0,"), std::string::npos) << line;
  }
  // Stopped: tallyctl does it itself.
  const Output direct = Tallyctl("rebuild license --data " + data);
  EXPECT_EQ(direct.exit_code, 0) << direct.text;
  EXPECT_NE(direct.text.find("license rebuilt to position"), std::string::npos) << direct.text;
  EXPECT_NE(direct.text.find("(copy 3)"), std::string::npos) << direct.text;
}

}  // namespace
}  // namespace tally
