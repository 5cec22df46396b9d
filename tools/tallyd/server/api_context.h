// What the API works with: the engine's parts it calls, and tallyd's hooks
// (erasure, rebuilds, the simulated clock, more metrics).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "engine/clock.h"
#include "engine/command_processor.h"
#include "engine/domain/catalog.h"
#include "engine/event_log.h"
#include "engine/group_commit_writer.h"
#include "engine/kafka/relay.h"
#include "projections/runner.h"
#include "projections/store.h"
#include "tools/tallyd/server/partners.h"
#include "tools/tallyd/server/rebuild_job.h"

namespace tally::server {

// What an operator's erasure did (POST /admin/v1/customers/{id}/forget).
struct ErasureResult {
  std::string customer_id;
  uint64_t position = 0;       // of the CustomerPersonalDataErased event
  bool erased_before = false;  // nothing appended: erased earlier
};

// Erases a customer's personal data (`customer`: id or domain) and returns
// once it is durable, applied by the customer read model and older copies
// are purged; may block for seconds. tallyd: ControlServer::ForgetCustomer.
using ForgetFunction = std::function<Result<ErasureResult>(const std::string& customer, const std::string& reason,
                                                           const domain::CommandMeta& meta)>;

// What the API works with; none owned, all must outlive the Api.
struct ApiContext {
  CommandProcessor* processor = nullptr;
  GroupCommitWriter* writer = nullptr;
  const domain::Catalog* catalog = nullptr;
  domain::Instance instance = domain::Instance::kGlobal;
  const EventLog* log = nullptr;
  projections::ProjectionStore* store = nullptr;
  projections::ProjectionRunner* runner = nullptr;
  PartnerDirectory* partners = nullptr;
  // Operators' tokens, for /admin (null: no admin API), and what their
  // erasure calls (null: answered 404).
  PartnerDirectory* operators = nullptr;
  ForgetFunction forget;
  // Rebuilds read models (names, or "all") and hands them over to the
  // runner, calling `progress` after each batch; blocks until done (null:
  // POST /admin/v1/rebuild answers 404). tallyd: ControlServer::RebuildModels.
  RebuildFunction rebuild;
  // The Kafka relay (null: none) and where its cluster is, for /healthz.
  const kafka::Relay* relay = nullptr;
  std::string kafka_bootstrap;
  std::string kafka_topic;
  // tallyd --clock simulated:...: the clock an operator moves with
  // POST /admin/v1/clock (null: the real clock; the endpoint answers 404).
  SimulatedClock* simulated_clock = nullptr;
  // Called after the simulated clock moved (tallyd: the scheduler's Wake).
  std::function<void()> on_clock_moved;
  // Appends more Prometheus text to GET /metrics (tallyd: the scheduler's).
  std::function<void(std::string&)> more_metrics;
  // How long a read waits for the read models to reach the caller's last
  // write (read-your-writes) or ?minPosition=N.
  std::chrono::milliseconds read_wait{2000};
};

}  // namespace tally::server
