// The API's frame: routing, the command path (Run), read-your-writes,
// metrics, offers and the admin endpoint. The customer-facing resources are
// in api_customers.cc; the response shapes in responses.cc.
#include "tools/tallyd/server/api.h"

#include <pthread.h>

#include <charconv>

#include "tools/tallyd/server/api_call.h"
#include "tools/tallyd/server/responses.h"
#include "events/uuid.h"
#include "projections/as_of.h"

namespace tally::server {
// tools/tallyd/openapi.json, embedded at build time (embed_openapi.cmake).
std::string_view OpenApiText();

namespace {

constexpr size_t kMaxHeaderValue = 128;

}  // namespace


Response Api::Reject(ErrorCode code, const std::string& message, unsigned version) {
  Call call;
  call.request.version(version);
  Response r = call.Fail(code, message);
  r.keep_alive(false);
  return r;
}

void Api::Handle(Request request, Respond respond, Post post) {
  Call call;
  call.request = std::move(request);
  call.respond = std::move(respond);
  call.post = std::move(post);
  call.metrics = &metrics_;
  // Echoed headers, bounded.
  for (auto [name, target] : {std::pair{"MS-CorrelationId", &call.correlation_id}, std::pair{"MS-RequestId", &call.request_id}}) {
    auto it = call.request.find(name);
    if (it == call.request.end()) continue;
    if (it->value().size() > kMaxHeaderValue) {
      return call.Error(ErrorCode::kInvalidField, std::string(name) + " is longer than 128 characters");
    }
    *target = std::string(it->value());
  }
  if (call.correlation_id.empty()) {
    call.correlation_id = events::FormatUuidV4(std::hash<std::string>()(call.request_id) ^ reinterpret_cast<uintptr_t>(&call),
                                               static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  }
  auto target = ParseTarget(SV(call.request.target()));
  if (!target.ok()) return call.Error(target.error());
  call.path = std::move(target->path);
  call.query = std::move(target->query);
  Route(call);
}

void Api::Route(Call& call) {
  const auto& p = call.path;
  if (p.size() == 1 && p[0] == "healthz") {
    if (call.method() != http::verb::get) return call.Error(ErrorCode::kMethodNotAllowed, "GET only");
    json models = json::array();
    for (const auto& m : ctx_.runner->Statuses()) {
      models.push_back({{"model", m.model}, {"position", m.checkpoint.position}, {"lag", m.lag()},
                        {"failed", m.failed}});
    }
    // Reads go on while writes are refused (a full disk): said here, with why.
    const std::optional<tally::Error> refused = ctx_.log->WriteFailure();
    json writes = {{"accepted", !refused.has_value()}};
    if (refused) {
      writes["code"] = static_cast<int32_t>(refused->code());
      writes["reason"] = refused->message();
    }
    json body = {{"status", refused ? "degraded" : "ok"}, {"head", ctx_.log->Head()},
                 {"instance", domain::InstanceName(ctx_.instance)}, {"writes", writes}, {"readModels", models},
                 {"kafka_bootstrap", ctx_.kafka_bootstrap}};
    if (ctx_.relay != nullptr) {
      const kafka::RelayStatus r = ctx_.relay->Status();
      body["kafka"] = {{"topic", ctx_.kafka_topic}, {"published", r.published}, {"connected", r.connected},
                       {"lagSeconds", r.lag_seconds}, {"lastError", r.last_error},
                       // false once a partition lost its first records: a consumer
                       // from the start would miss events (README, "Kafka").
                       {"holdsWholeLog", r.truncated.empty()}, {"truncatedPartitions", r.truncated}};
    }
    return call.Answer(call.Make(http::status::ok, body));
  }
  if (p.size() == 1 && p[0] == "metrics") {
    if (call.method() != http::verb::get) return call.Error(ErrorCode::kMethodNotAllowed, "GET only");
    Response r(http::status::ok, call.request.version());
    r.set(http::field::server, "tally");
    r.set(http::field::content_type, "text/plain; version=0.0.4");
    r.body() = RenderMetrics();
    return call.Answer(std::move(r));
  }
  if (p.size() == 1 && p[0] == "openapi.json") {
    if (call.method() != http::verb::get) return call.Error(ErrorCode::kMethodNotAllowed, "GET only");
    return call.Answer(call.MakeText(http::status::ok, std::string(OpenApiText())));
  }
  if (!p.empty() && p[0] == "admin") return Admin(call);
  if (!p.empty() && p[0] == "console") return Console(call);
  if (p.empty() || p[0] != "v1") return call.Error(ErrorCode::kRouteNotFound, "no such endpoint");
  // Everything under /v1 needs a partner's token.
  auto auth = call.request.find(http::field::authorization);
  std::string_view header = auth == call.request.end() ? std::string_view() : SV(auth->value());
  if (!header.starts_with("Bearer ")) {
    return call.Error(ErrorCode::kUnauthorized, "send Authorization: Bearer <partner token>");
  }
  auto partner = ctx_.partners->Authenticate(header.substr(7));
  if (!partner) return call.Error(ErrorCode::kUnauthorized, "unknown token");
  call.partner = *partner;
  if (p.size() >= 2 && p[1] == "offers") return Offers(call);
  if (p.size() == 2 && p[1] == "agreements") return AgreementMetadata(call);
  if (p.size() == 4 && p[1] == "invoices" && p[2] == "unbilled" && p[3] == "lineitems") {
    return UnbilledLineItems(call, "");
  }
  if (p.size() == 3 && p[1] == "domains") {
    if (call.method() != http::verb::head) return call.Error(ErrorCode::kMethodNotAllowed, "HEAD only");
    auto free = ctx_.processor->IsDomainAvailable(p[2]);
    if (!free.ok()) return call.Error(free.error());
    return call.Answer(call.Make(*free ? http::status::not_found : http::status::ok, json::object()));
  }
  if (p.size() >= 2 && p[1] == "customers") {
    if (p.size() == 2) return Customers(call);
    if (p.size() == 3 || (p.size() == 5 && p[3] == "profiles" && (p[4] == "billing" || p[4] == "company"))) {
      return Customer(call);
    }
    if (p.size() >= 4 && p[3] == "orders") return Orders(call);
    if (p.size() == 4 && p[3] == "agreements") return Agreements(call);
    if (p.size() == 6 && p[3] == "invoices" && p[4] == "unbilled" && p[5] == "lineitems") {
      return UnbilledLineItems(call, std::string(p[2]));
    }
    if (p.size() >= 4 && (p[3] == "subscriptions" || p[3] == "subscribedskus")) return Subscriptions(call);
    if (p.size() >= 4 && (p[3] == "relationshiprequests" || p[3] == "partners" || p[3] == "relationship")) {
      return Relationships(call);
    }
  }
  call.Error(ErrorCode::kRouteNotFound, "no such endpoint");
}

Api::~Api() { Stop(); }

void Api::Stop() {
  // Once stopping, no job starts the worker: it is taken out and joined.
  std::thread admin;
  {
    MutexLock lock(&admin_mu_);
    admin_stopping_ = true;
    admin = std::move(admin_thread_);
  }
  admin_cv_.SignalAll();
  if (admin.joinable()) admin.join();
  std::thread rebuild;
  {
    MutexLock lock(&rebuild_mu_);
    admin_stopping_rebuilds_ = true;
    rebuild = std::move(rebuild_thread_);
  }
  if (rebuild.joinable()) rebuild.join();
}

bool Api::RunAdminJob(std::function<void()> job) {
  {
    MutexLock lock(&admin_mu_);
    if (admin_stopping_ || admin_jobs_.size() >= kMaxAdminJobs) return false;
    admin_jobs_.push_back(std::move(job));
    if (!admin_thread_.joinable()) {
      admin_thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "tally-admin");
        MutexLock lock(&admin_mu_);
        for (;;) {
          while (!admin_stopping_ && admin_jobs_.empty()) admin_cv_.Wait(&admin_mu_);
          if (admin_jobs_.empty()) return;  // stopping, and every accepted job is done
          auto next = std::move(admin_jobs_.front());
          admin_jobs_.pop_front();
          lock.Unlock();
          next();
          lock.Lock();
        }
      });
    }
  }
  admin_cv_.Signal();
  return true;
}

