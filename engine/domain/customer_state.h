// The customer aggregate's state, rebuilt from its stream by Evolve. One
// stream per customer ("customer-<id>") holds its profile, its partners,
// pending invitations and every partner's subscriptions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/domain/catalog.h"
#include "engine/domain/commands.h"
#include "engine/domain/terms.h"
#include "engine/personal/personal_data.h"
#include "events/events_generated.h"

namespace tally::domain {

struct Subscription {
  std::string id;
  std::string order_id;
  std::string offer_id;
  std::string friendly_name;
  int32_t quantity = 0;
  std::string parent_id;  // empty for base subscriptions
  std::string billing_cycle;
  bool auto_renew = true;
  std::string partner_id;
  SubscriptionStatus status = SubscriptionStatus::kActive;
  int64_t created_at_us = 0;
  int64_t updated_at_us = 0;
  // New commerce: the plan and price bought, and when the term began.
  std::string term_duration = "P1M";
  int64_t unit_price = 0;  // minor units of `currency`
  std::string currency;
  int64_t term_start_us = 0;
  // The seats by when they were added, oldest first (they sum to
  // `quantity`); a decrease removes the newest.
  std::vector<Seats> seats;
  int64_t status_since_us = 0;  // expired, disabled, deleted by the lifecycle: from when
  std::optional<NextTerm> next_term;  // scheduled changes for the next renewal

  bool operator==(const Subscription&) const = default;
};

struct Relationship {
  std::string partner_id;
  std::string invitation_id;  // empty for the partner that created the customer
  int64_t since_us = 0;
  bool operator==(const Relationship&) const = default;
};

struct Invitation {
  std::string id;
  std::string partner_id;
  int64_t requested_at_us = 0;
  bool operator==(const Invitation&) const = default;
};

// A confirmed acceptance of a customer agreement.
struct Agreement {
  std::string template_id;
  std::string type;  // "MicrosoftCustomerAgreement"
  int64_t date_agreed_us = 0;
  std::string partner_id;  // who confirmed it
  int64_t confirmed_at_us = 0;
  // The contact who accepted it (email, first_name, last_name,
  // phone_number), in clear with personal_key; empty without it or erased.
  personal::Fields contact;
  bool operator==(const Agreement&) const = default;
};

struct CustomerState {
  bool exists = false;
  uint64_t version = 0;  // the stream version: the customer's etag
  std::string customer_id;
  std::string domain;
  std::string company_name;
  std::string registration_number;
  std::string admin_user_name;
  Instance instance = Instance::kGlobal;
  // In clear: opened with personal_key. Empty once erased, and empty when
  // the state was loaded without the key.
  BillingProfileInput billing;
  // The customer's personal-data key; set by whoever loads the state (it is
  // not in the events), before Evolve: Evolve opens the sealed fields with it.
  std::optional<personal::Key> personal_key;
  std::map<std::string, Relationship> partners;     // by partner id
  std::map<std::string, Invitation> invitations;    // pending, by invitation id
  std::map<std::string, Subscription> subscriptions;  // by subscription id
  std::vector<Agreement> agreements;  // in the order they were confirmed
  bool personal_data_erased = false;
  int64_t created_at_us = 0;
  int64_t updated_at_us = 0;

  bool operator==(const CustomerState&) const = default;

  // True once the Microsoft Customer Agreement is accepted.
  bool HasAgreement() const;
  // A subscription visible to `partner_id`, or nullptr.
  const Subscription* FindSubscription(const std::string& id, const std::string& partner_id) const;
};

// Applies one stored event of this customer's stream. Unknown event types
// leave the state as it is apart from the version (forward compatibility).
// Sealed personal fields are opened with state.personal_key; without it (or
// when they do not open) they stay empty.
void Evolve(CustomerState& state, const events::Envelope& event);

}  // namespace tally::domain
