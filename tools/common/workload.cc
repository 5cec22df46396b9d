#include "tools/common/workload.h"

namespace tally::tools {

using namespace tally::domain;  // NOLINT: commands

AddCustomer ValidAddCustomer(const std::string& prefix) {
  AddCustomer c;
  c.domain_prefix = prefix;
  c.company_name = "Contoso Ltd";
  c.billing.email = "ada@contoso.example";
  c.billing.culture = "en-US";
  c.billing.language = "en";
  c.billing.company_name = "Contoso Ltd";
  c.billing.default_address = {"Ada", "Lovelace", "1 Microsoft Way", "", "", "Redmond", "WA",
                               "98052", "US", "425 555 0100"};
  // Accepted with the customer (global instance: nothing is bought before).
  c.agreement = domain::AgreementInput{"Ada", "Lovelace", "ada@contoso.example", "", 1'704'067'200'000'000,
                                       domain::kCustomerAgreementTemplateId};
  return c;
}

LineItem Item(const std::string& offer, int64_t quantity, const std::string& parent) {
  LineItem i;
  i.offer_id = offer;
  i.quantity = quantity;
  i.parent_subscription_id = parent;
  return i;
}

Workload::Workload(uint64_t seed, WorkloadOptions options) : rng_(seed), options_(std::move(options)) {}

std::pair<Command, CommandMeta> Workload::Next(CommandProcessor& processor) {
  auto& rng = rng_;
  auto pick = [&](const auto& v) -> const auto& { return v[rng() % v.size()]; };
  static const std::vector<std::string> kBase = {offers::kBusinessBasic, offers::kBusinessStandard, offers::kE3,
                                                 offers::kPowerBiPro, offers::kAzurePlan};
  static const std::vector<std::string> kAddOns = {offers::kTeamsPhone, offers::kDefenderP1,
                                                   offers::kAudioConferencing};
  const bool invalid = options_.invalid_commands;
  std::string partner = pick(options_.partners);
  const CommandMeta meta_template{partner, "w" + std::to_string(sent_++), ""};
  auto quantity = [&] { return static_cast<int64_t>(invalid && rng() % 12 == 0 ? 400 : 1 + rng() % 20); };
  auto meta = [&](const std::string& who) {
    CommandMeta m = meta_template;
    m.partner_id = who;
    m.correlation_id = "corr-" + m.request_id;
    return m;
  };

  const CustomerState* s = nullptr;
  std::string c;
  if (!customers_.empty() && static_cast<int>(rng() % 100) >= options_.new_customer_percent) {
    const size_t recent = std::min(customers_.size(), options_.recent_customers);
    c = rng() % 5 != 0 ? customers_[customers_.size() - 1 - rng() % recent] : pick(customers_);
    auto state = processor.State(c);
    if (state.ok() && *state != nullptr && (*state)->exists) s = *state;
  }
  if (s == nullptr) {
    // Domains collide on purpose when invalid commands are wanted.
    auto add = ValidAddCustomer(invalid ? "c" + std::to_string(rng() % (40 + customers_.size()))
                                        : "c" + std::to_string(sent_) + "x" + std::to_string(rng() % 1000));
    for (size_t i = invalid ? rng() % 4 : 1 + rng() % 3; i > 0; --i) add.line_items.push_back(Item(pick(kBase), quantity()));
    return {add, meta(partner)};
  }

  const int kind = static_cast<int>(rng() % 10);
  std::vector<const Subscription*> subs;
  for (const auto& [id, sub] : s->subscriptions) subs.push_back(&sub);
  const Subscription* sub = subs.empty() ? nullptr : pick(subs);
  const std::string sub_id = sub == nullptr ? "none" : sub->id;
  // Mostly act as the partner that owns the subscription (or serves the
  // customer), so that commands get past the visibility checks.
  if (!invalid || rng() % 5 != 0) {
    if (sub != nullptr && kind >= 2 && kind <= 5) {
      partner = sub->partner_id;
    } else if (!s->partners.empty() && kind != 6) {
      partner = s->partners.begin()->first;
    }
  }
  switch (kind) {
    case 1: return {CreateOrder{c, {Item(pick(kBase), quantity())}}, meta(partner)};
    case 2:
      return {AddAddOn{c, sub == nullptr ? "none" : sub->order_id, {Item(pick(kAddOns), quantity(), sub_id)}},
              meta(partner)};
    case 3: return {UpdateSubscription{c, sub_id, quantity(), {}, {}, {}, {}}, meta(partner)};
    case 4: {
      static const SubscriptionStatus kStatuses[] = {SubscriptionStatus::kActive, SubscriptionStatus::kSuspended,
                                                     SubscriptionStatus::kActive, SubscriptionStatus::kSuspended,
                                                     SubscriptionStatus::kDeleted};
      return {UpdateSubscription{c, sub_id, {}, kStatuses[rng() % 5], {}, {}, {}}, meta(partner)};
    }
    case 5:
      return {UpdateSubscription{c, sub_id, {}, {}, "Team " + std::to_string(rng() % 5), rng() % 2 == 0, {}},
              meta(partner)};
    case 6: return {RequestRelationship{c}, meta(partner)};
    case 7:
      if (s->invitations.empty()) return {RequestRelationship{c}, meta(partner)};
      return {AcceptRelationship{c, s->invitations.begin()->first}, meta(partner)};
    case 8: return {RemoveRelationship{c, pick(options_.partners), rng() % 2 == 0}, meta(partner)};
    default: {
      if (options_.erasures && rng() % 20 == 0) return {ForgetCustomer{c, "workload"}, meta(kOperatorId)};
      auto b = s->billing;
      b.default_address.city = "City " + std::to_string(rng() % 9);
      return {UpdateBillingProfile{c, b, rng() % 3 == 0 ? std::optional<uint64_t>(s->version) : std::nullopt},
              meta(partner)};
    }
  }
}

void Workload::Run(CommandProcessor& processor, size_t commands) {
  for (size_t i = 0; i < commands; ++i) {
    auto [command, meta] = Next(processor);
    Learn(command, processor.Execute(command, meta));
  }
}

void Workload::Learn(const Command& command, const Result<CommandOutcome>& result) {
  if (result.ok() && std::holds_alternative<AddCustomer>(command)) customers_.push_back(result->customer_id);
}

}  // namespace tally::tools
