#include "engine/server/api.h"

#include <pthread.h>

#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "engine/domain/password.h"
#include "engine/server/json_input.h"
#include "engine/server/json_writer.h"
#include "engine/server/metrics.h"
#include "engine/server/request.h"
#include "engine/server/responses.h"
#include "events/uuid.h"
#include "projections/as_of.h"
#include "projections/customer/customer.h"
#include "projections/license/license.h"
#include "projections/relationship/relationship.h"

namespace tally::server {
namespace {

using nlohmann::json;

constexpr size_t kMaxHeaderValue = 128;

std::string_view SV(boost::beast::string_view s) { return {s.data(), s.size()}; }  // MS-RequestId, MS-CorrelationId, If-Match

}  // namespace

// One request being handled.
struct Api::Call {
  Request request;
  Respond respond;
  std::vector<std::string> path;             // decoded segments
  std::map<std::string, std::string> query;  // decoded
  Partner partner;
  std::string request_id, correlation_id;
  ApiMetrics* metrics = nullptr;  // records the answer, when set
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  http::verb method() const { return request.method(); }

  Response Make(http::status status, const json& body) const {
    return MakeText(status, request.method() != http::verb::head ? body.dump() : std::string());
  }
  // `body`: JSON text (JsonWriter's).
  Response MakeText(http::status status, std::string body) const {
    Response r(status, request.version());
    r.set(http::field::server, "tally");
    r.set(http::field::content_type, "application/json");
    if (!correlation_id.empty()) r.set("MS-CorrelationId", correlation_id);
    if (!request_id.empty()) r.set("MS-RequestId", request_id);
    if (request.method() != http::verb::head) r.body() = std::move(body);
    return r;
  }
  Response Fail(ErrorCode code, const std::string& message) const {
    return Make(static_cast<http::status>(HttpStatus(code)),
                json{{"code", static_cast<int32_t>(code)}, {"description", message}, {"data", json::array()},
                     {"source", "tally"}});
  }
  void Answer(Response r) {
    if (metrics != nullptr) {
      const auto verb = request.method();
      metrics->RecordRequest(verb == http::verb::unknown ? "other" : SV(http::to_string(verb)), r.result_int(),
                             std::chrono::steady_clock::now() - start);
    }
    respond(std::move(r));
  }
  void Error(ErrorCode code, const std::string& message) { Answer(Fail(code, message)); }
  void Error(const tally::Error& e) { Error(e.code(), e.message()); }
};

Response Api::Reject(ErrorCode code, const std::string& message, unsigned version) {
  Call call;
  call.request.version(version);
  Response r = call.Fail(code, message);
  r.keep_alive(false);
  return r;
}

void Api::Handle(Request request, Respond respond) {
  Call call;
  call.request = std::move(request);
  call.respond = std::move(respond);
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
    json body = {{"status", "ok"}, {"head", ctx_.log->Head()},
                 {"instance", domain::InstanceName(ctx_.instance)}, {"readModels", models},
                 {"kafka_bootstrap", ctx_.kafka_bootstrap}};
    if (ctx_.relay != nullptr) {
      const kafka::RelayStatus r = ctx_.relay->Status();
      body["kafka"] = {{"topic", ctx_.kafka_topic}, {"published", r.published}, {"connected", r.connected},
                       {"lagSeconds", r.lag_seconds}, {"lastError", r.last_error}};
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
  if (!p.empty() && p[0] == "admin") return Admin(call);
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
  if (p.size() == 3 && p[1] == "domains") {
    if (call.method() != http::verb::head) return call.Error(ErrorCode::kMethodNotAllowed, "HEAD only");
    auto free = ctx_.processor->IsDomainAvailable(p[2]);
    if (!free.ok()) return call.Error(free.error());
    return call.Answer(call.Make(*free ? http::status::not_found : http::status::ok, json::object()));
  }
  if (p.size() >= 2 && p[1] == "customers") {
    if (p.size() == 2) return Customers(call);
    if (p.size() == 3 || (p.size() == 5 && p[3] == "profiles" && p[4] == "billing")) return Customer(call);
    if (p.size() >= 4 && p[3] == "orders") return Orders(call);
    if (p.size() >= 4 && (p[3] == "subscriptions" || p[3] == "subscribedskus")) return Subscriptions(call);
    if (p.size() >= 4 && (p[3] == "relationshiprequests" || p[3] == "partners" || p[3] == "relationship")) {
      return Relationships(call);
    }
  }
  call.Error(ErrorCode::kRouteNotFound, "no such endpoint");
}

Api::~Api() { Stop(); }

void Api::Stop() {
  {
    std::lock_guard<std::mutex> lock(admin_mu_);
    admin_stopping_ = true;
  }
  admin_cv_.notify_all();
  if (admin_thread_.joinable()) admin_thread_.join();
}

bool Api::RunAdminJob(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(admin_mu_);
    if (admin_stopping_ || admin_jobs_.size() >= kMaxAdminJobs) return false;
    admin_jobs_.push_back(std::move(job));
    if (!admin_thread_.joinable()) {
      admin_thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "tally-admin");
        std::unique_lock<std::mutex> lock(admin_mu_);
        for (;;) {
          admin_cv_.wait(lock, [this] { return admin_stopping_ || !admin_jobs_.empty(); });
          if (admin_jobs_.empty()) return;  // stopping, and every accepted job is done
          auto next = std::move(admin_jobs_.front());
          admin_jobs_.pop_front();
          lock.unlock();
          next();
          lock.lock();
        }
      });
    }
  }
  admin_cv_.notify_one();
  return true;
}

