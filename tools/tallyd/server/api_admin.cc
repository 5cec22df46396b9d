// The operators' API, /admin/v1 (operator tokens): the simulated clock,
// erasure, read-model rebuilds with their progress, the event browser and
// chain verification. What the console's operator pages call (README,
// "HTTP API").
#include <charconv>

#include "engine/chain_verifier.h"
#include "engine/domain/ids.h"
#include "engine/personal/event_json.h"
#include "events/codec.h"
#include "events/json.h"
#include "projections/as_of.h"
#include "tools/tallyd/server/api_call.h"
#include "tools/tallyd/server/auth.h"
#include "tools/tallyd/server/server_status.h"

namespace tally::server {
namespace {

constexpr uint64_t kDefaultEventLimit = 100;
constexpr uint64_t kMaxEventLimit = 1000;
// Events one browse call reads at most (then it answers with `next`), so
// that a filter matching nothing does not scan the whole log in one call.
constexpr uint64_t kMaxEventsScanned = 200'000;

// ?name=N as a whole number, `fallback` when absent; nullopt (and the call
// answered) when malformed.
template <typename CallT>
std::optional<uint64_t> QueryNumber(CallT& call, const char* name, uint64_t fallback) {
  auto it = call.query.find(name);
  if (it == call.query.end() || it->second.empty()) return fallback;
  uint64_t v = 0;
  const auto& text = it->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    call.Error(ErrorCode::kInvalidQuery, std::string(name) + " must be a whole number");
    return std::nullopt;
  }
  return v;
}

bool KnownEventType(std::string_view name) {
  for (auto t = static_cast<uint8_t>(events::Payload::MIN) + 1; t <= static_cast<uint8_t>(events::Payload::MAX); ++t) {
    if (events::EventTypeName(static_cast<events::Payload>(t)) == name) return true;
  }
  return false;
}

std::string QueryText(const std::map<std::string, std::string>& query, const char* name) {
  auto it = query.find(name);
  return it == query.end() ? std::string() : it->second;
}

}  // namespace

// /admin/v1/clock: the simulated clock's time (GET), or a move forward
// (POST {"now": "<RFC 3339>"}); the scheduler's due work follows it.
void Api::AdminClock(Call& call) {
  if (ctx_.simulated_clock == nullptr) {
    return call.Error(ErrorCode::kNotFound, "the clock is real: start tallyd with --clock simulated:<time> to move it");
  }
  if (call.method() == http::verb::post) {
    auto body = Body(call);
    if (!body) return;
    Fields fields(*body, "");
    auto now = fields.String("now");
    if (!now.ok()) return call.Error(now.error());
    if (Status done = fields.Done(); !done.ok()) return call.Error(done.error());
    auto to = projections::ParseUtcTime(*now);
    if (!to.ok()) return call.Error(ErrorCode::kInvalidField, "now: " + to.error().message());
    if (!ctx_.simulated_clock->MoveTo(*to)) {
      return call.Error(ErrorCode::kInvalidField,
                        "now: " + *now + " is before the clock's time (" +
                            projections::FormatUtcTime(ctx_.simulated_clock->NowMicros()) + "): it never goes back");
    }
    std::fprintf(stderr, "tallyd: simulated clock moved to %s\n", projections::FormatUtcTime(*to).c_str());
    if (ctx_.on_clock_moved) ctx_.on_clock_moved();
  }
  call.Answer(call.Make(http::status::ok, json{{"now", projections::FormatUtcTime(ctx_.simulated_clock->NowMicros())},
                                               {"simulated", true}}));
}

void Api::Admin(Call& call) {
  const auto& p = call.path;
  if (ctx_.operators == nullptr || p.size() < 3 || p[1] != "v1") {
    return call.Error(ErrorCode::kRouteNotFound, "no such endpoint");
  }
  const bool clock = p.size() == 3 && p[2] == "clock";
  const bool rebuild = p.size() == 3 && p[2] == "rebuild" && ctx_.rebuild;
  const bool events = p.size() == 3 && p[2] == "events";
  const bool verify = p.size() == 3 && p[2] == "verify";
  const bool forget = p.size() == 5 && p[2] == "customers" && p[4] == "forget" && ctx_.forget;
  if (!clock && !rebuild && !events && !verify && !forget) return call.Error(ErrorCode::kRouteNotFound, "no such endpoint");
  // The method before the token: a method no token makes right is 405.
  const bool get = call.method() == http::verb::get, post = call.method() == http::verb::post;
  if ((clock || rebuild) && !get && !post) return call.Error(ErrorCode::kMethodNotAllowed, "GET or POST");
  if (events && !get) return call.Error(ErrorCode::kMethodNotAllowed, "GET only");
  if ((verify || forget) && !post) return call.Error(ErrorCode::kMethodNotAllowed, "POST only");
  auto op = Authenticate(call.request, *ctx_.operators, "send Authorization: Bearer <operator token>",
                         "unknown operator token (operators are added with: tallyctl operators add NAME)");
  if (!op.ok()) return call.Error(op.error());
  if (clock) return AdminClock(call);
  if (rebuild) return AdminRebuild(call, op->id);
  if (events) return AdminEvents(call);
  if (verify) return AdminVerify(call);
  AdminForget(call, op->id);
}

