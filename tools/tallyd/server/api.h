// The Partner Center-compatible HTTP API: routes, bearer-token
// authentication, request bodies to domain commands (through the group-commit
// writer), read models to responses, and every error as
// {"code", "description", "data": [], "source": "tally"} with its status.
// Endpoints are listed in README.md ("HTTP API").
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <unordered_map>
#include <mutex>

#include "engine/base/mutex.h"
#include <string>

#include <nlohmann/json.hpp>

#include "engine/command_processor.h"
#include "engine/domain/catalog.h"
#include "engine/group_commit_writer.h"
#include "engine/kafka/relay.h"
#include "tools/tallyd/server/http_server.h"
#include "tools/tallyd/server/metrics.h"
#include "tools/tallyd/server/partners.h"
#include "projections/runner.h"
#include "projections/store.h"

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
  std::function<Status(const std::vector<std::string>& models,
                       const std::function<void(uint64_t position, uint64_t head)>& progress)>
      rebuild;
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

// Thread-safety: Handle from any number of threads. Admin calls that block
// (erasure) run on the Api's own worker thread, one at a time.
class Api final : public HttpHandler {
 public:
  explicit Api(ApiContext context) : ctx_(context) {}
  ~Api() override;  // Stop()
  // Finishes the admin calls accepted so far (their answers are sent if the
  // HTTP server still runs) and a rebuild that runs, and refuses new ones
  // with 503. Call before the HttpServer is destroyed.
  void Stop();
  void Handle(Request request, Respond respond, Post post) override;
  Response Reject(ErrorCode code, const std::string& message, unsigned version) override;

 private:
  struct Call;  // one request being handled (api.cc)
  void Route(Call& call);
  void Customers(Call& call);
  void ListCustomers(Call& call);  // GET /v1/customers, once reads are ready
  void AddCustomer(Call& call);    // POST /v1/customers
  void ListOrders(Call& call, const std::string& customer_id);
  void ReadSubscriptions(Call& call, const std::string& customer_id);
  // GET .../partners, or with `invitations` .../relationshiprequests (the pending ones).
  void ListPartners(Call& call, const std::string& customer_id, bool invitations);
  void Customer(Call& call);
  void Orders(Call& call);
  void CreateOrder(Call& call, const std::string& customer_id);                           // POST .../orders
  void PatchOrder(Call& call, const std::string& customer_id, const std::string& order_id);  // an add-on line
  // Answers with the order as GET shows it, once the read models have the
  // caller's writes (`status` 201 or 200 after a write); `fallback` if they
  // do not by the deadline.
  void RespondOrder(Call& call, const std::string& customer_id, const std::string& order_id, http::status status,
                    nlohmann::json fallback);
  void Subscriptions(Call& call);
  void Relationships(Call& call);
  void Offers(Call& call);
  void Agreements(Call& call);          // /v1/customers/{id}/agreements
  void AgreementMetadata(Call& call);   // GET /v1/agreements
  // GET /v1/invoices/unbilled/lineitems (customer_id empty) and
  // /v1/customers/{id}/invoices/unbilled/lineitems: the billing model's lines.
  void UnbilledLineItems(Call& call, const std::string& customer_id);
  // The operators' API (api_admin.cc).
  void Admin(Call& call);  // /admin/v1/..., operator tokens
  void AdminClock(Call& call);  // /admin/v1/clock
  void AdminForget(Call& call, const std::string& operator_id);   // POST /admin/v1/customers/{id}/forget
  void AdminRebuild(Call& call, const std::string& operator_id);  // /admin/v1/rebuild
  void AdminEvents(Call& call);  // GET /admin/v1/events
  void AdminVerify(Call& call);  // POST /admin/v1/verify
  nlohmann::json RebuildStateJson() EXCLUDES(rebuild_mu_);
  // The console (console.cc): GET /console/...
  void Console(Call& call);
  // Queues `job` for the admin worker; false (and nothing queued) when
  // stopping or kMaxAdminJobs are waiting.
  bool RunAdminJob(std::function<void()> job);
  static constexpr size_t kMaxAdminJobs = 16;
  // Submits `command`; answers with `ok(outcome)` once durable, or the error.
  void Run(Call& call, domain::Command command,
           std::function<Response(const CommandOutcome&, const Call&)> ok);
  // The same, with `then` to answer (it may park the call: AfterReads).
  void RunThen(Call& call, domain::Command command, std::function<void(const CommandOutcome&, Call&)> then);
  // Runs `then` once the read models have any ?minPosition and: for one
  // customer's data, the last write to `customer_id` by anyone (the
  // caller's own, or an acceptance an invited partner wants to see); for a
  // list (`customer_id` empty), the caller's last write; or once
  // ctx_.read_wait has passed (then on what they have). Inline when nothing
  // is to wait for; otherwise the call is parked (no thread waits) and
  // resumed on its connection's I/O thread. A malformed minPosition, or one
  // beyond the log's head, is answered at once (400).
  void AfterReads(Call& call, const std::string& customer_id, std::function<void(Call&)> then);

  std::string RenderMetrics() const;  // GET /metrics
  // Drops last_customer_write_ entries the read models have passed. Requires mu_.
  void PruneApplied() REQUIRES(mu_);
  // The customer's stream version (its ETag): from the versions writes
  // through this API answered with, or the log's stream index once (the
  // log's StreamVersion walks the whole stream).
  Result<uint64_t> CustomerVersion(const std::string& customer_id);
  void RememberVersionLocked(const std::string& customer_id, uint64_t version) REQUIRES(mu_);
  static constexpr size_t kMaxCachedVersions = 200'000;

  ApiContext ctx_;
  ApiMetrics metrics_;
  Mutex mu_;
  std::map<std::string, uint64_t> last_write_ GUARDED_BY(mu_);           // partner -> last position written
  std::map<std::string, uint64_t> last_customer_write_ GUARDED_BY(mu_);  // customer -> last position written
  size_t prune_above_ GUARDED_BY(mu_) = 4096;
  std::unordered_map<std::string, uint64_t> customer_versions_ GUARDED_BY(mu_);  // ETag cache

  Mutex admin_mu_;
  CondVar admin_cv_;  // with admin_mu_
  std::deque<std::function<void()>> admin_jobs_ GUARDED_BY(admin_mu_);
  bool admin_stopping_ GUARDED_BY(admin_mu_) = false;
  std::thread admin_thread_ GUARDED_BY(admin_mu_);  // started with the first job

  // The last rebuild asked for through POST /admin/v1/rebuild.
  struct RebuildProgress {
    std::string state = "idle";  // idle, running, done, failed
    nlohmann::json models = nlohmann::json::array();
    uint64_t position = 0, head = 0;
    std::string started_at, finished_at, error;
  };
  Mutex rebuild_mu_;
  RebuildProgress rebuild_ GUARDED_BY(rebuild_mu_);
  bool admin_stopping_rebuilds_ GUARDED_BY(rebuild_mu_) = false;
  std::thread rebuild_thread_ GUARDED_BY(rebuild_mu_);  // joined by Stop
};

}  // namespace tally::server