bool Api::WaitForReads(Call& call, const std::string& customer_id) {
  uint64_t position = 0;
  if (auto it = call.query.find("minPosition"); it != call.query.end()) {
    const auto& v = it->second;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), position);
    if (ec != std::errc() || end != v.data() + v.size()) {
      call.Error(ErrorCode::kInvalidQuery, "minPosition must be a whole number");
      return false;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (customer_id.empty()) {  // a list: everything this partner wrote
      auto it = last_write_.find(call.partner.id);
      if (it != last_write_.end()) position = std::max(position, it->second);
    } else {  // one customer: every write to it, the caller's among them
      auto c = last_customer_write_.find(customer_id);
      if (c != last_customer_write_.end()) position = std::max(position, c->second);
    }
  }
  if (position == 0) return true;
  for (const auto& model : projections::ModelNames()) ctx_.runner->WaitFor(model, position, ctx_.read_wait);
  return true;
}

void Api::Run(Call& call, domain::Command command, std::function<Response(const CommandOutcome&, const Call&)> ok) {
  domain::CommandMeta meta{call.partner.id, call.request_id, call.correlation_id};
  const char* type = domain::CommandName(command);
  const auto submitted = std::chrono::steady_clock::now();
  auto shared = std::make_shared<Call>(std::move(call));
  ctx_.writer->Submit(ctx_.processor->Task(std::move(command), std::move(meta),
                                           [this, shared, type, submitted, ok = std::move(ok)](Result<CommandOutcome> r) {
                                             metrics_.RecordCommand(
                                                 type, r.ok() ? std::string_view("ok") : ErrorCodeName(r.error().code()),
                                                 std::chrono::steady_clock::now() - submitted);
                                             if (!r.ok()) return shared->Error(r.error());
                                             if (r->last_position > 0) {
                                               std::lock_guard<std::mutex> lock(mu_);
                                               uint64_t& last = last_write_[shared->partner.id];
                                               last = std::max(last, r->last_position);
                                               uint64_t& customer = last_customer_write_[r->customer_id];
                                               customer = std::max(customer, r->last_position);
                                               if (last_customer_write_.size() > prune_above_) PruneApplied();
                                               RememberVersionLocked(r->customer_id, r->version);
                                             }
                                             shared->Answer(ok(*r, *shared));
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
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = customer_versions_.find(customer_id); it != customer_versions_.end()) return it->second;
  }
  // Not written since the cache last saw it: walk the stream's index once.
  auto v = ctx_.log->StreamVersion(domain::CustomerStreamId(customer_id));
  if (!v.ok()) return v.error();
  std::lock_guard<std::mutex> lock(mu_);
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
    AppendHelp(out, "tally_kafka_relay_reconnects_total", "counter", "Reconnects after an error since start.");
    AppendSample(out, "tally_kafka_relay_reconnects_total", "", static_cast<double>(r.reconnects));
  }
  return out;
}