// POST /admin/v1/customers/{customer}/forget: an operator erases a
// customer's personal data (the HTTP face of tallyctl forget).
void Api::AdminForget(Call& call, const std::string& operator_id) {
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
  const std::string customer = call.path[3];
  auto shared = std::make_shared<Call>(std::move(call));
  const bool queued = admin_jobs_.Post([this, shared, customer, reason, meta, operator_id] {
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

// GET /admin/v1/rebuild: the last rebuild asked for here, and how far it
// is; POST {"models": ["license", ...] or ["all"]}: starts one (202), on
// its own thread; the live models go on serving until the hand-over.
void Api::AdminRebuild(Call& call, const std::string& operator_id) {
  if (call.method() == http::verb::get) return call.Answer(call.Make(http::status::ok, rebuild_.State()));
  auto body = Body(call);
  if (!body) return;
  Fields fields(*body, "");
  auto list = fields.Array("models");
  if (!list.ok()) return call.Error(list.error());
  if (Status done = fields.Done(); !done.ok()) return call.Error(done.error());
  std::vector<std::string> models;
  const auto& known = projections::ModelNames();
  for (const auto& m : **list) {
    if (!m.is_string()) return call.Error(ErrorCode::kInvalidField, "models: a list of read model names");
    const std::string name = m.get<std::string>();
    if (name != "all" && std::find(known.begin(), known.end(), name) == known.end()) {
      std::string names;
      for (const auto& k : known) names += k + ", ";
      return call.Error(ErrorCode::kInvalidField, "models: no read model named '" + name + "' (" + names + "all)");
    }
    models.push_back(name);
  }
  if (models.empty()) return call.Error(ErrorCode::kInvalidField, "models: name at least one read model, or all");
  if (std::find(models.begin(), models.end(), "all") != models.end()) models = known;
  if (Status started = rebuild_.Start(std::move(models), operator_id); !started.ok()) return call.Error(started.error());
  call.Answer(call.Make(http::status::accepted, rebuild_.State()));
}

// GET /admin/v1/events: the event browser. Filters: from, to (positions),
// customer (id or domain: that customer's stream), type, partner, since,
// until (YYYY-MM-DD or an RFC 3339 UTC time); limit (1-1000, default 100).
// Answers {"items": [events as `tallyctl replay` prints them], "head",
// "next"}: `next` (when present) is the position to continue from.
void Api::AdminEvents(Call& call) {
  const auto from = QueryNumber(call, "from", 1);
  if (!from) return;
  const auto to = QueryNumber(call, "to", 0);
  if (!to) return;
  const auto limit = QueryNumber(call, "limit", kDefaultEventLimit);
  if (!limit) return;
  if (*limit < 1 || *limit > kMaxEventLimit) return call.Error(ErrorCode::kInvalidQuery, "limit must be 1-1000");
  std::optional<int64_t> since, until;
  for (auto [name, target] : {std::pair{"since", &since}, std::pair{"until", &until}}) {
    const std::string text = QueryText(call.query, name);
    if (text.empty()) continue;
    auto t = projections::ParseUtcTime(text);
    if (!t.ok()) return call.Error(ErrorCode::kInvalidQuery, std::string(name) + ": " + t.error().message());
    *target = *t;
    // A date alone: from the start of that day (ParseUtcTime gives its end).
    if (target == &since && text.size() == 10) *since -= 86'400'000'000LL - 1;
  }
  const std::string type = QueryText(call.query, "type"), partner = QueryText(call.query, "partner"),
                    customer = QueryText(call.query, "customer");
  if (!type.empty() && !KnownEventType(type)) {
    return call.Error(ErrorCode::kInvalidQuery, "type: no event type named '" + type + "'");
  }
  auto shared = std::make_shared<Call>(std::move(call));
  const bool queued = admin_jobs_.Post([this, shared, from = *from, to = *to, limit = *limit, since, until, type, partner,
                                   customer] {
    const EventLog& log = *ctx_.log;
    const uint64_t head = log.Head();
    const uint64_t last = (to == 0 || to > head) ? head : to;
    events::JsonRenderer renderer;
    json items = json::array();
    std::optional<uint64_t> next;
    std::optional<tally::Error> failed;
    uint64_t scanned = 0;
    auto keep = [&](uint64_t position, std::string_view envelope) {
      if (items.size() >= limit || scanned >= kMaxEventsScanned) {
        next = position;
        return false;
      }
      ++scanned;
      auto env = events::VerifyEnvelope(envelope);
      if (!env.ok()) {
        failed = env.error();
        return false;
      }
      if (!type.empty() && events::EventTypeName((*env)->payload_type()) != type) return true;
      if (!partner.empty() && ((*env)->partner_id() == nullptr || (*env)->partner_id()->string_view() != partner)) {
        return true;
      }
      if (since && (*env)->recorded_at_us() < *since) return true;
      if (until && (*env)->recorded_at_us() > *until) return true;
      auto rendered = personal::RenderEvent(renderer, envelope, &log);
      if (!rendered.ok()) {
        failed = rendered.error();
        return false;
      }
      items.push_back(json::parse(*rendered));
      return true;
    };
    std::string customer_id;
    if (!customer.empty()) {
      auto id = projections::ResolveCustomer(log, customer);
      if (!id.ok()) return shared->Error(id.error());
      customer_id = *id;
      auto stream = log.ReadStream(domain::CustomerStreamId(*id), 1, SIZE_MAX);
      if (!stream.ok()) return shared->Error(stream.error());
      if (stream->empty()) return shared->Error(ErrorCode::kCustomerNotFound, "no customer " + customer);
      for (const auto& e : *stream) {
        if (e.position < from || e.position > last) continue;
        if (!keep(e.position, e.envelope)) break;
      }
    } else if (from <= last) {
      Status s = log.Scan(from, last, [&](const EventView& v) { return keep(v.position, v.envelope); });
      if (!s.ok()) return shared->Error(s.error());
    }
    if (failed) return shared->Error(*failed);
    json body = {{"items", items}, {"head", head}};
    if (next) body["next"] = *next;
    if (!customer_id.empty()) body["customerId"] = customer_id;
    shared->Answer(shared->Make(http::status::ok, body));
  });
  if (!queued) shared->Error(ErrorCode::kBusy, "the operators' queue is full, or tallyd is stopping; retry later");
}

// POST /admin/v1/verify {"from": N, "to": N} (both optional; to 0 or
// absent: the head): recomputes the hash chain over the range, as
// `tallyctl verify` does.
void Api::AdminVerify(Call& call) {
  int64_t from = 1, to = 0;
  if (!call.request.body().empty()) {
    auto body = Body(call);
    if (!body) return;
    Fields fields(*body, "");
    for (auto [name, target] : {std::pair{"from", &from}, std::pair{"to", &to}}) {
      auto v = fields.OptInt(name);
      if (!v.ok()) return call.Error(v.error());
      if (*v && (**v < 0 || (target == &from && **v < 1))) {
        return call.Error(ErrorCode::kInvalidField, std::string(name) + (target == &from ? ": at least 1" : ": 0 or more"));
      }
      if (*v) *target = **v;
    }
    if (Status done = fields.Done(); !done.ok()) return call.Error(done.error());
  }
  if (to != 0 && to < from) return call.Error(ErrorCode::kInvalidField, "to: before from");
  auto shared = std::make_shared<Call>(std::move(call));
  const bool queued = admin_jobs_.Post([this, shared, from, to] {
    const auto started = std::chrono::steady_clock::now();
    const uint64_t head = ctx_.log->Head();
    const uint64_t last = (to == 0 || static_cast<uint64_t>(to) > head) ? head : static_cast<uint64_t>(to);
    auto report = VerifyChain(*ctx_.log, static_cast<uint64_t>(from), last);
    if (!report.ok()) return shared->Error(report.error());
    json body = {{"ok", report->ok()}, {"checked", report->checked}, {"from", from}, {"to", last},
                 {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}};
    if (!report->ok()) {
      body["firstBad"] = report->first_bad;
      body["reason"] = report->reason;
    }
    // Everything the log has seen, this check's finding included (a lost
    // tail is beyond any range: the start-up check's witnesses found it).
    body["damage"] = DamageJson(*ctx_.log);
    shared->Answer(shared->Make(http::status::ok, body));
  });
  if (!queued) shared->Error(ErrorCode::kBusy, "the operators' queue is full, or tallyd is stopping; retry later");
}

}  // namespace tally::server
