#include "engine/command_processor.h"

#include <nlohmann/json.hpp>

#include "engine/domain/fingerprint.h"
#include "events/codec.h"

namespace tally {

std::string CommandOutcome::Encode() const {
  nlohmann::json j = {{"customer_id", customer_id},     {"order_id", order_id},
                      {"subscription_ids", subscription_ids}, {"invitation_id", invitation_id},
                      {"admin_user_name", admin_user_name}, {"version", version}};
  return j.dump();
}

Result<CommandOutcome> CommandOutcome::Decode(std::string_view bytes) {
  auto j = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Error(ErrorCode::kCorruption, "stored outcome is not JSON");
  CommandOutcome o;
  o.customer_id = j.value("customer_id", "");
  o.order_id = j.value("order_id", "");
  o.subscription_ids = j.value("subscription_ids", std::vector<std::string>{});
  o.invitation_id = j.value("invitation_id", "");
  o.admin_user_name = j.value("admin_user_name", "");
  o.version = j.value("version", uint64_t{0});
  return o;
}

const std::string& TargetCustomer(const domain::Command& command) {
  static const std::string kNone;
  return std::visit(
      [](const auto& c) -> const std::string& {
        if constexpr (std::is_same_v<std::decay_t<decltype(c)>, domain::AddCustomer>) {
          return kNone;
        } else {
          return c.customer_id;
        }
      },
      command);
}

CommandProcessor::CommandProcessor(EventLog& log, const domain::Catalog& catalog,
                                   domain::Instance instance, domain::IdSource& ids)
    : log_(log) {
  context_.catalog = &catalog;
  context_.instance = instance;
  context_.ids = &ids;
}

Result<const domain::CustomerState*> CommandProcessor::State(const std::string& customer_id) {
  if (auto it = cache_.find(customer_id); it != cache_.end()) return &it->second;
  domain::CustomerState state;
  const std::string stream = domain::CustomerStreamId(customer_id);
  for (uint64_t from = 1;;) {
    auto batch = log_.ReadStream(stream, from, 1024);
    if (!batch.ok()) return batch.error();
    for (const auto& e : *batch) {
      auto env = events::VerifyEnvelope(e.envelope);
      if (!env.ok()) return env.error();
      domain::Evolve(state, **env);
    }
    if (batch->size() < 1024) break;
    from += batch->size();
  }
  if (!state.exists) return static_cast<const domain::CustomerState*>(nullptr);
  auto [it, inserted] = cache_.emplace(customer_id, std::move(state));
  return &it->second;
}

Result<CommandOutcome> CommandProcessor::Execute(const domain::Command& command,
                                                 const domain::CommandMeta& meta) {
  // The log's key for the request id: namespaced by partner.
  const std::string request_key =
      meta.request_id.empty() ? std::string() : meta.partner_id + "/" + meta.request_id;
  const std::string fingerprint = domain::Fingerprint(command, meta);
  // A retry of an applied request returns its first outcome, whatever has
  // changed since (deciding again could fail, e.g. on a stale If-Match).
  if (!meta.request_id.empty()) {
    auto applied = log_.FindRequest(request_key);
    if (!applied.ok()) return applied.error();
    if (applied->has_value()) {
      const RequestRecord& record = **applied;
      if (record.fingerprint != fingerprint) {
        return Error(ErrorCode::kRequestIdReused,
                     "request id '" + meta.request_id + "' was used before for a different request");
      }
      auto first = CommandOutcome::Decode(record.outcome);
      if (!first.ok()) return first.error();
      first->replayed = true;
      first->first_position = record.first_position;
      first->last_position = record.last_position;
      return first;
    }
  }
  static const domain::CustomerState kNoCustomer;
  const domain::CustomerState* state = &kNoCustomer;
  const std::string& target = TargetCustomer(command);
  if (!target.empty()) {
    auto loaded = State(target);
    if (!loaded.ok()) return loaded.error();
    if (*loaded != nullptr) state = *loaded;
  }
  auto decision = domain::Decide(*state, command, meta, context_);
  if (!decision.ok()) return decision.error();

  CommandOutcome outcome;
  outcome.customer_id = decision->customer_id;
  outcome.order_id = decision->order_id;
  outcome.subscription_ids = decision->subscription_ids;
  outcome.invitation_id = decision->invitation_id;
  outcome.admin_user_name = decision->admin_user_name;
  outcome.version = state->version + decision->events.size();
  if (decision->events.empty()) return outcome;  // nothing changes: nothing to append

  AppendRequest request;
  request.request_id = request_key;
  request.fingerprint = fingerprint;
  request.expectations.push_back({decision->stream_id, decision->expected_version});
  request.claims = decision->claims;
  request.events = std::move(decision->events);
  request.outcome = outcome.Encode();
  auto results = log_.AppendBatch(std::span<AppendRequest>(&request, 1));
  if (!results[0].ok()) {
    const Error& e = results[0].error();
    if (e.code() == ErrorCode::kUniqueKeyTaken) {
      return Error(ErrorCode::kDomainTaken, "the domain is already taken");
    }
    if (e.code() == ErrorCode::kWrongExpectedVersion) return Error(ErrorCode::kStaleEtag, e.message());
    return e;
  }
  const AppendOutcome& appended = *results[0];
  if (appended.replayed) {
    auto first = CommandOutcome::Decode(appended.outcome);
    if (!first.ok()) return first.error();
    first->replayed = true;
    first->first_position = appended.first_position;
    first->last_position = appended.last_position;
    return first;
  }
  // Durable: bring the cached state up to date with the stamped events.
  domain::CustomerState& cached = cache_[decision->customer_id];
  for (const auto& bytes : request.events) domain::Evolve(cached, *events::UnverifiedEnvelope(bytes));
  outcome.first_position = appended.first_position;
  outcome.last_position = appended.last_position;
  outcome.version = cached.version;
  return outcome;
}

}  // namespace tally