void Api::Offers(Call& call) {
  if (call.method() != http::verb::get) return call.Error(ErrorCode::kMethodNotAllowed, "GET only");
  const auto& p = call.path;
  if (p.size() == 2) {
    json items = json::array();
    for (const auto* o : ctx_.catalog->ForInstance(ctx_.instance)) items.push_back(OfferJson(*o));
    return call.Answer(call.Make(http::status::ok, {{"totalCount", items.size()}, {"items", items}}));
  }
  const domain::Offer* offer = ctx_.catalog->Find(p[2]);
  if (offer == nullptr || offer->instance != ctx_.instance) return call.Error(ErrorCode::kNotFound, "no such offer");
  if (p.size() == 3) return call.Answer(call.Make(http::status::ok, OfferJson(*offer)));
  if (p.size() == 4 && p[3] == "addons") {
    json items = json::array();
    for (const auto* o : ctx_.catalog->AddOnsOf(offer->id)) items.push_back(OfferJson(*o));
    return call.Answer(call.Make(http::status::ok, {{"totalCount", items.size()}, {"items", items}}));
  }
  call.Error(ErrorCode::kRouteNotFound, "no such endpoint");
}

namespace {

// The body as JSON, or answers the error and returns nullopt.
template <typename CallT>
std::optional<json> Body(CallT& call) {
  auto type = call.request.find(http::field::content_type);
  if (type != call.request.end() && !SV(type->value()).starts_with("application/json")) {
    call.Error(ErrorCode::kUnsupportedMediaType, "send the body as application/json");
    return std::nullopt;
  }
  auto body = ParseBody(call.request.body());
  if (!body.ok()) {
    call.Error(body.error());
    return std::nullopt;
  }
  return std::move(*body);
}

// If-Match, when present.
Result<std::optional<uint64_t>> IfMatch(const Request& request) {
  auto it = request.find(http::field::if_match);
  if (it == request.end()) return ParseIfMatch(std::nullopt);
  return ParseIfMatch(SV(it->value()));
}

std::string Etag(uint64_t version) { return "\"" + std::to_string(version) + "\""; }

}  // namespace