void Api::AfterReads(Call& call, const std::string& customer_id, std::function<void(Call&)> then) {
  uint64_t position = 0;
  if (auto it = call.query.find("minPosition"); it != call.query.end()) {
    const auto& v = it->second;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), position);
    if (ec != std::errc() || end != v.data() + v.size()) {
      return call.Error(ErrorCode::kInvalidQuery, "minPosition must be a whole number");
    }
    // A position the log does not have yet would only be waited for until
    // the deadline: answered now instead.
    const uint64_t head = ctx_.log->Head();
    if (position > head) {
      return call.Error(ErrorCode::kInvalidQuery, "minPosition " + v + " is beyond the log's head (" +
                                                      std::to_string(head) + "): use a position a write answered with");
    }
  }
  {
    MutexLock lock(&mu_);
    if (customer_id.empty()) {  // a list: everything this partner wrote
      auto it = last_write_.find(call.partner.id);
      if (it != last_write_.end()) position = std::max(position, it->second);
    } else {  // one customer: every write to it, the caller's among them
      auto c = last_customer_write_.find(customer_id);
      if (c != last_customer_write_.end()) position = std::max(position, c->second);
    }
  }
  if (position == 0 || ctx_.runner->Applied(position)) return then(call);
  // Parked: the runner (or its timer, at the deadline) resumes it on the
  // connection's own thread. Served either way: after the deadline, with
  // what the read models have.
  auto shared = std::make_shared<Call>(std::move(call));
  ctx_.runner->WhenApplied(position, std::chrono::steady_clock::now() + ctx_.read_wait,
                           [shared, then = std::move(then)](bool) {
                             Post post = shared->post;
                             post([shared, then] { then(*shared); });
                           });
}

