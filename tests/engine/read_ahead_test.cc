// ReadAhead: one helper thread for every read, chunks handed over whole,
// buffers reused, and no read outliving its owner.
#include "engine/base/read_ahead.h"

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace tally {
namespace {

struct Numbers {
  std::vector<int> values;
  std::thread::id reader;
};

TEST(ReadAheadTest, EveryReadRunsOnTheSameHelperThreadAndIsHandedOverWhole) {
  ReadAhead<Numbers> ahead("test-read");
  EXPECT_FALSE(ahead.pending());
  Numbers storage;
  std::set<std::thread::id> readers;
  const void* buffer = nullptr;
  for (int round = 0; round < 50; ++round) {
    ASSERT_TRUE(ahead.Start(
        [round](Numbers& n) {
          n.values.clear();
          for (int i = 0; i < 1000; ++i) n.values.push_back(round * 1000 + i);
          n.reader = std::this_thread::get_id();
        },
        storage));
    EXPECT_TRUE(ahead.pending());
    Numbers got = ahead.Take();
    EXPECT_FALSE(ahead.pending());
    ASSERT_EQ(got.values.size(), 1000u);
    EXPECT_EQ(got.values.front(), round * 1000);
    EXPECT_EQ(got.values.back(), round * 1000 + 999);
    EXPECT_NE(got.reader, std::this_thread::get_id());
    readers.insert(got.reader);
    if (round == 0) buffer = got.values.data();
    EXPECT_EQ(got.values.data(), buffer) << "the storage handed in was not the one filled";
    storage = std::move(got);  // the next read reuses its buffer
  }
  EXPECT_EQ(readers.size(), 1u) << "a thread per read";
}

TEST(ReadAheadTest, TheOwnerGoingAwayWaitsForTheReadInProgress) {
  std::atomic<bool> finished{false};
  {
    ReadAhead<Numbers> ahead("test-read");
    Numbers storage;
    ASSERT_TRUE(ahead.Start(
        [&](Numbers& n) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          n.values.push_back(1);
          finished = true;
        },
        storage));
  }  // not taken
  EXPECT_TRUE(finished);
}

}  // namespace
}  // namespace tally
