// What a hostile or unlucky day does to a real tallyd (issue 17): a disk
// that fills up, a client that eats every file descriptor, reads that ask
// for positions the log does not have. Real processes, real sockets, a real
// (small) file system.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/testing/api_bodies.h"
#include "tests/testing/http_client.h"
#include "tests/testing/tallyd.h"
#include "tests/testing/test_util.h"

namespace tally {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::HttpReply;
using testing::Line;
using testing::NewCustomer;
using namespace testing::offers;

// A tmpfs of `mib` MiB mounted on a new folder for the test, unmounted
// after it. Needs CAP_SYS_ADMIN (root, as tools/setup.sh and CI run).
class SmallFileSystem {
 public:
  explicit SmallFileSystem(int mib) {
    const std::string options = "size=" + std::to_string(mib) + "m";
    if (mount("tally-test", dir_.path().c_str(), "tmpfs", 0, options.c_str()) != 0) {
      error_ = std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~SmallFileSystem() {
    if (mounted_) umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  std::string Sub(const std::string& name) const { return dir_.Sub(name); }
  uint64_t FreeBytes() const { return std::filesystem::space(dir_.path()).available; }

  // Fills all but `leave` bytes with a file of its own.
  void FillLeaving(uint64_t leave) {
    const uint64_t size = FreeBytes() - leave;
    std::ofstream filler(Sub("filler"), std::ios::binary);
    const std::string block(1 << 20, 'f');
    for (uint64_t written = 0; written < size; written += block.size()) {
      filler.write(block.data(), static_cast<std::streamsize>(std::min<uint64_t>(block.size(), size - written)));
    }
  }
  void Unfill() { std::filesystem::remove(Sub("filler")); }

 private:
  testing::TempDir dir_;
  bool mounted_ = false;
  std::string error_;
};

json Health(uint16_t port) {
  HttpClient anonymous(port);
  auto h = anonymous.Get("/healthz");
  EXPECT_EQ(h.status, 200) << h.body;
  return h.json;
}

// Item 3: a full disk fails writes with 503 and a code, keeps reads going,
// says why in /healthz, and takes writes again once space returns, without
// a restart and without acknowledging anything that is not durable.
TEST(HardeningTest, AFullDiskRefusesWritesKeepsReadsAndRecoversWithoutARestart) {
  // RocksDB clears a full-disk error once 64 MiB (its largest write buffer)
  // are free again: the file system must be larger than that.
  SmallFileSystem fs(128);
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (" << fs.error() << "): needs root";
  // Filled first: RocksDB preallocates its write-ahead logs (fallocate) on
  // an empty disk, and would then write into that room unseen. Starting
  // takes about 8 MiB; the log writes about 8 more until the reserve.
  fs.FillLeaving(24 << 20);
  const std::string data = fs.Sub("var");
  // The log stops at 8 MiB free, leaving the read models room to follow it
  // (without the reserve, a read model could hit the full disk first and
  // answer 404 for acknowledged customers: CI saw it once).
  const std::vector<std::string> reserve = {"--min-free-mib", "8"};
  auto tallyd = std::make_unique<testing::TallydProcess>(TALLYD, data, reserve);
  ASSERT_GT(tallyd->port(), 0) << tallyd->output();
  const std::string token = tallyd->dev_token();
  HttpClient p1(tallyd->port(), token);

  // Customers with a subscription each, until the disk says no.
  std::vector<std::string> acknowledged;
  HttpReply refused;
  for (int i = 0; i < 50000 && refused.status == 0; ++i) {
    const std::string name = "full" + std::to_string(i);
    auto r = p1.Post("/v1/customers", NewCustomer(name, json::array({Line(kBasic, 3)})), {{"MS-RequestId", name}});
    if (r.status == 201) {
      acknowledged.push_back(r.json["id"]);
    } else {
      refused = r;
    }
  }
  ASSERT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.code(), 90013) << refused.body;  // storage_full
  EXPECT_NE(refused.body.find("No space"), std::string::npos) << refused.body;
  ASSERT_GT(acknowledged.size(), 10u);
  std::printf("acknowledged %zu customers before the disk filled up\n", acknowledged.size());

  // Writes are refused at once and move nothing; reads go on.
  json health = Health(tallyd->port());
  EXPECT_EQ(health["status"], "degraded") << health.dump();
  EXPECT_EQ(health["writes"]["accepted"], false) << health.dump();
  EXPECT_EQ(health["writes"]["code"], 90013) << health.dump();
  const uint64_t head = health["head"];
  auto again = p1.Post("/v1/customers", NewCustomer("fullagain"));
  EXPECT_EQ(again.status, 503) << again.body;
  EXPECT_EQ(Health(tallyd->port())["head"], head);
  auto read = p1.Get("/v1/customers/" + acknowledged.front());
  EXPECT_EQ(read.status, 200) << read.body;
  auto last = p1.Get("/v1/customers/" + acknowledged.back());
  EXPECT_EQ(last.status, 200) << last.body << tallyd->output();
  const json models = Health(tallyd->port())["readModels"];
  ASSERT_FALSE(models.empty());
  for (const auto& model : models) {
    EXPECT_EQ(model["position"], head) << "every read model holds every acknowledged write: " << model.dump();
  }

  // Space returns: writes resume without a restart.
  fs.Unfill();
  bool accepted = false;
  for (int i = 0; i < 300 && !accepted; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    accepted = Health(tallyd->port())["writes"]["accepted"] == true;
  }
  ASSERT_TRUE(accepted) << Health(tallyd->port()).dump() << tallyd->output();
  auto after = p1.Post("/v1/customers", NewCustomer("fullafter", json::array({Line(kBasic, 3)})),
                       {{"MS-RequestId", "fullafter"}});
  ASSERT_EQ(after.status, 201) << after.body;
  acknowledged.push_back(after.json["id"]);
  EXPECT_EQ(Health(tallyd->port())["status"], "ok");

  // Killed now: every acknowledged customer is there after the restart, and
  // the one that was refused is not.
  EXPECT_EQ(tallyd->Kill(SIGKILL), 128 + SIGKILL);
  EXPECT_EQ(tallyd->output().find("Assertion"), std::string::npos) << tallyd->output();
  tallyd = std::make_unique<testing::TallydProcess>(TALLYD, data, reserve);
  ASSERT_GT(tallyd->port(), 0) << tallyd->output();
  HttpClient reopened(tallyd->port(), token);
  size_t found = 0;
  for (const auto& id : acknowledged) found += reopened.Get("/v1/customers/" + id).status == 200;
  EXPECT_EQ(found, acknowledged.size());
  auto list = reopened.Get("/v1/customers?size=500");
  EXPECT_EQ(list.status, 200);
  const uint64_t customers_after = Health(tallyd->port())["head"].get<uint64_t>() / 4;  // 4 events each
  EXPECT_EQ(customers_after, acknowledged.size()) << "a refused write became visible, or an acknowledged one was lost";
}

// Item 1: a client that holds more connections than tallyd has descriptors
// for. tallyd caps its connections below its descriptor limit (leaving room
// for the stores and Kafka), keeps serving the connections it has, and
// accepts again once they are closed.
TEST(HardeningTest, HoldingEveryDescriptorDoesNotStopTallydForGood) {
  testing::TempDir dir;
  // This process holds the connections: room for them (up to its hard limit).
  rlimit mine{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &mine), 0);
  mine.rlim_cur = std::max<rlim_t>(mine.rlim_cur, std::min<rlim_t>(mine.rlim_max, 4096));
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &mine), 0);
  // tallyd gets a limit of 320 descriptors (as `prlimit --nofile=320:320`).
  auto tallyd = std::make_unique<testing::TallydProcess>(TALLYD, dir.Sub("var"), std::vector<std::string>{}, 320);
  ASSERT_GT(tallyd->port(), 0) << tallyd->output();
  EXPECT_NE(tallyd->output().find("descriptor limit 320"), std::string::npos) << tallyd->output();
  const uint16_t port = tallyd->port();

