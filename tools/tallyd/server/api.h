// The Partner Center-compatible HTTP API: routes, bearer-token
// authentication, request bodies to domain commands (through the group-commit
// writer), read models to responses, and every error as
// {"code", "description", "data": [], "source": "tally"} with its status.
// Endpoints are listed in README.md ("HTTP API").
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "tools/tallyd/server/api_context.h"
#include "tools/tallyd/server/http_server.h"
#include "tools/tallyd/server/job_queue.h"
#include "tools/tallyd/server/metrics.h"
#include "tools/tallyd/server/rebuild_job.h"
#include "tools/tallyd/server/version_cache.h"
#include "tools/tallyd/server/written_positions.h"

namespace tally::server {

// Routing and the command path are here (api.cc); each resource's handlers
// in api_customers.cc, api_billing.cc, api_admin.cc, console.cc; /healthz and
// /metrics in server_status.cc.
// Thread-safety: Handle from any number of threads. Admin calls that block
// (erasure, the event browser, verification) run on a JobQueue, one at a time.
class Api final : public HttpHandler {
 public:
  explicit Api(ApiContext context);
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
  // The console (console.cc): GET /console/...
  void Console(Call& call);
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

  // The customer's stream version (its ETag): from the versions writes
  // through this API answered with, or the log's stream index once (the
  // log's StreamVersion walks the whole stream).
  Result<uint64_t> CustomerVersion(const std::string& customer_id);

  ApiContext ctx_;
  ApiMetrics metrics_;
  WrittenPositions written_;
  VersionCache versions_;
  static constexpr size_t kMaxAdminJobs = 16;
  JobQueue admin_jobs_{"tally-admin", kMaxAdminJobs};  // erasures, event browsing, verification
  RebuildJob rebuild_;                                 // POST /admin/v1/rebuild
};

}  // namespace tally::server
