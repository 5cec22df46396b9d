// Serves tallyd's control socket (tools/common/control.h) on its own thread.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "engine/base/mutex.h"
#include "engine/base/result.h"
#include "engine/command_processor.h"
#include "engine/group_commit_writer.h"
#include "engine/kafka/relay.h"
#include "engine/rocksdb_event_log.h"
#include "projections/runner.h"
#include "tools/common/forget.h"

namespace tally {

// Thread-safety: constructed and destroyed on one thread; requests are
// served one at a time on the server's thread; ForgetCustomer from any. `source`, `store` and
// `runner` must outlive it.
class ControlServer {
 public:
  ControlServer(RocksDbEventLog& log, projections::EventSource& source, projections::ProjectionStore& store,
                projections::ProjectionRunner& runner)
      : log_(log), source_(source), store_(store), runner_(runner) {}
  ~ControlServer();  // Stop()

  // The Kafka relay whose state "relay" reports (must outlive the server).
  void SetRelay(const kafka::Relay* relay, std::string topic, std::string bootstrap) {
    relay_ = relay;
    relay_topic_ = std::move(topic);
    relay_bootstrap_ = std::move(bootstrap);
  }

  // The command pipeline "forget" submits to (both must outlive the server).
  void SetCommands(CommandProcessor& processor, GroupCommitWriter& writer) {
    processor_ = &processor;
    writer_ = &writer;
  }

  // Erases `customer`'s personal data (id or domain): ForgetCustomer with
  // `meta` (its partner id is set to domain::kOperatorId), then waits until
  // the customer read model applied it and purges the copies RocksDB still
  // holds. Blocks (seconds: a flush and compactions); erasures run one at a
  // time. kCustomerNotFound for an unknown customer; kBusy when the read
  // model did not apply the erasure within 30 s (the key is destroyed; a
  // retry finds it erased before and purges again). Any thread; needs
  // SetCommands.
  Result<tools::ForgetResult> ForgetCustomer(const std::string& customer, const std::string& reason,
                                             domain::CommandMeta meta);

  // Rebuilds `models` (read model names, or "all") beside the live copies
  // and hands them over to the runner (projections::Rebuild), calling
  // `progress` after each batch. One rebuild at a time, whoever asks (the
  // control socket or the HTTP admin API): another waits for it. Blocks for
  // as long as the rebuild takes. kInvalidArgument for an unknown name. Any
  // thread.
  Status RebuildModels(std::vector<std::string> models,
                       const std::function<void(uint64_t position, uint64_t head)>& progress);

  // Listens on `path` (a stale socket file there is replaced).
  Status Start(const std::string& path);
  // Stops accepting, waits for a request being served, removes the socket.
  void Stop();

 private:
  void Serve();
  void Handle(int fd);
  void Rebuild(int fd, std::vector<std::string> models);
  void Backup(int fd, const std::string& dir);
  void RelayState(int fd);
  void Forget(int fd, const std::string& customer, const std::string& reason);

  RocksDbEventLog& log_;
  projections::EventSource& source_;
  projections::ProjectionStore& store_;
  projections::ProjectionRunner& runner_;
  const kafka::Relay* relay_ = nullptr;
  CommandProcessor* processor_ = nullptr;
  GroupCommitWriter* writer_ = nullptr;
  std::string relay_topic_, relay_bootstrap_;
  Mutex forget_mu_;   // one erasure at a time
  Mutex rebuild_mu_;  // one rebuild at a time
  std::string path_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace tally
