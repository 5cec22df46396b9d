// What a request says, as pure functions of its parts: the target (path
// segments and query, percent-decoded), If-Match, and the JSON bodies turned
// into domain commands. No I/O: the API calls these, and so does the fuzz
// target for request parsing (tests/fuzz/request_fuzz.cc).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/domain/commands.h"

namespace tally::server {

struct Target {
  std::vector<std::string> path;             // decoded, non-empty segments
  std::map<std::string, std::string> query;  // decoded; a repeated key keeps the last value
};

// "/v1/customers/x?size=5": kInvalidQuery for malformed percent-encoding,
// kRouteNotFound for a target that is not an absolute path.
Result<Target> ParseTarget(std::string_view target);

// If-Match: an ETag this API returned ("N", W/"N" or N); nullopt when the
// header is absent (`value` nullopt). kInvalidField otherwise.
Result<std::optional<uint64_t>> ParseIfMatch(std::optional<std::string_view> value);

// The token of an Authorization header (RFC 6750 2.1: "Bearer" in any
// case, one or more spaces, the token); kUnauthorized, with `hint` (how to
// send one), when the header is absent (`value` nullopt), of another scheme,
// or without a token.
Result<std::string_view> ParseBearer(std::optional<std::string_view> value, std::string_view hint);

// ASCII letters compared in any case (media types, GUIDs, currency codes).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Content-Type of a request body: OK for application/json in any case, with
// parameters (`; charset=utf-8`); kUnsupportedMediaType for any other type,
// a charset other than UTF-8, or a malformed value.
Status CheckJsonMediaType(std::string_view content_type);

// Bodies (already through ParseBody) to commands. Every error is a 4xx code
// naming the field's path. Unknown fields are errors.
Result<domain::AddCustomer> AddCustomerFromJson(const nlohmann::json& body);
Result<domain::BillingProfileInput> BillingFromJson(const nlohmann::json& body);
// POST /v1/customers/{id}/agreements (Partner Center's Agreement resource),
// and `agreement` in a new customer's body: primaryContact {firstName,
// lastName, email, phoneNumber?}, dateAgreed, templateId, type.
Result<domain::AgreementInput> AgreementFromJson(const nlohmann::json& body);

// An Order resource (Partner Center's order-resources.md) as a POST or
// PATCH body. Honoured: referenceCustomerId (the caller checks it against
// the path), billingCycle (the default of lines without their own),
// currencyCode (the caller checks it against the catalog's), and per line
// offerId, quantity, friendlyName, billingCycle, termDuration,
// parentSubscriptionId. A line with a subscriptionId is one
// the order has (a whole order sent back): its fields as sent are kept in
// `sent`, for the caller to compare with the stored line. The read-only and
// unmodelled fields of the resource are accepted (see kOrderIgnored...).
struct OrderLineInput {
  domain::LineItem item;        // billing_cycle empty: the order's, else monthly
  std::string subscription_id;  // set: a line the order has
  nlohmann::json sent;          // the line's fields as sent (camelCase keys)
};
struct OrderInput {
  std::optional<std::string> id;
  std::optional<std::string> reference_customer_id;
  std::optional<std::string> currency_code;
  std::string billing_cycle;                        // lower-case; empty when absent or "none"
  std::map<std::string, nlohmann::json> read_only;  // creationDate, status: compared by a PATCH
  std::vector<OrderLineInput> lines;
};
Result<OrderInput> OrderFromJson(const nlohmann::json& body);
// The lines of a new order (a POST): none may name a subscription or a
// parent; lines without a billingCycle take the order's, else monthly.
Result<std::vector<domain::LineItem>> NewOrderLines(const OrderInput& order);

// Fields of Partner Center's resources tally accepts and does not keep (the
// README's API section lists them). An order's `position` is tally's own:
// the log position a POST or PATCH answers with, sent back with the rest.
inline constexpr const char* kOrderIgnoredFields[] = {"alternateId", "transactionType", "currencySymbol", "links",
                                                     "attributes", "position"};
inline constexpr const char* kOrderLineIgnoredFields[] = {
    "links", "attributes", "transactionType", "partnerIdOnRecord", "provisioningContext", "renewsTo",
    "customTermEndDate", "attestationAccepted", "pricing", "purchaseCommitment"};
inline constexpr const char* kCustomerIgnoredFields[] = {
    "id", "commerceId", "relationshipToPartner", "allowDelegatedAccess", "userCredentials", "customDomains",
    "associatedPartnerId", "enableGDAPByDefault", "links", "attributes"};
inline constexpr const char* kCompanyProfileIgnoredFields[] = {"tenantId", "id", "links", "attributes"};
inline constexpr const char* kBillingProfileIgnoredFields[] = {"id", "firstName", "lastName", "links", "attributes"};
inline constexpr const char* kAddressIgnoredFields[] = {"middleName", "region"};
// An Agreement sent back as GET shows it.
inline constexpr const char* kAgreementIgnoredFields[] = {"agreementLink", "userId", "links", "attributes"};
// A PATCH of a subscription: quantity, status, friendlyName and
// autoRenewEnabled change it (ids and If-Match are the caller's). The body
// may be the whole Subscription resource as GET returned it (the SDK's
// update pattern): the read-only fields tally returns are collected in
// `read_only`, for the caller to compare with the stored subscription;
// `attributes`, `links` and the Partner Center Subscription fields tally
// does not model are accepted and ignored. Any other field is an error.
struct SubscriptionPatch {
  domain::UpdateSubscription change;
  std::map<std::string, nlohmann::json> read_only;  // field -> value sent
};
Result<SubscriptionPatch> SubscriptionPatchFromJson(const nlohmann::json& body);

// The fields of a Subscription that cannot change, as tally returns them.
extern const char* const kSubscriptionReadOnlyFields[15];

}  // namespace tally::server