  HttpClient first(port, tallyd->dev_token());  // opened before the flood, kept alive
  ASSERT_EQ(first.Get("/v1/offers").status, 200);
  std::vector<int> held;
  for (int i = 0; i < 1000; ++i) {
    const int fd = testing::ConnectRaw(port);
    if (fd < 0) break;
    held.push_back(fd);
  }
  EXPECT_GT(held.size(), 400u);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // The connection it already had is still served, and so are writes.
  EXPECT_EQ(first.Get("/v1/offers").status, 200);
  EXPECT_EQ(first.Post("/v1/customers", NewCustomer("flooded")).status, 201);
  for (int fd : held) ::close(fd);
  // Every connection closed: new ones are accepted again (the accept loop
  // used to stop for good on EMFILE).
  std::string status;
  for (int i = 0; i < 20 && status.empty(); ++i) status = testing::StatusLineOnce(port);
  EXPECT_EQ(status, "HTTP/1.1 200 OK") << tallyd->output();
  EXPECT_EQ(tallyd->Stop(), 0) << tallyd->output();
}

// Item 2: ?minPosition= beyond the log's head used to hold an I/O thread for
// 2 s per read model; twenty of them stalled /healthz for a minute. Now a
// position the log does not have is a 400 at once, and a position it has is
// served (waits park without holding a thread: RunnerTest.WhenApplied...).
TEST(HardeningTest, MinPositionBeyondTheHeadIsRefusedAtOnce) {
  testing::TempDir dir;
  testing::TallydProcess tallyd(TALLYD, dir.Sub("var"));
  ASSERT_GT(tallyd.port(), 0) << tallyd.output();
  HttpClient p1(tallyd.port(), tallyd.dev_token());
  auto created = p1.Post("/v1/customers", NewCustomer("waiting"));
  ASSERT_EQ(created.status, 201) << created.body;
  const uint64_t position = created.json["position"];

  auto beyond = p1.Get("/v1/customers?minPosition=999999999999");
  EXPECT_EQ(beyond.status, 400) << beyond.body;
  EXPECT_EQ(beyond.code(), 70037) << beyond.body;
  EXPECT_NE(beyond.body.find("beyond the log's head"), std::string::npos) << beyond.body;
  auto next = p1.Get("/v1/customers?minPosition=" + std::to_string(position + 1));
  EXPECT_EQ(next.status, 400) << next.body;
  auto at = p1.Get("/v1/customers?minPosition=" + std::to_string(position));
  EXPECT_EQ(at.status, 200) << at.body;
  EXPECT_EQ(at.json["totalCount"], 1) << at.body;

  // Twenty at once, each on its own connection, while /healthz is asked.
  std::vector<std::thread> hostile;
  std::vector<int> statuses(20, 0);
  for (int i = 0; i < 20; ++i) {
    hostile.emplace_back([&, i] {
      HttpClient c(tallyd.port(), tallyd.dev_token());
      statuses[i] = c.Get("/v1/customers/" + created.json["id"].get<std::string>() + "?minPosition=999999999999").status;
    });
  }
  EXPECT_EQ(testing::StatusLineOnce(tallyd.port()), "HTTP/1.1 200 OK");
  for (auto& t : hostile) t.join();
  for (int s : statuses) EXPECT_EQ(s, 400);
}

}  // namespace
}  // namespace tally
