// The partner-center commands: plain data, validated by Decide (decide.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tally::domain {

// The partner id in the envelope of commands an operator issues with tallyctl
// (ForgetCustomer). Partner ids of the API cannot take it (partners.h).
inline constexpr char kOperatorId[] = "tally-operator";

// Who sent a command, and its request headers (MS-RequestId, MS-CorrelationId).
struct CommandMeta {
  std::string partner_id;
  std::string request_id;
  std::string correlation_id;
};

struct AddressInput {
  std::string first_name, last_name;
  std::string address_line1, address_line2, address_line3;
  std::string city, state, postal_code;
  std::string country;  // ISO 3166-1 alpha-2
  std::string phone_number;
  bool operator==(const AddressInput&) const = default;
};

struct BillingProfileInput {
  std::string email;
  std::string culture;   // e.g. en-US
  std::string language;  // e.g. en
  std::string company_name;
  AddressInput default_address;
  bool operator==(const BillingProfileInput&) const = default;
};

// One line of an order: a new subscription (or an add-on, with a parent).
struct LineItem {
  std::string offer_id;
  int64_t quantity = 0;
  std::string friendly_name;
  std::string billing_cycle = "monthly";
  std::string parent_subscription_id;  // add-ons only
  // "P1M", "P1Y", "P3Y"; empty: the billing cycle's own length (monthly
  // P1M, annual P1Y, triennial P3Y), see EffectiveTerm (decide.h).
  std::string term_duration;
};

// The Microsoft Customer Agreement as a partner attests the customer
// accepted it (Partner Center's Agreement resource). In the global instance
// nothing is bought for a customer before one.
struct AgreementInput {
  std::string first_name, last_name, email, phone_number;  // primaryContact; phone optional
  int64_t date_agreed_us = 0;  // dateAgreed
  std::string template_id;     // kCustomerAgreementTemplateId
  std::string type = "MicrosoftCustomerAgreement";
  bool operator==(const AgreementInput&) const = default;
};

// The template of the Microsoft Customer Agreement this service offers
// (GET /v1/agreements?agreementType=MicrosoftCustomerAgreement).
inline constexpr char kCustomerAgreementTemplateId[] = "998b88de-aa99-4388-a42c-1b3517d49490";
inline constexpr char kCustomerAgreementType[] = "MicrosoftCustomerAgreement";

struct AddCustomer {
  std::string domain_prefix;  // <prefix>.<domain_suffix>
  std::string domain_suffix = "onmicrosoft.com";  // one of kInitialDomainSuffixes (validation.h)
  std::string company_name;
  std::string registration_number;
  BillingProfileInput billing;
  std::vector<LineItem> line_items;  // the optional first order
  // The customer's acceptance, given with the new customer so that its
  // first order can be in the same step (global instance).
  std::optional<AgreementInput> agreement;
};

// POST /v1/customers/{id}/agreements.
struct ConfirmAgreement {
  std::string customer_id;
  AgreementInput agreement;
};

struct UpdateBillingProfile {
  std::string customer_id;
  BillingProfileInput billing;
  std::optional<uint64_t> expected_version;  // If-Match
};

struct CreateOrder {
  std::string customer_id;
  std::vector<LineItem> line_items;
};

// Order lines with a parent subscription each, added to an existing order
// together (all or none).
struct AddAddOn {
  std::string customer_id;
  std::string order_id;
  std::vector<LineItem> items;
};

// expired and disabled come with time (new commerce's lifecycle): a term
// ended without auto-renew, or expired/suspended long enough.
enum class SubscriptionStatus { kActive, kSuspended, kDeleted, kExpired, kDisabled };
// "active", "suspended", "deleted", "expired", "disabled": as rows and the
// API show it.
std::string_view StatusName(SubscriptionStatus status);

// scheduledNextTermInstructions: what the next term renews to (Partner
// Center's scheduled changes). Empty term or cycle: the current one.
struct NextTerm {
  int64_t quantity = 0;
  std::string term_duration;
  std::string billing_cycle;
  std::string offer_id;  // empty or the subscription's own (another offer, an upgrade, is not supported)
  bool operator==(const NextTerm&) const = default;
};

// Changes only what is set; unset fields keep their value.
struct UpdateSubscription {
  std::string customer_id;
  std::string subscription_id;
  std::optional<int64_t> quantity = std::nullopt;
  std::optional<SubscriptionStatus> status = std::nullopt;
  std::optional<std::string> friendly_name = std::nullopt;
  std::optional<bool> auto_renew = std::nullopt;
  std::optional<uint64_t> expected_version = std::nullopt;  // If-Match
  std::optional<NextTerm> next_term = std::nullopt;         // scheduled changes for the next term
};

struct RequestRelationship {
  std::string customer_id;
};

// The customer's side accepting a partner's invitation. Through the HTTP
// API the customer's side is a partner that already serves the customer (it
// holds the customer's delegated admin role): `by_serving_partner` is then
// set, and Decide checks that the acting partner serves the customer and is
// not the invited one.
struct AcceptRelationship {
  std::string customer_id;
  std::string invitation_id;
  bool by_serving_partner = false;
};

// Ends `partner_id`'s relationship; `by_customer` when the customer ends it.
struct RemoveRelationship {
  std::string customer_id;
  std::string partner_id;
  bool by_customer = false;
};

// An operator erases the customer's personal data (right to erasure): its
// key is destroyed, so every sealed copy of the personal fields becomes
// unreadable. Not a partner's command: tallyctl forget issues it. A customer
// already erased decides nothing.
struct ForgetCustomer {
  std::string customer_id;
  std::string reason;
};

// The scheduler's command: for each of the customer's subscriptions named,
// its next lifecycle step that is due at `due_us` (renew, expire, disable or
// delete), decided from its state; nothing for one whose step was taken
// already or is not due yet, so that a restart or a second scheduler never
// takes a step twice (its request id also names the customer, the due time
// and the subscriptions). One command for all of a customer's subscriptions
// due at one instant: one append to its stream.
struct AdvanceSubscription {
  std::string customer_id;
  std::vector<std::string> subscription_ids;  // 1 to kMaxAdvancedAtOnce
  int64_t due_us = 0;
};
inline constexpr size_t kMaxAdvancedAtOnce = 100;
// The request id the scheduler sends a step with: "lifecycle-<sub>-<due>"
// for one subscription (as before steps were grouped), else
// "lifecycle-<customer>-<due>-<n>-<FNV-1a 64 of the ids, hex>": the same
// step, retried, carries the same id.
std::string LifecycleRequestId(const AdvanceSubscription& step);
// Adds a subscription due at `due_us` to `steps`: to the last step when it
// is the same customer's at the same instant and has room, else as a new
// step. Fed in due-list order, it makes one step per customer and instant.
void AddDueSubscription(std::vector<AdvanceSubscription>& steps, std::string_view customer_id,
                        std::string_view subscription_id, int64_t due_us);

using Command = std::variant<AddCustomer, UpdateBillingProfile, CreateOrder, AddAddOn,
                             UpdateSubscription, RequestRelationship, AcceptRelationship,
                             RemoveRelationship, ForgetCustomer, AdvanceSubscription, ConfirmAgreement>;

// "AddCustomer", ... for metrics and logs.
const char* CommandName(const Command& command);

}  // namespace tally::domain