// /admin/v1/customers/{customer}/forget: an operator erases a customer's
// personal data (the HTTP face of tallyctl forget).
void Api::Admin(Call& call) {
  const auto& p = call.path;
  if (ctx_.operators == nullptr || !ctx_.forget) return call.Error(ErrorCode::kRouteNotFound, "no such endpoint");
  auto auth = call.request.find(http::field::authorization);
  std::string_view header = auth == call.request.end() ? std::string_view() : SV(auth->value());
  if (!header.starts_with("Bearer ")) {
    return call.Error(ErrorCode::kUnauthorized, "send Authorization: Bearer <operator token>");
  }
  auto op = ctx_.operators->Authenticate(header.substr(7));
  if (!op) {
    return call.Error(ErrorCode::kUnauthorized,
                      "unknown operator token (operators are added with: tallyctl operators add NAME)");
  }
  if (!(p.size() == 5 && p[1] == "v1" && p[2] == "customers" && p[4] == "forget")) {
    return call.Error(ErrorCode::kRouteNotFound, "no such endpoint");
  }
  if (call.method() != http::verb::post) return call.Error(ErrorCode::kMethodNotAllowed, "POST only");
  std::string reason = "erasure requested";
  if (!call.request.body().empty()) {
    auto body = Body(call);
    if (!body) return;
    Fields fields(*body, "");
    auto given = fields.OptString("reason");
    if (!given.ok()) return call.Error(given.error());
    if (Status done = fields.Done(); !done.ok()) return call.Error(done.error());
    if (*given) reason = **given;
  }
  if (reason.empty()) return call.Error(ErrorCode::kInvalidField, "reason: must not be empty");
  domain::CommandMeta meta{domain::kOperatorId, call.request_id, call.correlation_id};
  const std::string customer = p[3], operator_id = op->id;
  auto shared = std::make_shared<Call>(std::move(call));
  const bool queued = RunAdminJob([this, shared, customer, reason, meta, operator_id] {
    auto erased = ctx_.forget(customer, reason, meta);
    if (!erased.ok()) return shared->Error(erased.error());
    std::fprintf(stderr, "tallyd: operator %s: personal data of customer %s %s\n", operator_id.c_str(),
                 erased->customer_id.c_str(), erased->erased_before ? "was erased before" : "erased");
    shared->Answer(shared->Make(http::status::ok, json{{"customerId", erased->customer_id},
                                                       {"position", erased->position},
                                                       {"erasedBefore", erased->erased_before}}));
  });
  if (!queued) shared->Error(ErrorCode::kBusy, "too many erasures waiting, or shutting down; retry later");
}

void Api::Customers(Call& call) {
  if (call.method() == http::verb::get) {
    if (!WaitForReads(call)) return;
    size_t size = 100;
    if (auto it = call.query.find("size"); it != call.query.end()) {
      auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), size);
      if (ec != std::errc() || end != it->second.data() + it->second.size() || size < 1 || size > 500) {
        return call.Error(ErrorCode::kInvalidQuery, "size must be a whole number from 1 to 500");
      }
    }
    const std::string continuation = call.query.count("continuation") ? call.query["continuation"] : "";
    if (continuation.size() > 64) return call.Error(ErrorCode::kInvalidQuery, "malformed continuation");
    projections::CustomerReader reader(*ctx_.store);
    auto customer = [&call](JsonWriter& w, const projections::CustomerRow& row) {
      WriteCustomer(w, row, call.partner.id);
    };
    if (auto it = call.query.find("companyName"); it != call.query.end()) {
      auto rows = reader.SearchByCompanyPrefix(call.partner.id, it->second, size);
      if (!rows.ok()) return call.Error(rows.error());
      return call.Answer(call.MakeText(http::status::ok, ItemsText(*rows, customer)));
    }
    auto page = reader.ListForPartner(call.partner.id, size, continuation);
    if (!page.ok()) return call.Error(page.error());
    return call.Answer(call.MakeText(http::status::ok, ItemsText(page->items, customer, page->continuation)));
  }
  if (call.method() != http::verb::post) return call.Error(ErrorCode::kMethodNotAllowed, "GET or POST");
  auto body = Body(call);
  if (!body) return;
  auto parsed = AddCustomerFromJson(*body);
  if (!parsed.ok()) return call.Error(parsed.error());
  domain::AddCustomer add = std::move(*parsed);
  const domain::AddCustomer sent = add;
  Run(call, std::move(add), [this, sent](const CommandOutcome& o, const Call& c) {
    projections::CustomerRow row;
    row.id = o.customer_id;
    row.domain = sent.domain_prefix + ".onmicrosoft.com";
    row.company_name = sent.company_name;
    row.registration_number = sent.registration_number;
    row.instance = std::string(domain::InstanceName(ctx_.instance));
    row.admin_user_name = o.admin_user_name;
    row.email = sent.billing.email;
    row.culture = sent.billing.culture;
    row.language = sent.billing.language;
    row.billing_company_name = sent.billing.company_name;
    const auto& a = sent.billing.default_address;
    row.address = {a.first_name, a.last_name, a.address_line1, a.address_line2, a.address_line3,
                   a.city,       a.state,     a.postal_code,   a.country,       a.phone_number};
    row.partners = {{c.partner.id, "reseller_of_record", 0}};
    // The password exists only in this response; a retry of the same
    // request cannot show it again.
    std::string password;
    if (!o.replayed) {
      auto generated = domain::GenerateAdminPassword();
      if (generated.ok()) password = std::move(*generated);
    }
    std::string text;
    JsonWriter w(text);
    BeginCustomer(w, row, c.partner.id, password, /*times=*/false);
    if (!o.order_id.empty()) {
      w.Key("orders").BeginArray().BeginObject().Field("id", o.order_id).Key("lineItems").BeginArray();
      for (size_t i = 0; i < o.subscription_ids.size(); ++i) {
        w.BeginObject()
            .Field("subscriptionId", o.subscription_ids[i])
            .Field("offerId", sent.line_items[i].offer_id)
            .Field("quantity", sent.line_items[i].quantity)
            .EndObject();
      }
      w.EndArray().EndObject().EndArray();
    }
    w.Field("position", o.last_position).EndObject();
    Response r = c.MakeText(http::status::created, std::move(text));
    r.set(http::field::etag, Etag(o.version));
    return r;
  });
}

