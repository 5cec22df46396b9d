// tallyd's control socket, with real processes: tallyctl rebuild and backup
// while tallyd runs, and both on a stopped folder; restore verifies.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "engine/domain/catalog.h"
#include "engine/rocksdb_event_log.h"
#include "tests/testing/process.h"
#include "tests/testing/tallyd.h"
#include "tests/testing/test_util.h"
#include "tools/common/workload.h"

namespace tally {
namespace {

using testing::Output;

Output Tallyctl(const std::string& args) { return testing::RunCommand(std::string(TALLYCTL) + " " + args); }

// Fills a new data folder's log with a workload's events.
void Populate(const std::string& data, int commands) {
  std::filesystem::create_directories(data);
  auto catalog = domain::Catalog::Load(TALLY_OFFERS_JSON);
  ASSERT_TRUE(catalog.ok());
  auto log = RocksDbEventLog::Open(data + "/log");
  ASSERT_TRUE(log.ok());
  domain::RandomIdSource ids(5);
  CommandProcessor processor(**log, *catalog, domain::Instance::kGlobal, ids);
  tools::Workload(testing::TestSeed()).Run(processor, commands);
}

TEST(RebuildWhileRunningTest, TallydRebuildsOnRequestAndAStoppedFolderDirectly) {
  testing::TempDir dir;
  const std::string data = dir.Sub("var");
  Populate(data, 3000);
  testing::TallydProcess tallyd(TALLYD, data);
  ASSERT_NE(tallyd.output().find("running;"), std::string::npos) << tallyd.output();
  const Output rebuilt = Tallyctl("rebuild all --data " + data);
  EXPECT_EQ(rebuilt.exit_code, 0) << rebuilt.text;
  EXPECT_NE(rebuilt.text.find("tallyd rebuilt 4 read model(s)"), std::string::npos) << rebuilt.text;
  const Output unknown = Tallyctl("rebuild invoices --data " + data);
  EXPECT_EQ(unknown.exit_code, 2) << unknown.text;
  EXPECT_NE(unknown.text.find("no read model named 'invoices'"), std::string::npos) << unknown.text;

  EXPECT_EQ(tallyd.Stop(), 0) << tallyd.output();
  const std::string& output = tallyd.output();
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
  // Folded in memory and loaded as table files every 100 events.
  const Output bulk = Tallyctl("rebuild license --bulk-events 100 --data " + data);
  EXPECT_EQ(bulk.exit_code, 0) << bulk.text;
  EXPECT_NE(bulk.text.find("(copy 4)"), std::string::npos) << bulk.text;
}

}  // namespace
}  // namespace tally

namespace tally {
namespace {

TEST(BackupTest, TallydBacksUpOnRequestAndARestoreVerifies) {
  testing::TempDir dir;
  const std::string data = dir.Sub("var");
  Populate(data, 1500);
  testing::TallydProcess tallyd(TALLYD, data);
  const Output backup = Tallyctl("backup " + dir.Sub("backup") + " --data " + data);
  EXPECT_EQ(backup.exit_code, 0) << backup.text;
  EXPECT_NE(backup.text.find("OK: tallyd backed the log up to position"), std::string::npos) << backup.text;
  const Output again = Tallyctl("backup " + dir.Sub("backup") + " --data " + data);
  EXPECT_EQ(again.exit_code, 2) << "an existing folder is never overwritten: " << again.text;
  EXPECT_EQ(tallyd.Stop(), 0) << tallyd.output();

  const Output restored = Tallyctl("restore " + dir.Sub("backup") + " --data " + dir.Sub("restored"));
  EXPECT_EQ(restored.exit_code, 0) << restored.text;
  EXPECT_NE(restored.text.find("matches the backup"), std::string::npos) << restored.text;
  EXPECT_EQ(Tallyctl("verify --data " + dir.Sub("restored")).exit_code, 0);
  const Output status = Tallyctl("status --data " + dir.Sub("restored"));
  EXPECT_NE(status.text.find("customer       copy 1"), std::string::npos) << "read models come along: " << status.text;
  const Output onto = Tallyctl("restore " + dir.Sub("backup") + " --data " + dir.Sub("restored"));
  EXPECT_EQ(onto.exit_code, 2) << "never over an existing log: " << onto.text;

  // A stopped folder is backed up by tallyctl itself.
  const Output stopped = Tallyctl("backup " + dir.Sub("backup2") + " --data " + data);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.text;
  EXPECT_NE(stopped.text.find("OK: backed the log up to position"), std::string::npos) << stopped.text;
}

}  // namespace
}  // namespace tally