void Api::Run(Call& call, domain::Command command, std::function<Response(const CommandOutcome&, const Call&)> ok) {
  RunThen(call, std::move(command),
          [ok = std::move(ok)](const CommandOutcome& o, Call& c) { c.Answer(ok(o, c)); });
}

void Api::RunThen(Call& call, domain::Command command, std::function<void(const CommandOutcome&, Call&)> then) {
  domain::CommandMeta meta{call.partner.id, call.request_id, call.correlation_id};
  const char* type = domain::CommandName(command);
  const auto submitted = std::chrono::steady_clock::now();
  auto shared = std::make_shared<Call>(std::move(call));
  ctx_.writer->Submit(ctx_.processor->Task(std::move(command), std::move(meta),
                                           [this, shared, type, submitted, then = std::move(then)](Result<CommandOutcome> r) {
                                             metrics_.RecordCommand(
                                                 type, r.ok() ? std::string_view("ok") : ErrorCodeName(r.error().code()),
                                                 std::chrono::steady_clock::now() - submitted);
                                             if (!r.ok()) return shared->Error(r.error());
                                             if (r->last_position > 0) {
                                               MutexLock lock(&mu_);
                                               uint64_t& last = last_write_[shared->partner.id];
                                               last = std::max(last, r->last_position);
                                               uint64_t& customer = last_customer_write_[r->customer_id];
                                               customer = std::max(customer, r->last_position);
                                               if (last_customer_write_.size() > prune_above_) PruneApplied();
                                               RememberVersionLocked(r->customer_id, r->version);
                                             }
                                             then(*r, *shared);
                                           }));
}

void Api::RememberVersionLocked(const std::string& customer_id, uint64_t version) {
  if (customer_versions_.size() >= kMaxCachedVersions && !customer_versions_.count(customer_id)) {
    customer_versions_.clear();  // a cache: emptied rather than grown without bound
  }
  uint64_t& v = customer_versions_[customer_id];
  v = std::max(v, version);
}

