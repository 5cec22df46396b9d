// Child process for crash_test: appends under load through the group-commit
// writer and prints "ack <request id> <first> <last>" for every request once
// it is acknowledged (i.e. durable). It never stops by itself: the test kills
// it with SIGKILL.
//
//   tally-crash-writer <log dir> <seed> <round> <in-flight>
//
// Request "r<round>-<n>" carries k = 1..3 events on stream customer-c<n % 50>;
// event i of k has quantity k*100 + i, so the test can tell whether a
// request is complete.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <thread>

#include "engine/group_commit_writer.h"
#include "engine/rocksdb_event_log.h"
#include "events/samples.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s DIR SEED ROUND INFLIGHT\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const uint64_t seed = std::strtoull(argv[2], nullptr, 10);
  const std::string round = argv[3];
  const int in_flight = std::atoi(argv[4]);
  auto log = tally::RocksDbEventLog::Open(dir);
  if (!log.ok()) {
    std::fprintf(stderr, "crash-writer: %s\n", log.error().ToString().c_str());
    return 2;
  }
  tally::GroupCommitWriter writer(**log);
  std::mutex mu;  // guards samples, rng and counter (callbacks run on the commit thread)
  tally::events::SampleEvents samples(seed);
  std::mt19937_64 rng(seed);
  uint64_t counter = 0;

  std::function<void()> send = [&] {
    tally::AppendRequest req;
    {
      std::lock_guard<std::mutex> lock(mu);
      const uint64_t n = counter++;
      req.request_id = "r" + round + "-" + std::to_string(n);
      req.fingerprint = req.request_id;
      const int k = 1 + static_cast<int>(rng() % 3);
      const std::string customer = "c" + std::to_string(n % 50);
      for (int i = 1; i <= k; ++i) {
        req.events.push_back(samples.SubscriptionCreated(customer, req.request_id, k * 100 + i));
      }
    }
    const std::string id = req.request_id;
    writer.Submit(std::move(req), [&, id](tally::Result<tally::AppendOutcome> r) {
      if (!r.ok()) {
        std::fprintf(stderr, "crash-writer: %s: %s\n", id.c_str(), r.error().ToString().c_str());
        std::_Exit(3);
      }
      // One write(2) per line: atomic on a pipe, so a kill never splits it.
      std::string line = "ack " + id + " " + std::to_string(r->first_position) + " " +
                         std::to_string(r->last_position) + "\n";
      if (write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        std::_Exit(4);
      }
      send();
    });
  };
  for (int i = 0; i < in_flight; ++i) send();
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}