void Api::Customer(Call& call) {
  const std::string id = call.path[2];
  if (call.path.size() == 5) {  // profiles/billing
    if (call.method() != http::verb::patch) return call.Error(ErrorCode::kMethodNotAllowed, "PATCH only");
    auto body = Body(call);
    if (!body) return;
    auto b = BillingFromJson(*body);
    if (!b.ok()) return call.Error(b.error());
    auto expected = IfMatch(call.request);
    if (!expected.ok()) return call.Error(expected.error());
    Run(call, domain::UpdateBillingProfile{id, *b, *expected}, [](const CommandOutcome& o, const Call& c) {
      Response r = c.Make(http::status::ok, {{"customerId", o.customer_id}, {"position", o.last_position}});
      r.set(http::field::etag, Etag(o.version));
      return r;
    });
    return;
  }
  if (call.method() != http::verb::get) return call.Error(ErrorCode::kMethodNotAllowed, "GET only");
  if (!WaitForReads(call, id)) return;
  auto row = projections::CustomerReader(*ctx_.store).Get(id);
  if (!row.ok()) return call.Error(row.error());
  if (!row->has_value() || !(*row)->RelatedTo(call.partner.id)) {
    return call.Error(ErrorCode::kCustomerNotFound, "no such customer");
  }
  std::string text;
  JsonWriter w(text);
  WriteCustomer(w, **row, call.partner.id);
  Response r = call.MakeText(http::status::ok, std::move(text));
  if (auto v = CustomerVersion(id); v.ok()) r.set(http::field::etag, Etag(*v));
  call.Answer(std::move(r));
}