Result<uint64_t> Api::CustomerVersion(const std::string& customer_id) {
  {
    MutexLock lock(&mu_);
    if (auto it = customer_versions_.find(customer_id); it != customer_versions_.end()) return it->second;
  }
  // Not written since the cache last saw it: walk the stream's index once.
  auto v = ctx_.log->StreamVersion(domain::CustomerStreamId(customer_id));
  if (!v.ok()) return v.error();
  MutexLock lock(&mu_);
  RememberVersionLocked(customer_id, *v);
  return customer_versions_[customer_id];
}

void Api::PruneApplied() {
  // Entries every read model has passed make no read wait: drop them.
  uint64_t applied = UINT64_MAX;
  for (const auto& m : ctx_.runner->Statuses()) applied = std::min(applied, m.checkpoint.position);
  std::erase_if(last_customer_write_, [applied](const auto& entry) { return entry.second <= applied; });
  prune_above_ = std::max<size_t>(4096, last_customer_write_.size() * 2);
}

std::string Api::RenderMetrics() const {
  std::string out;
  metrics_.Render(out);
  const GroupCommitStats w = ctx_.writer->Stats();
  AppendHelp(out, "tally_group_commit_syncs_total", "counter", "Synced writes of the group-commit writer.");
  AppendSample(out, "tally_group_commit_syncs_total", "", static_cast<double>(w.commits));
  AppendHelp(out, "tally_group_commit_requests_total", "counter", "Commands (and appends) the writer answered.");
  AppendSample(out, "tally_group_commit_requests_total", "", static_cast<double>(w.requests));
  AppendHelp(out, "tally_group_commit_failed_requests_total", "counter", "Requests the writer answered with an error.");
  AppendSample(out, "tally_group_commit_failed_requests_total", "", static_cast<double>(w.failed_requests));
  AppendHelp(out, "tally_events_appended_total", "counter", "Events made durable by the writer since the start.");
  AppendSample(out, "tally_events_appended_total", "", static_cast<double>(w.events));
  AppendHelp(out, "tally_group_commit_batch_size", "histogram", "Requests made durable by one sync.");
  uint64_t cumulative = 0, total = 0;
  for (size_t i = 0; i < w.commit_sizes.size(); ++i) {
    cumulative += w.commit_sizes[i];
    const uint64_t bound = GroupCommitStats::kCommitSizeBounds[i];
    AppendSample(out, "tally_group_commit_batch_size_bucket",
                 bound == UINT64_MAX ? std::string("le=\"+Inf\"") : "le=\"" + std::to_string(bound) + "\"",
                 static_cast<double>(cumulative));
  }
  total = cumulative;
  AppendSample(out, "tally_group_commit_batch_size_sum", "", static_cast<double>(w.requests));
  AppendSample(out, "tally_group_commit_batch_size_count", "", static_cast<double>(total));
  AppendHelp(out, "tally_customer_states_cached", "gauge",
             "Customers' states in memory for deciding commands (tallyd --customer-cache bounds them).");
  AppendSample(out, "tally_customer_states_cached", "", static_cast<double>(ctx_.processor->cached_customers()));
  AppendHelp(out, "tally_customer_states_loaded_total", "counter",
             "Customers' states read from the log because they were not in memory.");
  AppendSample(out, "tally_customer_states_loaded_total", "", static_cast<double>(ctx_.processor->customers_loaded()));
  const uint64_t head = ctx_.log->Head();
  AppendHelp(out, "tally_log_head_position", "gauge", "The event log's last position.");
  AppendSample(out, "tally_log_head_position", "", static_cast<double>(head));
  AppendHelp(out, "tally_read_model_position", "gauge", "The last position applied to a read model.");
  const auto statuses = ctx_.runner->Statuses();
  for (const auto& m : statuses) {
    AppendSample(out, "tally_read_model_position", "model=\"" + m.model + "\"", static_cast<double>(m.checkpoint.position));
  }
  AppendHelp(out, "tally_read_model_lag_events", "gauge", "Log head minus the read model's position.");
  for (const auto& m : statuses) {
    AppendSample(out, "tally_read_model_lag_events", "model=\"" + m.model + "\"", static_cast<double>(m.lag()));
  }
  AppendHelp(out, "tally_read_model_skipped_unknown_total", "counter", "Events of unknown types a read model skipped.");
  for (const auto& m : statuses) {
    AppendSample(out, "tally_read_model_skipped_unknown_total", "model=\"" + m.model + "\"",
                 static_cast<double>(m.checkpoint.skipped_unknown));
  }
  AppendHelp(out, "tally_read_model_failed", "gauge", "1 when a read model stopped at an event it cannot apply.");
  for (const auto& m : statuses) {
    AppendSample(out, "tally_read_model_failed", "model=\"" + m.model + "\"", m.failed ? 1 : 0);
  }
  if (ctx_.relay != nullptr) {
    const kafka::RelayStatus r = ctx_.relay->Status();
    AppendHelp(out, "tally_kafka_relay_published_position", "gauge",
               "Every event up to this position is acknowledged by Kafka.");
    AppendSample(out, "tally_kafka_relay_published_position", "", static_cast<double>(r.published));
    AppendHelp(out, "tally_kafka_relay_lag_events", "gauge", "Log head minus the relay's published position.");
    AppendSample(out, "tally_kafka_relay_lag_events", "", static_cast<double>(head > r.published ? head - r.published : 0));
    AppendHelp(out, "tally_kafka_relay_lag_seconds", "gauge", "Age of the oldest event Kafka has not acknowledged.");
    AppendSample(out, "tally_kafka_relay_lag_seconds", "", r.lag_seconds);
    AppendHelp(out, "tally_kafka_relay_connected", "gauge", "1 when the relay has resumed and is producing.");
    AppendSample(out, "tally_kafka_relay_connected", "", r.connected ? 1 : 0);
    AppendHelp(out, "tally_kafka_relay_sent_total", "counter", "Records Kafka acknowledged since start.");
    AppendSample(out, "tally_kafka_relay_sent_total", "", static_cast<double>(r.sent));
    AppendHelp(out, "tally_kafka_topic_truncated", "gauge",
               "1 when a partition of the topic no longer starts at offset 0 (records were dropped).");
    AppendSample(out, "tally_kafka_topic_truncated", "", r.truncated.empty() ? 0 : 1);
    AppendHelp(out, "tally_kafka_relay_reconnects_total", "counter", "Reconnects after an error since start.");
    AppendSample(out, "tally_kafka_relay_reconnects_total", "", static_cast<double>(r.reconnects));
  }
  if (ctx_.more_metrics) ctx_.more_metrics(out);
  return out;
}

