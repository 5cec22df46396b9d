#include "engine/domain/customer_state.h"

#include <algorithm>

#include "events/codec.h"

namespace tally::domain {
namespace {

using events::View;

std::string Str(const flatbuffers::String* s) { return std::string(View(s)); }

BillingProfileInput FromEvent(const events::BillingProfile* p, const CustomerState& s) {
  BillingProfileInput b;
  if (p == nullptr) return b;
  b.culture = Str(p->culture());
  b.language = Str(p->language());
  b.company_name = Str(p->company_name());
  if (const auto* a = p->default_address()) {
    b.default_address.city = Str(a->city());
    b.default_address.state = Str(a->state());
    b.default_address.postal_code = Str(a->postal_code());
    b.default_address.country = Str(a->country());
  }
  const auto* sealed = p->sealed_personal_data();
  if (sealed == nullptr || !s.personal_key) return b;
  auto fields = personal::Open(*s.personal_key, s.customer_id, {sealed->data(), sealed->size()});
  if (!fields.ok()) return b;
  b.email = std::move(fields->email);
  AddressInput& a = b.default_address;
  a.first_name = std::move(fields->first_name);
  a.last_name = std::move(fields->last_name);
  a.address_line1 = std::move(fields->address_line1);
  a.address_line2 = std::move(fields->address_line2);
  a.address_line3 = std::move(fields->address_line3);
  a.phone_number = std::move(fields->phone_number);
  return b;
}

}  // namespace

const Subscription* CustomerState::FindSubscription(const std::string& id,
                                                    const std::string& partner_id) const {
  auto it = subscriptions.find(id);
  if (it == subscriptions.end() || it->second.partner_id != partner_id) return nullptr;
  return &it->second;
}

bool CustomerState::HasAgreement() const {
  return std::any_of(agreements.begin(), agreements.end(),
                     [](const Agreement& a) { return a.type == kCustomerAgreementType; });
}

void Evolve(CustomerState& s, const events::Envelope& e) {
  using events::Payload;
  s.version = e.stream_version();
  const int64_t at = e.recorded_at_us();
  s.updated_at_us = at;
  auto touch = [&](const flatbuffers::String* id) -> Subscription* {
    auto it = s.subscriptions.find(Str(id));
    if (it == s.subscriptions.end()) return nullptr;
    it->second.updated_at_us = at;
    return &it->second;
  };
  switch (e.payload_type()) {
    case Payload::CustomerCreated: {
      const auto* p = e.payload_as_CustomerCreated();
      s.exists = true;
      s.customer_id = Str(p->customer_id());
      s.domain = Str(p->domain());
      s.company_name = Str(p->company_name());
      s.registration_number = Str(p->registration_number());
      s.instance = View(p->instance()) == "usgov" ? Instance::kUsGov : Instance::kGlobal;
      s.billing = FromEvent(p->billing_profile(), s);
      s.admin_user_name = Str(p->admin_user_name());
      s.created_at_us = at;
      break;
    }
    case Payload::BillingProfileUpdated:
      s.billing = FromEvent(e.payload_as_BillingProfileUpdated()->billing_profile(), s);
      break;
    case Payload::RelationshipEstablished: {
      const auto* p = e.payload_as_RelationshipEstablished();
      s.partners[Str(p->partner_id())] = Relationship{Str(p->partner_id()), Str(p->invitation_id()), at};
      break;
    }
    case Payload::RelationshipRequested: {
      const auto* p = e.payload_as_RelationshipRequested();
      s.invitations[Str(p->invitation_id())] = Invitation{Str(p->invitation_id()), Str(p->partner_id()), at};
      break;
    }
    case Payload::RelationshipAccepted: {
      const auto* p = e.payload_as_RelationshipAccepted();
      s.invitations.erase(Str(p->invitation_id()));
      s.partners[Str(p->partner_id())] = Relationship{Str(p->partner_id()), Str(p->invitation_id()), at};
      break;
    }
    case Payload::RelationshipRemoved:
      s.partners.erase(Str(e.payload_as_RelationshipRemoved()->partner_id()));
      break;
    case Payload::SubscriptionCreated: {
      const auto* p = e.payload_as_SubscriptionCreated();
      Subscription sub;
      sub.id = Str(p->subscription_id());
      sub.order_id = Str(p->order_id());
      sub.offer_id = Str(p->offer_id());
      sub.friendly_name = Str(p->friendly_name());
      sub.quantity = p->quantity();
      sub.parent_id = Str(p->parent_subscription_id());
      sub.billing_cycle = Str(p->billing_cycle());
      sub.auto_renew = p->auto_renew();
      sub.partner_id = Str(p->partner_id());
      sub.created_at_us = sub.updated_at_us = at;
      if (p->term_duration() != nullptr && p->term_duration()->size() > 0) sub.term_duration = Str(p->term_duration());
      sub.unit_price = p->unit_price();
      sub.currency = Str(p->currency());
      sub.term_start_us = at;
      sub.seats = {Seats{sub.quantity, at}};
      s.subscriptions[sub.id] = sub;
      break;
    }
    case Payload::SubscriptionQuantityChanged: {
      const auto* p = e.payload_as_SubscriptionQuantityChanged();
      if (auto* sub = touch(p->subscription_id())) {
        ChangeSeats(sub->seats, sub->quantity, p->quantity(), at);
        sub->quantity = p->quantity();
      }
      break;
    }
    case Payload::SubscriptionSuspended:
      if (auto* sub = touch(e.payload_as_SubscriptionSuspended()->subscription_id())) {
        sub->status = SubscriptionStatus::kSuspended;
      }
      break;
    case Payload::SubscriptionReactivated:
      if (auto* sub = touch(e.payload_as_SubscriptionReactivated()->subscription_id())) {
        sub->status = SubscriptionStatus::kActive;
      }
      break;
    case Payload::SubscriptionCancelled:
      if (auto* sub = touch(e.payload_as_SubscriptionCancelled()->subscription_id())) {
        sub->status = SubscriptionStatus::kDeleted;
      }
      break;
    case Payload::SubscriptionRenamed: {
      const auto* p = e.payload_as_SubscriptionRenamed();
      if (auto* sub = touch(p->subscription_id())) sub->friendly_name = Str(p->friendly_name());
      break;
    }
    case Payload::SubscriptionAutoRenewChanged: {
      const auto* p = e.payload_as_SubscriptionAutoRenewChanged();
      if (auto* sub = touch(p->subscription_id())) sub->auto_renew = p->auto_renew();
      break;
    }
    case Payload::SubscriptionRenewed: {
      const auto* p = e.payload_as_SubscriptionRenewed();
      if (auto* sub = touch(p->subscription_id())) {
        sub->term_start_us = p->term_start_us();
        sub->term_duration = Str(p->term_duration());
        sub->billing_cycle = Str(p->billing_cycle());
        sub->unit_price = p->unit_price();
        sub->currency = Str(p->currency());
        sub->quantity = p->quantity();
        sub->seats = {Seats{sub->quantity, p->term_start_us()}};  // a new window for every seat
        sub->next_term.reset();
        if (p->offer_id() != nullptr && p->offer_id()->size() > 0) sub->offer_id = Str(p->offer_id());  // an upgrade
      }
      break;
    }
    case Payload::SubscriptionNextTermScheduled: {
      const auto* p = e.payload_as_SubscriptionNextTermScheduled();
      if (auto* sub = touch(p->subscription_id())) {
        sub->next_term = NextTerm{p->quantity(), Str(p->term_duration()), Str(p->billing_cycle()), Str(p->offer_id())};
      }
      break;
    }
    case Payload::SubscriptionNextTermCleared:
      if (auto* sub = touch(e.payload_as_SubscriptionNextTermCleared()->subscription_id())) sub->next_term.reset();
      break;
    case Payload::SubscriptionExpired: {
      const auto* p = e.payload_as_SubscriptionExpired();
      if (auto* sub = touch(p->subscription_id())) {
        sub->status = SubscriptionStatus::kExpired;
        sub->status_since_us = p->at_us();
      }
      break;
    }
    case Payload::SubscriptionDisabled: {
      const auto* p = e.payload_as_SubscriptionDisabled();
      if (auto* sub = touch(p->subscription_id())) {
        sub->status = SubscriptionStatus::kDisabled;
        sub->status_since_us = p->at_us();
        sub->auto_renew = false;
      }
      break;
    }
    case Payload::SubscriptionDeleted: {
      const auto* p = e.payload_as_SubscriptionDeleted();
      if (auto* sub = touch(p->subscription_id())) {
        sub->status = SubscriptionStatus::kDeleted;
        sub->status_since_us = p->at_us();
      }
      break;
    }
    case Payload::CustomerAgreementAccepted: {
      const auto* p = e.payload_as_CustomerAgreementAccepted();
      Agreement a{Str(p->template_id()), Str(p->agreement_type()), p->date_agreed_us(), Str(e.partner_id()), at, {}};
      const auto* sealed = p->sealed_contact();
      if (sealed != nullptr && s.personal_key) {
        auto fields = personal::Open(*s.personal_key, s.customer_id, {sealed->data(), sealed->size()});
        if (fields.ok()) a.contact = std::move(*fields);
      }
      s.agreements.push_back(std::move(a));
      break;
    }
    case Payload::CustomerPersonalDataErased:
      s.personal_data_erased = true;
      s.personal_key.reset();
      for (Agreement& a : s.agreements) a.contact = {};
      // The non-personal fields (culture, language, city, country, ...) stay.
      s.billing.email.clear();
      s.billing.default_address.first_name.clear();
      s.billing.default_address.last_name.clear();
      s.billing.default_address.address_line1.clear();
      s.billing.default_address.address_line2.clear();
      s.billing.default_address.address_line3.clear();
      s.billing.default_address.phone_number.clear();
      break;
    default:
      break;  // a newer event type: skipped
  }
}

}  // namespace tally::domain