void Api::Orders(Call& call) {
  const std::string id = call.path[2];
  if (call.path.size() == 4 && call.method() == http::verb::post) {
    auto body = Body(call);
    if (!body) return;
    auto parsed = OrderFromJson(*body);
    if (!parsed.ok()) return call.Error(parsed.error());
    auto sent = *parsed;
    Run(call, domain::CreateOrder{id, std::move(*parsed)}, [sent](const CommandOutcome& o, const Call& c) {
      json lines = json::array();
      for (size_t i = 0; i < o.subscription_ids.size() && i < sent.size(); ++i) {
        lines.push_back({{"lineItemNumber", i}, {"offerId", sent[i].offer_id}, {"quantity", sent[i].quantity},
                         {"subscriptionId", o.subscription_ids[i]}});
      }
      Response r = c.Make(http::status::created,
                          {{"id", o.order_id}, {"customerId", o.customer_id}, {"lineItems", lines},
                           {"position", o.last_position}});
      r.set(http::field::etag, Etag(o.version));
      return r;
    });
    return;
  }
  if (call.path.size() == 5 && call.method() == http::verb::patch) {  // an add-on line
    auto body = Body(call);
    if (!body) return;
    auto item = AddOnFromJson(*body);
    if (!item.ok()) return call.Error(item.error());
    const auto sent = *item;
    Run(call, domain::AddAddOn{id, call.path[4], std::move(*item)}, [sent](const CommandOutcome& o, const Call& c) {
      json line = {{"offerId", sent.offer_id}, {"quantity", sent.quantity},
                   {"parentSubscriptionId", sent.parent_subscription_id},
                   {"subscriptionId", o.subscription_ids.empty() ? "" : o.subscription_ids[0]}};
      return c.Make(http::status::ok, {{"id", o.order_id}, {"customerId", o.customer_id},
                                       {"lineItems", json::array({line})}, {"position", o.last_position}});
    });
    return;
  }
  if (call.method() == http::verb::get) {
    if (!WaitForReads(call, id)) return;
    auto customer = projections::CustomerReader(*ctx_.store).Get(id);
    if (!customer.ok()) return call.Error(customer.error());
    if (!customer->has_value() || !(*customer)->RelatedTo(call.partner.id)) {
      return call.Error(ErrorCode::kCustomerNotFound, "no such customer");
    }
    auto subs = projections::LicenseReader(*ctx_.store).List(id, call.partner.id);
    if (!subs.ok()) return call.Error(subs.error());
    std::map<std::string, json> orders;
    for (const auto& s : *subs) {
      json& order = orders[s.order_id];
      if (order.is_null()) order = {{"id", s.order_id}, {"lineItems", json::array()}};
      json line = {{"offerId", s.offer_id}, {"quantity", s.quantity}, {"subscriptionId", s.id}};
      if (!s.parent_id.empty()) line["parentSubscriptionId"] = s.parent_id;
      order["lineItems"].push_back(line);
    }
    if (call.path.size() == 5) {
      auto it = orders.find(call.path[4]);
      if (it == orders.end()) return call.Error(ErrorCode::kNotFound, "no such order");
      return call.Answer(call.Make(http::status::ok, it->second));
    }
    json items = json::array();
    for (auto& [oid, order] : orders) items.push_back(order);
    return call.Answer(call.Make(http::status::ok, {{"totalCount", items.size()}, {"items", items}}));
  }
  call.Error(ErrorCode::kMethodNotAllowed, "POST, PATCH (add-on) or GET");
}