void Api::Offers(Call& call) {
  const auto& p = call.path;
  if (p.size() > 4 || (p.size() == 4 && p[3] != "addons")) return call.Error(ErrorCode::kRouteNotFound, "no such endpoint");
  if (call.method() != http::verb::get) return call.Error(ErrorCode::kMethodNotAllowed, "GET only");
  if (p.size() == 2) {
    json items = json::array();
    for (const auto* o : ctx_.catalog->ForInstance(ctx_.instance)) items.push_back(OfferJson(*o, ctx_.catalog->currency(), ctx_.log->NowMicros()));
    return call.Answer(call.Make(http::status::ok, {{"totalCount", items.size()}, {"items", items}}));
  }
  const domain::Offer* offer = ctx_.catalog->Find(p[2]);
  if (offer == nullptr || offer->instance != ctx_.instance) return call.Error(ErrorCode::kNotFound, "no such offer");
  if (p.size() == 3) return call.Answer(call.Make(http::status::ok, OfferJson(*offer, ctx_.catalog->currency(), ctx_.log->NowMicros())));
  if (p.size() == 4 && p[3] == "addons") {
    json items = json::array();
    for (const auto* o : ctx_.catalog->AddOnsOf(offer->id)) items.push_back(OfferJson(*o, ctx_.catalog->currency(), ctx_.log->NowMicros()));
    return call.Answer(call.Make(http::status::ok, {{"totalCount", items.size()}, {"items", items}}));
  }
  call.Error(ErrorCode::kRouteNotFound, "no such endpoint");
}


}  // namespace tally::server
