// Backups taken while writes go on are consistent (a prefix of the log that
// verifies), and a restore refuses a backup that does not match its manifest.
#include "tools/common/backup.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/group_commit_writer.h"
#include "events/samples.h"
#include "tests/testing/test_util.h"

namespace tally::tools {
namespace {

TEST(BackupTest, ABackupTakenDuringWritesIsAPrefixOfTheLogThatVerifies) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.Sub("live"));
  auto log = RocksDbEventLog::Open(dir.Sub("live/log"));
  ASSERT_TRUE(log.ok());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> acked{0};
  std::thread writes([&] {
    GroupCommitWriter writer(**log);
    events::SampleEvents samples(1);
    const std::string customer = samples.Uuid();
    while (!stop.load()) {
      AppendRequest r;
      r.events.push_back(samples.SubscriptionCreated(customer, samples.Uuid(), 3));
      if (writer.Append(std::move(r)).ok()) acked.fetch_add(1);
    }
  });
  while (acked.load() < 200) std::this_thread::yield();
  auto manifest = CreateBackup(**log, nullptr, dir.Sub("backup"));
  const uint64_t acked_after_backup = acked.load();
  while (acked.load() < acked_after_backup + 100) std::this_thread::yield();
  stop = true;
  writes.join();
  ASSERT_TRUE(manifest.ok()) << manifest.error().ToString();
  EXPECT_GE(manifest->head, 200u);
  EXPECT_LT(manifest->head, (*log)->Head()) << "writes went on after the backup";

  auto report = RestoreBackup(dir.Sub("backup"), dir.Sub("restored"));
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(report->verified, manifest->head);
  auto restored = RocksDbEventLog::OpenReadOnly(dir.Sub("restored/log"));
  ASSERT_TRUE(restored.ok());
  auto a = (*restored)->Read(1, manifest->head);
  auto b = (*log)->Read(1, manifest->head);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    ASSERT_EQ((*a)[i].envelope, (*b)[i].envelope) << "position " << i + 1;
    ASSERT_EQ((*a)[i].hash, (*b)[i].hash) << "position " << i + 1;
  }
}

TEST(BackupTest, ARestoreChecksTheManifestAndNeverOverwrites) {
  testing::TempDir dir;
  {
    std::filesystem::create_directories(dir.Sub("live"));
  auto log = RocksDbEventLog::Open(dir.Sub("live/log"));
    ASSERT_TRUE(log.ok());
    events::SampleEvents samples(2);
    AppendRequest r;
    r.events.push_back(samples.CustomerCreated(samples.Uuid(), "r1"));
    ASSERT_TRUE((*log)->AppendBatch(std::span(&r, 1))[0].ok());
    ASSERT_TRUE(CreateBackup(**log, nullptr, dir.Sub("backup")).ok());
    EXPECT_EQ(CreateBackup(**log, nullptr, dir.Sub("backup")).error().code(), ErrorCode::kInvalidArgument);
  }
  ASSERT_TRUE(RestoreBackup(dir.Sub("backup"), dir.Sub("one")).ok());
  EXPECT_EQ(RestoreBackup(dir.Sub("backup"), dir.Sub("one")).error().code(), ErrorCode::kInvalidArgument);

  // A manifest that names another head hash: the restore says so.
  std::string format, head, hash, created;
  {
    std::ifstream in(dir.Sub("backup/MANIFEST"));
    in >> format >> head >> hash >> created;
  }
  hash[0] = hash[0] == '0' ? '1' : '0';
  std::ofstream(dir.Sub("backup/MANIFEST")) << format << "\n" << head << "\n" << hash << "\n" << created << "\n";
  auto tampered = RestoreBackup(dir.Sub("backup"), dir.Sub("two"));
  ASSERT_FALSE(tampered.ok());
  EXPECT_EQ(tampered.error().code(), ErrorCode::kCorruption);
  std::ofstream(dir.Sub("backup/MANIFEST")) << "garbage\n";
  EXPECT_EQ(RestoreBackup(dir.Sub("backup"), dir.Sub("three")).error().code(), ErrorCode::kCorruption);
}

}  // namespace
}  // namespace tally::tools
