// Decide: the checks every concept shares and the dispatch by command.
// The rules themselves are in decide_customer.cc, decide_subscription.cc and
// decide_relationship.cc (decide_parts.h).
#include "engine/domain/decide.h"

#include <cstdio>

#include "engine/domain/decide_parts.h"

namespace tally::domain {
namespace decide {

Status CheckServed(const CustomerState& state, const std::string& customer_id, const CommandMeta& meta) {
  if (!state.exists || state.partners.count(meta.partner_id) == 0) {
    return E(ErrorCode::kCustomerNotFound, "customer '" + customer_id + "' not found");
  }
  return OkStatus();
}

Status CheckPartnerOfRecord(const CustomerState& state, const CommandMeta& meta, std::string_view what) {
  auto it = state.partners.find(meta.partner_id);
  if (it == state.partners.end() || !it->second.invitation_id.empty()) {
    return E(ErrorCode::kNotPartnerOfRecord, "only the customer's partner of record may " + std::string(what));
  }
  return OkStatus();
}

Status CheckEtag(const CustomerState& state, const std::optional<uint64_t>& expected) {
  if (expected && *expected != state.version) {
    return E(ErrorCode::kStaleEtag, "the customer changed (version " + std::to_string(state.version) +
                                        ", If-Match says " + std::to_string(*expected) + ")");
  }
  return OkStatus();
}

Decision Start(const CustomerState& state) {
  Decision d;
  d.customer_id = state.customer_id;
  d.stream_id = CustomerStreamId(state.customer_id);
  d.expected_version = state.version;
  return d;
}

}  // namespace decide

std::string_view StatusName(SubscriptionStatus status) {
  switch (status) {
    case SubscriptionStatus::kActive: return "active";
    case SubscriptionStatus::kSuspended: return "suspended";
    case SubscriptionStatus::kDeleted: return "deleted";
    case SubscriptionStatus::kExpired: return "expired";
    case SubscriptionStatus::kDisabled: return "disabled";
  }
  return "active";
}

std::string LifecycleRequestId(const AdvanceSubscription& step) {
  const std::string due = std::to_string(step.due_us);
  if (step.subscription_ids.size() == 1) return "lifecycle-" + step.subscription_ids[0] + "-" + due;
  uint64_t hash = 14695981039346656037ULL;
  for (const auto& id : step.subscription_ids) {
    for (unsigned char ch : id + '\n') hash = (hash ^ ch) * 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return "lifecycle-" + step.customer_id + "-" + due + "-" + std::to_string(step.subscription_ids.size()) + "-" + hex;
}

void AddDueSubscription(std::vector<AdvanceSubscription>& steps, std::string_view customer_id,
                        std::string_view subscription_id, int64_t due_us) {
  if (steps.empty() || steps.back().customer_id != customer_id || steps.back().due_us != due_us ||
      steps.back().subscription_ids.size() >= kMaxAdvancedAtOnce) {
    steps.push_back({std::string(customer_id), {}, due_us});
  }
  steps.back().subscription_ids.emplace_back(subscription_id);
}

std::string CustomerStreamId(const std::string& customer_id) { return "customer-" + customer_id; }
std::string DomainKey(const std::string& domain) { return "domain/" + domain; }

const char* CommandName(const Command& command) {
  static constexpr const char* kNames[] = {"AddCustomer",         "UpdateBillingProfile", "CreateOrder",
                                           "AddAddOn",            "UpdateSubscription",   "RequestRelationship",
                                           "AcceptRelationship",  "RemoveRelationship",   "ForgetCustomer",
                                           "AdvanceSubscription", "ConfirmAgreement"};
  return kNames[command.index()];
}

Result<Decision> Decide(const CustomerState& state, const Command& command, const CommandMeta& meta,
                        const DecideContext& ctx) {
  if (meta.partner_id.empty()) return decide::E(ErrorCode::kInvalidArgument, "a command needs a partner");
  return std::visit(
      [&](const auto& c) -> Result<Decision> {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, AddCustomer>) return decide::DecideAddCustomer(c, meta, ctx);
        if constexpr (std::is_same_v<T, UpdateBillingProfile>) return decide::DecideUpdateBillingProfile(state, c, meta, ctx);
        if constexpr (std::is_same_v<T, CreateOrder>) return decide::DecideCreateOrder(state, c, meta, ctx);
        if constexpr (std::is_same_v<T, AddAddOn>) return decide::DecideAddAddOn(state, c, meta, ctx);
        if constexpr (std::is_same_v<T, UpdateSubscription>) return decide::DecideUpdateSubscription(state, c, meta, ctx);
        if constexpr (std::is_same_v<T, RequestRelationship>) return decide::DecideRequestRelationship(state, c, meta, ctx);
        if constexpr (std::is_same_v<T, AcceptRelationship>) return decide::DecideAcceptRelationship(state, c, meta, ctx);
        if constexpr (std::is_same_v<T, RemoveRelationship>) return decide::DecideRemoveRelationship(state, c, meta, ctx);
        if constexpr (std::is_same_v<T, ForgetCustomer>) return decide::DecideForgetCustomer(state, c, meta, ctx);
        if constexpr (std::is_same_v<T, AdvanceSubscription>) return decide::DecideAdvanceSubscription(state, c, meta, ctx);
        if constexpr (std::is_same_v<T, ConfirmAgreement>) return decide::DecideConfirmAgreement(state, c, meta, ctx);
      },
      command);
}

}  // namespace tally::domain
