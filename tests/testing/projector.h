// `tallyctl project --from-kafka` as a real background process, for tests,
// and the check that read models fed from Kafka by several processes of one
// group split the rows of a rebuild by partition.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/kafka/client.h"
#include "projections/kafka_feed.h"
#include "projections/projection.h"
#include "tests/testing/projection_rows.h"

namespace tally::testing {

// A projector in the background, its stdout and stderr to `out_file`.
inline pid_t StartProjector(const std::string& tallyctl, const std::string& bootstrap, const std::string& data,
                            const std::string& keys_from, bool exit_at_end, const std::string& out_file,
                            const std::string& topic = "tally.events") {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(out_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    std::vector<std::string> args = {tallyctl,  "project",   "--from-kafka", "--bootstrap", bootstrap, "--topic",
                                     topic,     "--data",    data,           "--keys-from", keys_from, "--batch",
                                     "50",      "--progress-lines"};
    if (exit_at_end) args.push_back("--exit-at-end");
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Waits (up to `seconds`) until `pred(file contents)`; false on timeout.
inline bool WaitForOutput(const std::string& path, const std::function<bool(const std::string&)>& pred,
                          int seconds = 60) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred(ReadFile(path))) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

inline int WaitExit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Each store in `data_folders` (a projector's --data) holds exactly the
// rows of `rebuilt` whose customers fall in the partitions it holds offsets
// for, and together they hold every partition once. Returns the partitions
// each holds.
inline std::vector<std::set<int32_t>> ExpectStoresSplitByPartition(projections::ProjectionStore& rebuilt,
                                                                   const std::vector<std::string>& data_folders,
                                                                   const std::string& topic, int32_t partitions) {
  std::vector<std::unique_ptr<projections::Projection>> models;
  for (const auto& m : projections::ModelNames()) {
    models.push_back(projections::MakeProjection(m, rebuilt, rebuilt.Active(m), nullptr));
  }
  const std::string own_keys = "\xff\xff";
  std::vector<std::set<int32_t>> held_by(data_folders.size());
  for (size_t f = 0; f < data_folders.size(); ++f) {
    std::set<int32_t>& held = held_by[f];
    auto store = projections::ProjectionStore::Open(data_folders[f] + "/projections", projections::ModelNames());
    if (!store.ok()) {
      ADD_FAILURE() << store.error().ToString();
      continue;
    }
    for (int32_t p = 0; p < partitions; ++p) {
      auto offset = (*store)->Get(*(*store)->Active("customer"), projections::KafkaOffsetKey(topic, p));
      EXPECT_TRUE(offset.ok());
      if (offset.ok() && offset->has_value()) held.insert(p);
    }
    EXPECT_FALSE(held.empty()) << data_folders[f];
    for (size_t i = 0; i < models.size(); ++i) {
      const std::string& m = models[i]->name();
      Rows expected;
      for (auto& row : DumpActive(rebuilt, m, own_keys)) {
        auto customer = models[i]->CustomerOfRow(row.first, row.second);
        if (!customer.has_value()) {
          ADD_FAILURE() << m << " row without a customer";
          continue;
        }
        if (held.count(kafka::PartitionFor(*customer, partitions)) > 0) expected.push_back(row);
      }
      const Rows got = DumpActive(**store, m, own_keys);
      EXPECT_EQ(got.size(), expected.size()) << data_folders[f] << " " << m;
      EXPECT_TRUE(got == expected) << data_folders[f] << " " << m << ": rows of other partitions, or stale ones";
    }
  }
  size_t total = 0;
  std::set<int32_t> all;
  for (const auto& held : held_by) {
    total += held.size();
    all.insert(held.begin(), held.end());
  }
  EXPECT_EQ(total, all.size()) << "a partition in two stores";
  EXPECT_EQ(all.size(), static_cast<size_t>(partitions)) << "a partition in no store";
  return held_by;
}

}  // namespace tally::testing
