#include "engine/command_processor.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "engine/domain/fingerprint.h"
#include "engine/domain/validation.h"
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

namespace {

// The answer to a retry: the stored outcome of the first application.
Result<CommandOutcome> Replayed(std::string_view stored_outcome, uint64_t first, uint64_t last) {
  auto outcome = CommandOutcome::Decode(stored_outcome);
  if (!outcome.ok()) return outcome.error();
  outcome->replayed = true;
  outcome->first_position = first;
  outcome->last_position = last;
  return outcome;
}

}  // namespace

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
                                   domain::Instance instance, domain::IdSource& ids, size_t max_cached_customers)
    : log_(log), max_cached_(std::max<size_t>(1, max_cached_customers)) {
  context_.catalog = &catalog;
  context_.instance = instance;
  context_.ids = &ids;
}

Result<bool> CommandProcessor::IsDomainAvailable(std::string_view domain) const {
  auto parsed = domain::ParseInitialDomain(domain);
  if (!parsed.ok()) return parsed.error();
  auto owner = log_.UniqueOwner(domain::DomainKey(parsed->prefix + "." + parsed->suffix));
  if (!owner.ok()) return owner.error();
  return !owner->has_value();
}

CommandProcessor::Cached* CommandProcessor::Find(const std::string& customer_id) {
  auto it = cache_.find(customer_id);
  if (it == cache_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return &it->second;
}

CommandProcessor::Cached& CommandProcessor::Insert(const std::string& customer_id, domain::CustomerState state) {
  auto [it, inserted] = cache_.try_emplace(customer_id);
  if (inserted) {
    lru_.push_front(customer_id);
    it->second.lru = lru_.begin();
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  it->second.state = std::move(state);
  DropOverflow();
  cached_.store(cache_.size(), std::memory_order_relaxed);
  return it->second;
}

void CommandProcessor::DropOverflow() {
  if (cache_.size() <= max_cached_ || lru_.size() < 2) return;
  const uint64_t durable = log_.Head();
  auto it = std::prev(lru_.end());
  while (cache_.size() > max_cached_ && it != lru_.begin()) {
    auto entry = cache_.find(*it);
    const Cached& c = entry->second;
    if (c.deciding == 0 && c.staged_to <= durable) {
      cache_.erase(entry);
      it = std::prev(lru_.erase(it));
    } else {
      --it;
    }
  }
}

void CommandProcessor::DropAll() {
  cache_.clear();
  lru_.clear();
  cached_.store(0, std::memory_order_relaxed);
}

Result<const domain::CustomerState*> CommandProcessor::State(const std::string& customer_id) {
  if (Cached* c = Find(customer_id)) return &c->state;
  domain::CustomerState state;
  auto key = log_.FindKey(customer_id);
  if (!key.ok()) return key.error();
  if (key->state == personal::KeyState::kPresent) state.personal_key = key->key;
  const std::string stream = domain::CustomerStreamId(customer_id);
  // One call: ReadStream walks the stream's index from its start, so paging
  // would repeat that walk per page. A customer's stream fits in memory.
  auto events = log_.ReadStream(stream, 1, SIZE_MAX);
  if (!events.ok()) return events.error();
  for (const auto& e : *events) {
    auto env = events::VerifyEnvelope(e.envelope);
    if (!env.ok()) return env.error();
    domain::Evolve(state, **env);
  }
  if (!state.exists) return static_cast<const domain::CustomerState*>(nullptr);
  loaded_.fetch_add(1, std::memory_order_relaxed);
  return &Insert(customer_id, std::move(state)).state;
}

Result<CommandProcessor::Decided> CommandProcessor::DecideCommand(const domain::Command& command,
                                                                  const domain::CommandMeta& meta,
                                                                  const std::string& fingerprint) {
  if (cache_poisoned_.exchange(false)) DropAll();
  Decided d;
  // The log's key for the request id: namespaced by partner.
  const std::string request_key =
      meta.request_id.empty() ? std::string() : meta.partner_id + "/" + meta.request_id;
  static const domain::CustomerState kNoCustomer;
  const domain::CustomerState* state = &kNoCustomer;
  const std::string& target = TargetCustomer(command);
  if (!target.empty()) {
    auto loaded = State(target);
    if (!loaded.ok()) return loaded.error();
    if (*loaded != nullptr) state = *loaded;
  }
  // A retry of an applied request returns its first outcome. When the
  // command decides events, the log's own request check finds the retry
  // (and its fingerprint); only when deciding again fails (e.g. a stale
  // If-Match) or changes nothing must we look the request up here, staged
  // ones included: a retry may come while its original awaits its commit
  // (it is answered after that commit, like every early answer).
  auto applied_before = [&]() -> Result<std::optional<CommandOutcome>> {
    if (request_key.empty()) return std::optional<CommandOutcome>();
    TALLY_ASSIGN_OR_RETURN(const std::optional<RequestRecord> applied, log_.FindStagedRequest(request_key));
    if (!applied.has_value()) return std::optional<CommandOutcome>();
    const RequestRecord& record = *applied;
    if (!SameRequest(record.fingerprint, fingerprint)) {
      return Error(ErrorCode::kRequestIdReused,
                   "request id '" + meta.request_id + "' was used before for a different request");
    }
    auto first = Replayed(record.outcome, record.first_position, record.last_position);
    if (!first.ok()) return first.error();
    return std::optional<CommandOutcome>(std::move(*first));
  };
  context_.now_us = log_.NowMicros();  // the clock the log stamps events with
  auto decision = domain::Decide(*state, command, meta, context_);
  if (!decision.ok() || decision->events.empty()) {
    auto replay = applied_before();
    if (!replay.ok()) return replay.error();
    if (replay->has_value()) {
      d.early = std::move(**replay);
      return d;
    }
    if (!decision.ok()) return decision.error();
  }

  d.customer_id = decision->customer_id;
  d.outcome.customer_id = decision->customer_id;
  d.outcome.order_id = decision->order_id;
  d.outcome.subscription_ids = decision->subscription_ids;
  d.outcome.invitation_id = decision->invitation_id;
  d.outcome.admin_user_name = decision->admin_user_name;
  d.outcome.version = state->version + decision->events.size();
  if (decision->events.empty()) {
    d.early = d.outcome;  // nothing changes: nothing to append
    return d;
  }
  d.request.request_id = request_key;
  d.request.fingerprint = fingerprint;
  d.request.expectations.push_back({decision->stream_id, decision->expected_version});
  d.request.claims = std::move(decision->claims);
  d.request.key_changes = std::move(decision->key_changes);
  d.request.events = std::move(decision->events);
  if (!request_key.empty()) d.request.outcome = d.outcome.Encode();  // only retries read it
  // Kept in memory until AfterAppend has evolved it (see DropOverflow).
  d.new_customer = state == &kNoCustomer;
  if (auto it = cache_.find(d.customer_id); it != cache_.end()) ++it->second.deciding;
  return d;
}

Result<CommandOutcome> CommandProcessor::AfterAppend(Decided& d, const AppendRequest& request,
                                                     const Result<AppendOutcome>& appended) {
  Cached* cached = nullptr;
  if (auto it = cache_.find(d.customer_id); it != cache_.end()) {
    cached = &it->second;
    if (cached->deciding > 0) --cached->deciding;
  }
  if (!appended.ok()) {
    const Error& e = appended.error();
    if (e.code() == ErrorCode::kUniqueKeyTaken) {
      return Error(ErrorCode::kDomainTaken, "the domain is already taken");
    }
    if (e.code() == ErrorCode::kWrongExpectedVersion) return Error(ErrorCode::kStaleEtag, e.message());
    return e;
  }
  if (appended->replayed) {  // a retry found by the log's own request check
    return Replayed(appended->outcome, appended->first_position, appended->last_position);
  }
  d.outcome.first_position = appended->first_position;
  d.outcome.last_position = appended->last_position;
  // Staged (and durable once committed): bring the cached state up to date.
  // A customer's state is absent here only when the cache was dropped after
  // a failed commit: it is read from the log when next needed.
  if (cached == nullptr && d.new_customer) cached = &Insert(d.customer_id, domain::CustomerState());
  if (cached == nullptr) return d.outcome;
  for (const auto& change : request.key_changes) {
    if (change.key) cached->state.personal_key = change.key;  // a new customer's (destruction: by Evolve)
  }
  for (const auto& bytes : request.events) domain::Evolve(cached->state, *events::UnverifiedEnvelope(bytes));
  cached->staged_to = appended->last_position;
  d.outcome.version = cached->state.version;
  return d.outcome;
}

Result<CommandOutcome> CommandProcessor::Execute(const domain::Command& command,
                                                 const domain::CommandMeta& meta) {
  const std::string fingerprint = meta.request_id.empty() ? std::string() : domain::Fingerprint(command, meta);
  auto decided = DecideCommand(command, meta, fingerprint);
  if (!decided.ok()) return decided.error();
  if (decided->early) return *decided->early;
  auto results = log_.AppendBatch(std::span<AppendRequest>(&decided->request, 1));
  if (!results[0].ok() && results[0].error().code() == ErrorCode::kIoError) DropAll();
  return AfterAppend(*decided, decided->request, results[0]);
}

// A command as a WriteTask: decided and staged on the writer's staging
// thread, answered on its commit thread.
class CommandTask final : public WriteTask {
 public:
  CommandTask(CommandProcessor& processor, domain::Command command, domain::CommandMeta meta,
              CommandProcessor::Callback done)
      : processor_(processor),
        command_(std::move(command)),
        meta_(std::move(meta)),
        done_(std::move(done)),
        fingerprint_(meta_.request_id.empty() ? std::string() : domain::Fingerprint(command_, meta_)) {}

  std::string Key() const override { return TargetCustomer(command_); }

  Result<AppendRequest> Decide() override {
    auto decided = processor_.DecideCommand(command_, meta_, fingerprint_);
    if (!decided.ok()) return decided.error();
    decided_ = std::move(*decided);
    if (decided_.early) return AppendRequest{};  // answered after earlier commits are durable
    return std::move(decided_.request);
  }

  void Staged(const Result<AppendOutcome>& staged, const AppendRequest& request) override {
    if (decided_.early) return;
    result_ = processor_.AfterAppend(decided_, request, staged);  // request: stamped
  }

  void Done(Result<AppendOutcome> outcome) override {
    if (!outcome.ok()) {
      if (result_.has_value() && !result_->ok()) {
        done_(std::move(*result_));  // rejected by the log at staging, already mapped
        return;
      }
      // Rejected at Decide, or the commit failed after staging (then the
      // cache holds state that never became durable).
      if (result_.has_value()) processor_.cache_poisoned_.store(true);
      done_(outcome.error());
      return;
    }
    if (decided_.early) {
      done_(*decided_.early);
      return;
    }
    done_(std::move(*result_));
  }

 private:
  CommandProcessor& processor_;
  domain::Command command_;
  domain::CommandMeta meta_;
  CommandProcessor::Callback done_;
  const std::string fingerprint_;  // computed on the submitting thread
  CommandProcessor::Decided decided_;
  std::optional<Result<CommandOutcome>> result_;
};

std::unique_ptr<WriteTask> CommandProcessor::Task(domain::Command command, domain::CommandMeta meta,
                                                  Callback done) {
  return std::make_unique<CommandTask>(*this, std::move(command), std::move(meta), std::move(done));
}

}  // namespace tally