void Api::Subscriptions(Call& call) {
  const std::string id = call.path[2];
  const auto& p = call.path;
  if (p.size() == 5 && call.method() == http::verb::patch) {
    auto body = Body(call);
    if (!body) return;
    auto patch = SubscriptionPatchFromJson(*body);
    if (!patch.ok()) return call.Error(patch.error());
    domain::UpdateSubscription u = std::move(*patch);
    u.customer_id = id;
    u.subscription_id = p[4];
    auto expected = IfMatch(call.request);
    if (!expected.ok()) return call.Error(expected.error());
    u.expected_version = *expected;
    Run(call, std::move(u), [](const CommandOutcome& o, const Call& c) {
      Response r = c.Make(http::status::ok, {{"customerId", o.customer_id}, {"position", o.last_position}});
      r.set(http::field::etag, Etag(o.version));
      return r;
    });
    return;
  }
  if (call.method() != http::verb::get) return call.Error(ErrorCode::kMethodNotAllowed, "GET or PATCH");
  if (!WaitForReads(call, id)) return;
  auto customer = projections::CustomerReader(*ctx_.store).Get(id);
  if (!customer.ok()) return call.Error(customer.error());
  if (!customer->has_value() || !(*customer)->RelatedTo(call.partner.id)) {
    return call.Error(ErrorCode::kCustomerNotFound, "no such customer");
  }
  projections::LicenseReader licenses(*ctx_.store);
  if (p[3] == "subscribedskus" && p.size() == 4) {
    auto totals = licenses.Totals(id, call.partner.id);
    if (!totals.ok()) return call.Error(totals.error());
    json items = json::array();
    for (const auto& t : totals->offers) {
      const domain::Offer* offer = ctx_.catalog->Find(t.offer_id);
      items.push_back({{"offerId", t.offer_id}, {"offerName", offer ? offer->name : ""},
                       {"activeUnits", t.active_units}, {"suspendedUnits", t.suspended_units},
                       {"addOnUnits", t.add_on_units}, {"subscriptions", t.subscriptions}});
    }
    return call.Answer(call.Make(http::status::ok, {{"totalCount", items.size()}, {"items", items}}));
  }
  if (p.size() == 4 || (p.size() == 6 && p[5] == "addons")) {
    auto subs = licenses.List(id, call.partner.id, p.size() == 6 ? std::string_view(p[4]) : std::string_view());
    if (!subs.ok()) return call.Error(subs.error());
    auto subscription = [this](JsonWriter& w, const projections::SubscriptionRow& s) {
      WriteSubscription(w, s, *ctx_.catalog);
    };
    return call.Answer(call.MakeText(http::status::ok, ItemsText(*subs, subscription)));
  }
  if (p.size() == 5) {
    auto sub = licenses.Get(id, call.partner.id, p[4]);
    if (!sub.ok()) return call.Error(sub.error());
    if (!sub->has_value()) return call.Error(ErrorCode::kSubscriptionNotFound, "no such subscription");
    std::string text;
    JsonWriter w(text);
    WriteSubscription(w, **sub, *ctx_.catalog);
    Response r = call.MakeText(http::status::ok, std::move(text));
    if (auto v = CustomerVersion(id); v.ok()) r.set(http::field::etag, Etag(*v));
    return call.Answer(std::move(r));
  }
  call.Error(ErrorCode::kRouteNotFound, "no such endpoint");
}

void Api::Relationships(Call& call) {
  const std::string id = call.path[2];
  const auto& p = call.path;
  if (p[3] == "relationshiprequests" && p.size() == 4 && call.method() == http::verb::post) {
    return Run(call, domain::RequestRelationship{id}, [](const CommandOutcome& o, const Call& c) {
      return c.Make(http::status::created, {{"customerId", o.customer_id}, {"invitationId", o.invitation_id},
                                            {"position", o.last_position}});
    });
  }
  if (p[3] == "relationshiprequests" && p.size() == 6 && p[5] == "acceptance" && call.method() == http::verb::post) {
    return Run(call, domain::AcceptRelationship{id, p[4], true}, [](const CommandOutcome& o, const Call& c) {
      return c.Make(http::status::ok, {{"customerId", o.customer_id}, {"position", o.last_position}});
    });
  }
  if (p[3] == "relationship" && p.size() == 4 && call.method() == http::verb::delete_) {
    return Run(call, domain::RemoveRelationship{id, call.partner.id, false},
               [](const CommandOutcome& o, const Call& c) {
                 return c.Make(http::status::ok, {{"customerId", o.customer_id}, {"position", o.last_position}});
               });
  }
  if (p[3] == "partners" && p.size() == 4 && call.method() == http::verb::get) {
    if (!WaitForReads(call, id)) return;
    auto rel = projections::RelationshipReader(*ctx_.store).ForCustomer(id);
    if (!rel.ok()) return call.Error(rel.error());
    const bool related = rel->has_value() && std::any_of((*rel)->partners.begin(), (*rel)->partners.end(),
                                                         [&](const auto& l) { return l.partner_id == call.partner.id; });
    if (!related) return call.Error(ErrorCode::kCustomerNotFound, "no such customer");
    json items = json::array();
    for (const auto& l : (*rel)->partners) {
      items.push_back({{"partnerId", l.partner_id}, {"role", l.role}, {"since", projections::FormatUtcTime(l.since_us)}});
    }
    return call.Answer(call.Make(http::status::ok, {{"totalCount", items.size()}, {"items", items}}));
  }
  call.Error(ErrorCode::kMethodNotAllowed, "no such method on this endpoint");
}

}  // namespace tally::server
