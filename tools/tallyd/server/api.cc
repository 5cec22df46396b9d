// The API's frame: routing (with who is calling), the command path (Run),
// waiting for the read models (AfterReads), and offers. The customer-facing
// resources are in api_customers.cc; the response shapes in responses.cc.
#include "tools/tallyd/server/api.h"

#include <charconv>

#include "tools/tallyd/server/api_call.h"
#include "tools/tallyd/server/auth.h"
#include "tools/tallyd/server/responses.h"
#include "tools/tallyd/server/server_status.h"
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
  if (p.size() == 1 && (p[0] == "healthz" || p[0] == "readyz")) {
    if (call.method() != http::verb::get) return call.Error(ErrorCode::kMethodNotAllowed, "GET only");
    // /healthz: 503 only while the log is damaged (an operator must act);
    // /readyz: 503 also while writes are refused for a while (a full disk).
    json health = HealthJson(ctx_);
    const std::string status = health["status"];
    const bool serving = status == "ok" || (p[0] == "healthz" && status == "degraded");
    return call.Answer(call.Make(serving ? http::status::ok : http::status::service_unavailable, health));
  }
  if (p.size() == 1 && p[0] == "metrics") {
    if (call.method() != http::verb::get) return call.Error(ErrorCode::kMethodNotAllowed, "GET only");
    Response r(http::status::ok, call.request.version());
    r.set(http::field::server, "tally");
    r.set(http::field::content_type, "text/plain; version=0.0.4");
    r.body() = RenderMetrics(metrics_, ctx_);
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
  auto partner = Authenticate(call.request, *ctx_.partners, "send Authorization: Bearer <partner token>", "unknown token");
  if (!partner.ok()) return call.Error(partner.error());
  call.partner = std::move(*partner);
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

Api::Api(ApiContext context)
    : ctx_(std::move(context)),
      written_([runner = ctx_.runner] {
        uint64_t applied = UINT64_MAX;
        for (const auto& m : runner->Statuses()) applied = std::min(applied, m.checkpoint.position);
        return applied;
      }),
      rebuild_(ctx_.rebuild, ctx_.log) {}

Api::~Api() { Stop(); }

void Api::Stop() {
  admin_jobs_.Stop();
  rebuild_.Stop();
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
  // A list: everything this partner wrote; one customer: every write to
  // it, the caller's among them.
  position = std::max(position, customer_id.empty() ? written_.OfPartner(call.partner.id) : written_.OfCustomer(customer_id));
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
                                               written_.Record(shared->partner.id, r->customer_id, r->last_position);
                                               versions_.Remember(r->customer_id, r->version);
                                             }
                                             then(*r, *shared);
                                           }));
}

Result<uint64_t> Api::CustomerVersion(const std::string& customer_id) {
  if (auto cached = versions_.Find(customer_id)) return *cached;
  // Not written since the cache last saw it: walk the stream's index once.
  auto v = ctx_.log->StreamVersion(domain::CustomerStreamId(customer_id));
  if (!v.ok()) return v.error();
  return versions_.Remember(customer_id, *v);
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
