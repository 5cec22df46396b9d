// Decide for subscriptions: orders and add-ons with their plans and prices,
// changes within the 168-hour windows, scheduled changes, and the lifecycle
// steps time brings (terms.h).
#include <algorithm>
#include <climits>

#include "engine/domain/decide_parts.h"
#include "engine/domain/validation.h"

namespace tally::domain {

std::string EffectiveTerm(const LineItem& item) {
  if (!item.term_duration.empty()) return item.term_duration;
  if (item.billing_cycle == "annual") return "P1Y";
  if (item.billing_cycle == "triennial") return "P3Y";
  return "P1M";
}

namespace decide {
namespace {

// Checks one line item against the catalog and, for add-ons, its parent.
// Returns the offer.
Result<const Offer*> CheckLineItem(const LineItem& item, const CustomerState& state,
                                   const CommandMeta& meta, const DecideContext& ctx) {
  const Offer* offer = ctx.catalog->Find(item.offer_id);
  if (offer == nullptr) return E(ErrorCode::kInvalidOffer, "offer '" + item.offer_id + "' does not exist");
  if (offer->instance != ctx.instance) {
    return E(ErrorCode::kOfferNotInInstance, "offer '" + item.offer_id + "' is not sold in the " +
                                                 std::string(InstanceName(ctx.instance)) + " instance");
  }
  if (item.quantity < 1 || item.quantity > INT32_MAX) {
    return E(ErrorCode::kInvalidQuantity, "quantity must be a positive whole number");
  }
  if (item.quantity < offer->min_quantity || item.quantity > offer->max_quantity) {
    return E(ErrorCode::kQuantityOutOfRange,
             "quantity " + std::to_string(item.quantity) + " is outside " + offer->name + "'s range " +
                 std::to_string(offer->min_quantity) + "-" + std::to_string(offer->max_quantity));
  }
  // The plan: Partner Center's codes for a term the offer lacks (800121), a
  // cycle that is not one (900269), longer than the term (900270), or one
  // the offer's term is not sold with (900269).
  const std::string term = EffectiveTerm(item);
  if (!IsBillingCycle(item.billing_cycle)) {
    return E(ErrorCode::kInvalidBillingCycle,
             "billing cycle '" + item.billing_cycle.substr(0, 32) + "' is not monthly, annual or triennial");
  }
  if (!IsTermDuration(term) || !offer->OffersTerm(term)) {
    return E(ErrorCode::kInvalidTerm, offer->name + " is not sold with term '" + term.substr(0, 16) + "'");
  }
  if (!CycleFitsTerm(term, item.billing_cycle)) {
    return E(ErrorCode::kBillingCycleLongerThanTerm,
             "a " + term + " term cannot be billed " + item.billing_cycle + ": the billing cycle is longer than the term");
  }
  if (offer->PriceAt(term, item.billing_cycle, ctx.now_us) == nullptr) {
    return E(ErrorCode::kInvalidBillingCycle,
             offer->name + " is not sold on term " + term + " billed " + item.billing_cycle);
  }
  if (item.friendly_name.size() > kMaxFriendlyName) {
    return E(ErrorCode::kInvalidFriendlyName, "friendly name is longer than 128 characters");
  }
  TALLY_RETURN_IF_ERROR(ValidateText("friendly name", item.friendly_name, kMaxFriendlyName));
  if (offer->is_add_on && item.parent_subscription_id.empty()) {
    return E(ErrorCode::kAddOnNeedsParent,
             offer->name + " is an add-on: order it with a parent subscription");
  }
  if (!offer->is_add_on && !item.parent_subscription_id.empty()) {
    return E(ErrorCode::kNotAnAddOn, offer->name + " is not an add-on: it cannot have a parent");
  }
  if (offer->is_add_on) {
    const Subscription* parent = state.FindSubscription(item.parent_subscription_id, meta.partner_id);
    if (parent == nullptr) {
      return E(ErrorCode::kSubscriptionNotFound,
               "parent subscription '" + item.parent_subscription_id + "' does not exist");
    }
    if (parent->status == SubscriptionStatus::kDeleted) {
      return E(ErrorCode::kSubscriptionDeleted, "the parent subscription is cancelled");
    }
    if (parent->status != SubscriptionStatus::kActive || !parent->parent_id.empty()) {
      return E(ErrorCode::kParentNotActive, "the parent subscription must be an active base subscription");
    }
    if (!offer->HasPrerequisite(parent->offer_id)) {
      return E(ErrorCode::kAddOnNotRelatedToParent,
               offer->name + " cannot be added to a subscription of offer " + parent->offer_id);
    }
  }
  return offer;
}

// An upgrade at renewal: to an offer the catalog lists as an upgrade of
// the subscription's, which every add-on still on it can follow.
Status CheckUpgrade(const CustomerState& s, const Subscription& sub, const std::string& to, const DecideContext& ctx) {
  const Offer* from = ctx.catalog->Find(sub.offer_id);
  const Offer* target = ctx.catalog->Find(to);
  if (from == nullptr || target == nullptr || !from->CanUpgradeTo(to)) {
    std::string allowed;
    for (const auto& t : from != nullptr ? from->upgrade_targets : std::vector<std::string>{}) {
      allowed += (allowed.empty() ? "" : ", ") + t;
    }
    return E(ErrorCode::kNextTermNotAllowed, "offer '" + to.substr(0, 64) + "' is not an upgrade of " +
                                                 (from != nullptr ? from->name : sub.offer_id) + " (upgrades: " +
                                                 (allowed.empty() ? "none" : allowed) + ")");
  }
  for (const auto& [id, add_on] : s.subscriptions) {
    const bool on_it = add_on.parent_id == sub.id && (add_on.status == SubscriptionStatus::kActive ||
                                                      add_on.status == SubscriptionStatus::kSuspended);
    const Offer* offer = on_it ? ctx.catalog->Find(add_on.offer_id) : nullptr;
    if (offer != nullptr && !offer->HasPrerequisite(to)) {
      return E(ErrorCode::kNextTermNotAllowed, "add-on " + id + " (" + offer->name + ") cannot move to " +
                                                   target->name + ": cancel it or choose another upgrade");
    }
  }
  return OkStatus();
}

}  // namespace

void CreateSubscriptions(EventWriter& w, const std::vector<LineItem>& items,
                         const std::vector<const Offer*>& offers, const std::string& order_id,
                         const CommandMeta& meta, const DecideContext& ctx, Decision& d) {
  for (size_t i = 0; i < items.size(); ++i) {
    const LineItem& item = items[i];
    const std::string sub_id = ctx.ids->NewId();
    const std::string name = item.friendly_name.empty() ? offers[i]->name : item.friendly_name;
    const std::string term = EffectiveTerm(item);
    const Price* price = offers[i]->PriceAt(term, item.billing_cycle, ctx.now_us);
    w.Add(ev::Payload::SubscriptionCreated, [&](Fbb& fbb) {
      return ev::CreateSubscriptionCreatedDirect(
                 fbb, sub_id.c_str(), order_id.c_str(), item.offer_id.c_str(), name.c_str(),
                 static_cast<int32_t>(item.quantity), item.parent_subscription_id.c_str(),
                 item.billing_cycle.c_str(), true, meta.partner_id.c_str(), term.c_str(),
                 price != nullptr ? price->unit_price : 0, ctx.catalog->currency().c_str())
          .Union();
    });
    d.subscription_ids.push_back(sub_id);
  }
}

Result<std::vector<const Offer*>> CheckLineItems(const std::vector<LineItem>& items, bool allow_empty,
                                                 const CustomerState& state, const CommandMeta& meta,
                                                 const DecideContext& ctx) {
  if (items.empty() && !allow_empty) return E(ErrorCode::kInvalidLineItems, "an order needs at least one line item");
  if (items.size() > kMaxLineItems) {
    return E(ErrorCode::kInvalidLineItems, "an order has at most " + std::to_string(kMaxLineItems) + " line items");
  }
  std::vector<const Offer*> offers;
  for (const auto& item : items) {
    auto offer = CheckLineItem(item, state, meta, ctx);
    if (!offer.ok()) return offer.error();
    offers.push_back(*offer);
  }
  return offers;
}

Result<Decision> DecideCreateOrder(const CustomerState& s, const CreateOrder& c, const CommandMeta& meta,
                                   const DecideContext& ctx) {
  TALLY_RETURN_IF_ERROR(CheckServed(s, c.customer_id, meta));
  auto offers = CheckLineItems(c.line_items, /*allow_empty=*/false, s, meta, ctx);
  if (!offers.ok()) return offers.error();
  TALLY_RETURN_IF_ERROR(CheckAgreementAccepted(s, ctx));
  Decision d = Start(s);
  d.order_id = ctx.ids->NewId();
  EventWriter w(meta, s.customer_id, *ctx.ids);
  CreateSubscriptions(w, c.line_items, *offers, d.order_id, meta, ctx, d);
  d.events = w.Take();
  return d;
}

Result<Decision> DecideAddAddOn(const CustomerState& s, const AddAddOn& c, const CommandMeta& meta,
                                const DecideContext& ctx) {
  TALLY_RETURN_IF_ERROR(CheckServed(s, c.customer_id, meta));
  const bool order_known = std::any_of(s.subscriptions.begin(), s.subscriptions.end(), [&](const auto& kv) {
    return kv.second.order_id == c.order_id && kv.second.partner_id == meta.partner_id;
  });
  if (!order_known) return E(ErrorCode::kNotFound, "order '" + c.order_id + "' not found");
  for (const LineItem& item : c.items) {
    if (item.parent_subscription_id.empty()) {
      return E(ErrorCode::kAddOnNeedsParent, "an add-on line needs parentSubscriptionId");
    }
  }
  auto offers = CheckLineItems(c.items, /*allow_empty=*/false, s, meta, ctx);
  if (!offers.ok()) return offers.error();
  TALLY_RETURN_IF_ERROR(CheckAgreementAccepted(s, ctx));
  Decision d = Start(s);
  d.order_id = c.order_id;
  EventWriter w(meta, s.customer_id, *ctx.ids);
  CreateSubscriptions(w, c.items, *offers, c.order_id, meta, ctx, d);
  d.events = w.Take();
  return d;
}

Result<Decision> DecideUpdateSubscription(const CustomerState& s, const UpdateSubscription& c,
                                          const CommandMeta& meta, const DecideContext& ctx) {
  TALLY_RETURN_IF_ERROR(CheckServed(s, c.customer_id, meta));
  const Subscription* sub = s.FindSubscription(c.subscription_id, meta.partner_id);
  if (sub == nullptr) {
    return E(ErrorCode::kSubscriptionNotFound, "subscription '" + c.subscription_id + "' not found");
  }
  TALLY_RETURN_IF_ERROR(CheckEtag(s, c.expected_version));
  if (sub->status == SubscriptionStatus::kDeleted) {
    return E(ErrorCode::kSubscriptionDeleted, "subscription '" + sub->id + "' is cancelled");
  }
  if (sub->status == SubscriptionStatus::kExpired || sub->status == SubscriptionStatus::kDisabled) {
    return E(ErrorCode::kSubscriptionNotUpdatable, "subscription '" + sub->id + "' is " +
                                                       std::string(StatusName(sub->status)) +
                                                       ": its term is over; buy a new one");
  }
  const Offer* offer = ctx.catalog->Find(sub->offer_id);
  const SubscriptionStatus target = c.status.value_or(sub->status);
  const bool active_after = target == SubscriptionStatus::kActive;
  if (c.quantity && *c.quantity != sub->quantity) {
    if (*c.quantity < 1 || *c.quantity > INT32_MAX) {
      return E(ErrorCode::kInvalidQuantity, "quantity must be a positive whole number");
    }
    if (!active_after || sub->status != SubscriptionStatus::kActive) {
      return E(ErrorCode::kSuspendedSubscriptionCannotBeUpdated,
               "the quantity of a suspended subscription cannot change");
    }
    if (offer != nullptr && (*c.quantity < offer->min_quantity || *c.quantity > offer->max_quantity)) {
      return E(ErrorCode::kQuantityOutOfRange,
               "quantity " + std::to_string(*c.quantity) + " is outside " + offer->name + "'s range " +
                   std::to_string(offer->min_quantity) + "-" + std::to_string(offer->max_quantity));
    }
  }
  if (c.friendly_name && (c.friendly_name->empty() || c.friendly_name->size() > kMaxFriendlyName)) {
    return E(ErrorCode::kInvalidFriendlyName, "friendly name must be 1-128 characters");
  }
  if (c.friendly_name) TALLY_RETURN_IF_ERROR(ValidateText("friendly name", *c.friendly_name, kMaxFriendlyName));
  if (c.status == SubscriptionStatus::kActive && sub->status == SubscriptionStatus::kSuspended &&
      !sub->parent_id.empty()) {
    auto parent = s.subscriptions.find(sub->parent_id);
    if (parent == s.subscriptions.end() || parent->second.status != SubscriptionStatus::kActive) {
      return E(ErrorCode::kParentNotActive, "an add-on cannot be reactivated while its parent is not active");
    }
  }
  // New commerce's windows (168 hours): seats are removed only while still
  // inside the window of the purchase or increase that added them (the
  // newest first), and a subscription is cancelled only within the window
  // of its purchase (or renewal).
  if (c.quantity && *c.quantity < sub->quantity) {
    const int64_t removable = RemovableSeats(sub->seats, ctx.now_us);
    if (sub->quantity - *c.quantity > removable) {
      return E(ErrorCode::kSeatReductionWindowPassed,
               "You have passed your 168-hour window for reducing seats for this subscription: " +
                   std::to_string(removable) + " of its " + std::to_string(sub->quantity) +
                   " seats were added within the last 168 hours and can be removed");
    }
  }
  if (c.status == SubscriptionStatus::kDeleted && ctx.now_us >= sub->term_start_us + kWindowMicros) {
    return E(ErrorCode::kCancellationWindowPassed,
             "You have passed your 168-hour cancellation window. We are unable to cancel your purchase");
  }
  // Scheduled changes: on an active subscription that renews; the plan and
  // quantity the offer can renew to (empty term or cycle: the current one).
  std::optional<NextTerm> next;
  if (c.next_term) {
    next = *c.next_term;
    if (next->term_duration.empty()) next->term_duration = sub->term_duration;
    if (next->billing_cycle.empty()) next->billing_cycle = sub->billing_cycle;
    if (next->offer_id == sub->offer_id) next->offer_id.clear();
    if (!next->offer_id.empty()) TALLY_RETURN_IF_ERROR(CheckUpgrade(s, *sub, next->offer_id, ctx));
    // The schedule as stored, sent back with the whole resource: no instruction.
    if (next == sub->next_term) next.reset();
  }
  if (next) {
    if (target != SubscriptionStatus::kActive || sub->status != SubscriptionStatus::kActive ||
        !c.auto_renew.value_or(sub->auto_renew)) {
      return E(ErrorCode::kNextTermNotAllowed,
               "scheduledNextTermInstructions need an active subscription with autoRenewEnabled");
    }
    LineItem item;
    item.offer_id = next->offer_id.empty() ? sub->offer_id : next->offer_id;
    item.quantity = next->quantity;
    item.term_duration = next->term_duration;
    item.billing_cycle = next->billing_cycle;
    item.parent_subscription_id = sub->parent_id;
    auto offer = CheckLineItem(item, s, meta, ctx);
    if (!offer.ok()) return offer.error();
  }
  if (sub->status == SubscriptionStatus::kSuspended && target == SubscriptionStatus::kSuspended &&
      (c.friendly_name || c.auto_renew)) {
    // Partner Center refuses any change to a suspended subscription.
    const bool changes = (c.friendly_name && *c.friendly_name != sub->friendly_name) ||
                         (c.auto_renew && *c.auto_renew != sub->auto_renew);
    if (changes) {
      return E(ErrorCode::kSuspendedSubscriptionCannotBeUpdated,
               "a suspended subscription cannot be updated; reactivate it first");
    }
  }

  Decision d = Start(s);
  EventWriter w(meta, s.customer_id, *ctx.ids);
  const std::string& id = sub->id;
  auto children = [&](SubscriptionStatus from_a, SubscriptionStatus from_b) {
    std::vector<std::string> out;
    for (const auto& [child_id, child] : s.subscriptions) {
      if (child.parent_id == id && (child.status == from_a || child.status == from_b)) out.push_back(child_id);
    }
    return out;
  };
  // Reactivation comes first, so later changes apply to an active subscription.
  if (c.status == SubscriptionStatus::kActive && sub->status == SubscriptionStatus::kSuspended) {
    w.Add(ev::Payload::SubscriptionReactivated,
          [&](Fbb& fbb) { return ev::CreateSubscriptionReactivatedDirect(fbb, id.c_str()).Union(); });
  }
  if (c.quantity && *c.quantity != sub->quantity) {
    w.Add(ev::Payload::SubscriptionQuantityChanged, [&](Fbb& fbb) {
      return ev::CreateSubscriptionQuantityChangedDirect(fbb, id.c_str(), static_cast<int32_t>(*c.quantity),
                                                         sub->quantity)
          .Union();
    });
  }
  if (c.friendly_name && *c.friendly_name != sub->friendly_name) {
    w.Add(ev::Payload::SubscriptionRenamed, [&](Fbb& fbb) {
      return ev::CreateSubscriptionRenamedDirect(fbb, id.c_str(), c.friendly_name->c_str()).Union();
    });
  }
  if (c.auto_renew && *c.auto_renew != sub->auto_renew) {
    w.Add(ev::Payload::SubscriptionAutoRenewChanged, [&](Fbb& fbb) {
      return ev::CreateSubscriptionAutoRenewChangedDirect(fbb, id.c_str(), *c.auto_renew).Union();
    });
  }
  // Scheduled changes: a new schedule, or the end of the old one when the
  // subscription changes in a way Partner Center clears it for.
  if (next && next != sub->next_term) {
    w.Add(ev::Payload::SubscriptionNextTermScheduled, [&](Fbb& fbb) {
      return ev::CreateSubscriptionNextTermScheduledDirect(fbb, id.c_str(), static_cast<int32_t>(next->quantity),
                                                           next->term_duration.c_str(), next->billing_cycle.c_str(),
                                                           next->offer_id.c_str())
          .Union();
    });
  } else if (!next && sub->next_term) {
    const bool clears = (c.quantity && *c.quantity != sub->quantity) || (c.auto_renew && !*c.auto_renew) ||
                        target != SubscriptionStatus::kActive;
    if (clears) {
      w.Add(ev::Payload::SubscriptionNextTermCleared,
            [&](Fbb& fbb) { return ev::CreateSubscriptionNextTermClearedDirect(fbb, id.c_str()).Union(); });
    }
  }
  // Partner Center: a suspended subscription does not renew (auto-renew
  // goes off; it is disabled when its term is over).
  auto renew_off = [&](const std::string& sub_id, bool renews) {
    if (!renews) return;
    w.Add(ev::Payload::SubscriptionAutoRenewChanged,
          [&](Fbb& fbb) { return ev::CreateSubscriptionAutoRenewChangedDirect(fbb, sub_id.c_str(), false).Union(); });
  };
  // Add-ons never outlive an active parent: suspending or cancelling a base
  // subscription does the same to its add-ons.
  if (c.status == SubscriptionStatus::kSuspended && sub->status == SubscriptionStatus::kActive) {
    for (const auto& child : children(SubscriptionStatus::kActive, SubscriptionStatus::kActive)) {
      w.Add(ev::Payload::SubscriptionSuspended,
            [&](Fbb& fbb) { return ev::CreateSubscriptionSuspendedDirect(fbb, child.c_str()).Union(); });
      renew_off(child, s.subscriptions.at(child).auto_renew);
    }
    w.Add(ev::Payload::SubscriptionSuspended,
          [&](Fbb& fbb) { return ev::CreateSubscriptionSuspendedDirect(fbb, id.c_str()).Union(); });
    renew_off(id, c.auto_renew.value_or(sub->auto_renew));
  }
  if (c.status == SubscriptionStatus::kDeleted) {
    for (const auto& child : children(SubscriptionStatus::kActive, SubscriptionStatus::kSuspended)) {
      w.Add(ev::Payload::SubscriptionCancelled,
            [&](Fbb& fbb) { return ev::CreateSubscriptionCancelledDirect(fbb, child.c_str()).Union(); });
    }
    w.Add(ev::Payload::SubscriptionCancelled,
          [&](Fbb& fbb) { return ev::CreateSubscriptionCancelledDirect(fbb, id.c_str()).Union(); });
  }
  d.subscription_ids.push_back(id);
  d.events = w.Take();
  return d;
}

Result<Decision> DecideAdvanceSubscription(const CustomerState& s, const AdvanceSubscription& c,
                                           const CommandMeta& meta, const DecideContext& ctx) {
  if (!s.exists) return E(ErrorCode::kCustomerNotFound, "customer '" + c.customer_id + "' not found");
  if (c.subscription_ids.empty() || c.subscription_ids.size() > kMaxAdvancedAtOnce) {
    return E(ErrorCode::kInvalidArgument, "a lifecycle step names 1-" + std::to_string(kMaxAdvancedAtOnce) +
                                              " subscriptions");
  }
  Decision d = Start(s);
  EventWriter w(meta, s.customer_id, *ctx.ids);
  for (const std::string& sub_id : c.subscription_ids) {
    auto it = s.subscriptions.find(sub_id);
    if (it == s.subscriptions.end()) {
      return E(ErrorCode::kSubscriptionNotFound, "subscription '" + sub_id + "' not found");
    }
    const Subscription& sub = it->second;
    const NextStep next = NextLifecycleStep(StatusName(sub.status), sub.term_duration, sub.term_start_us,
                                            sub.auto_renew, sub.status_since_us);
    // Taken already (another due time is next), or not due yet: nothing.
    if (next.step == LifecycleStep::kNone || next.due_us != c.due_us || ctx.now_us < next.due_us) continue;
    const std::string& id = sub.id;
    const int64_t at = next.due_us;
    switch (next.step) {
      case LifecycleStep::kRenew: {
        // To the scheduled changes if any, at the catalog's price in force
        // when the new term begins; the old price if the plan is no longer
        // sold.
        const NextTerm renew_to =
            sub.next_term.value_or(NextTerm{sub.quantity, sub.term_duration, sub.billing_cycle, ""});
        const std::string offer_id = renew_to.offer_id.empty() ? sub.offer_id : renew_to.offer_id;  // an upgrade
        const Offer* offer = ctx.catalog->Find(offer_id);
        const Price* price =
            offer != nullptr ? offer->PriceAt(renew_to.term_duration, renew_to.billing_cycle, at) : nullptr;
        const int64_t unit_price = price != nullptr ? price->unit_price : sub.unit_price;
        const std::string currency = price != nullptr ? ctx.catalog->currency() : sub.currency;
        w.Add(ev::Payload::SubscriptionRenewed, [&](Fbb& fbb) {
          return ev::CreateSubscriptionRenewedDirect(fbb, id.c_str(), at, renew_to.term_duration.c_str(),
                                                     renew_to.billing_cycle.c_str(), unit_price, currency.c_str(),
                                                     static_cast<int32_t>(renew_to.quantity), offer_id.c_str())
              .Union();
        });
        break;
      }
      case LifecycleStep::kExpire:
        w.Add(ev::Payload::SubscriptionExpired,
              [&](Fbb& fbb) { return ev::CreateSubscriptionExpiredDirect(fbb, id.c_str(), at).Union(); });
        break;
      case LifecycleStep::kDisable:
        w.Add(ev::Payload::SubscriptionDisabled,
              [&](Fbb& fbb) { return ev::CreateSubscriptionDisabledDirect(fbb, id.c_str(), at).Union(); });
        break;
      case LifecycleStep::kDelete:
        w.Add(ev::Payload::SubscriptionDeleted,
              [&](Fbb& fbb) { return ev::CreateSubscriptionDeletedDirect(fbb, id.c_str(), at).Union(); });
        break;
      case LifecycleStep::kNone:
        break;
    }
  }
  d.events = w.Take();
  return d;
}

}  // namespace decide
}  // namespace tally::domain
