// The API's parts that hold state between requests: the admin job queue,
// read-your-writes positions and the ETag cache.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tools/tallyd/server/job_queue.h"
#include "tools/tallyd/server/version_cache.h"
#include "tools/tallyd/server/written_positions.h"

namespace tally::server {
namespace {

TEST(JobQueueTest, RunsJobsInOrderRefusesBeyondItsBoundAndFinishesThemAtStop) {
  JobQueue queue("test-jobs", 2);
  std::atomic<bool> started{false}, release{false};
  std::vector<int> ran;  // written by the queue's thread only
  ASSERT_TRUE(queue.Post([&] {
    started = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ran.push_back(1);
  }));
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // The first runs: two more may wait, a third may not.
  const bool second = queue.Post([&] { ran.push_back(2); });
  const bool third = queue.Post([&] { ran.push_back(3); });
  const bool fourth = queue.Post([&] { ran.push_back(4); });
  release = true;
  queue.Stop();  // runs what it accepted
  EXPECT_TRUE(second && third);
  EXPECT_FALSE(fourth) << "a third job waited while two did";
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(queue.Post([] {})) << "a job accepted after Stop";
}

TEST(WrittenPositionsTest, APartnersListWaitsForItsWritesACustomerForAnyones) {
  uint64_t applied = 0;
  WrittenPositions written([&] { return applied; });
  EXPECT_EQ(written.OfPartner("p1"), 0u);
  written.Record("p1", "c1", 10);
  written.Record("p2", "c1", 12);
  written.Record("p1", "c2", 11);
  written.Record("p1", "c1", 9);  // an older answer arriving late moves nothing back
  EXPECT_EQ(written.OfPartner("p1"), 11u);
  EXPECT_EQ(written.OfPartner("p2"), 12u);
  EXPECT_EQ(written.OfCustomer("c1"), 12u);
  EXPECT_EQ(written.OfCustomer("c2"), 11u);
  EXPECT_EQ(written.OfCustomer("c3"), 0u);
}

TEST(WrittenPositionsTest, CustomersEveryModelPassedAreDroppedNotTheOthers) {
  uint64_t applied = 0;
  WrittenPositions written([&] { return applied; });
  for (uint64_t i = 1; i <= 4096; ++i) written.Record("p", "c" + std::to_string(i), i);
  applied = 4000;
  written.Record("p", "late", 5000);  // over the bound: prunes
  EXPECT_EQ(written.OfCustomer("c1"), 0u);
  EXPECT_EQ(written.OfCustomer("c4000"), 0u);
  EXPECT_EQ(written.OfCustomer("c4001"), 4001u);
  EXPECT_EQ(written.OfCustomer("late"), 5000u);
  EXPECT_EQ(written.OfPartner("p"), 5000u);
}

TEST(VersionCacheTest, VersionsOnlyGrowAndAFullCacheEmpties) {
  VersionCache cache(3);
  EXPECT_FALSE(cache.Find("a").has_value());
  EXPECT_EQ(cache.Remember("a", 5), 5u);
  EXPECT_EQ(cache.Remember("a", 4), 5u);
  EXPECT_EQ(cache.Find("a"), 5u);
  cache.Remember("b", 1);
  cache.Remember("c", 1);
  cache.Remember("a", 6);  // known: no eviction
  EXPECT_EQ(cache.Find("b"), 1u);
  cache.Remember("d", 2);  // a fourth: emptied, then kept
  EXPECT_FALSE(cache.Find("a").has_value());
  EXPECT_EQ(cache.Find("d"), 2u);
}

}  // namespace
}  // namespace tally::server
