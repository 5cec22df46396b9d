#include "engine/domain/fingerprint.h"

#include <openssl/sha.h>

#include <nlohmann/json.hpp>

namespace tally::domain {

NLOHMANN_JSON_SERIALIZE_ENUM(SubscriptionStatus, {{SubscriptionStatus::kActive, "active"},
                                                  {SubscriptionStatus::kSuspended, "suspended"},
                                                  {SubscriptionStatus::kDeleted, "deleted"},
                                                  {SubscriptionStatus::kExpired, "expired"},
                                                  {SubscriptionStatus::kDisabled, "disabled"}})
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(AddressInput, first_name, last_name, address_line1, address_line2,
                                   address_line3, city, state, postal_code, country, phone_number)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(BillingProfileInput, email, culture, language, company_name,
                                   default_address)
// The term only when given, so that fingerprints stored before terms
// existed still match their retries.
void to_json(nlohmann::json& j, const LineItem& i) {
  j = {{"offer_id", i.offer_id}, {"quantity", i.quantity}, {"friendly_name", i.friendly_name},
       {"billing_cycle", i.billing_cycle}, {"parent_subscription_id", i.parent_subscription_id}};
  if (!i.term_duration.empty()) j["term_duration"] = i.term_duration;
}

// The contact is taken out into the personal part (Fingerprint).
void to_json(nlohmann::json& j, const AgreementInput& a) {
  j = {{"template_id", a.template_id},
       {"type", a.type},
       {"date_agreed_us", a.date_agreed_us},
       {"contact",
        {{"first_name", a.first_name}, {"last_name", a.last_name}, {"email", a.email},
         {"phone_number", a.phone_number}}}};
}

namespace {

template <typename T>
nlohmann::json Opt(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// The personal fields of a billing profile (what decide.cc seals), moved
// from `billing` into their own object.
nlohmann::json TakePersonal(nlohmann::json& billing) {
  nlohmann::json personal = {{"email", billing["email"]}};
  billing.erase("email");
  nlohmann::json& address = billing["default_address"];
  for (const char* field : {"first_name", "last_name", "address_line1", "address_line2", "address_line3",
                            "phone_number"}) {
    personal[field] = address[field];
    address.erase(field);
  }
  return personal;
}

std::string Sha256Hex(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

nlohmann::json ToJson(const Command& command) {
  return std::visit(
      [](const auto& c) -> nlohmann::json {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, AddCustomer>) {
          nlohmann::json j = {{"domain_prefix", c.domain_prefix}, {"company_name", c.company_name},
                              {"registration_number", c.registration_number}, {"billing", c.billing},
                              {"line_items", c.line_items}};
          // Said only when not the default, so that fingerprints stored
          // before suffixes existed still match their retries.
          if (c.domain_suffix != "onmicrosoft.com") j["domain_suffix"] = c.domain_suffix;
          if (c.agreement) j["agreement"] = *c.agreement;  // likewise
          return j;
        } else if constexpr (std::is_same_v<T, UpdateBillingProfile>) {
          return {{"customer_id", c.customer_id}, {"billing", c.billing},
                  {"expected_version", Opt(c.expected_version)}};
        } else if constexpr (std::is_same_v<T, CreateOrder>) {
          return {{"customer_id", c.customer_id}, {"line_items", c.line_items}};
        } else if constexpr (std::is_same_v<T, AddAddOn>) {
          nlohmann::json j = {{"customer_id", c.customer_id}, {"order_id", c.order_id}};
          // One line is fingerprinted as before several were allowed, so that
          // stored fingerprints of older requests still match their retries.
          if (c.items.size() == 1) j["item"] = c.items[0];
          else j["items"] = c.items;
          return j;
        } else if constexpr (std::is_same_v<T, UpdateSubscription>) {
          nlohmann::json j = {{"customer_id", c.customer_id}, {"subscription_id", c.subscription_id},
                  {"quantity", Opt(c.quantity)}, {"status", Opt(c.status)},
                  {"friendly_name", Opt(c.friendly_name)}, {"auto_renew", Opt(c.auto_renew)},
                  {"expected_version", Opt(c.expected_version)}};
          if (c.next_term) {  // only when given: stored fingerprints of older requests still match
            j["next_term"] = {{"quantity", c.next_term->quantity}, {"term_duration", c.next_term->term_duration},
                              {"billing_cycle", c.next_term->billing_cycle}, {"offer_id", c.next_term->offer_id}};
          }
          return j;
        } else if constexpr (std::is_same_v<T, RequestRelationship>) {
          return {{"customer_id", c.customer_id}};
        } else if constexpr (std::is_same_v<T, AcceptRelationship>) {
          return {{"customer_id", c.customer_id}, {"invitation_id", c.invitation_id},
                  {"by_serving_partner", c.by_serving_partner}};
        } else if constexpr (std::is_same_v<T, RemoveRelationship>) {
          return {{"customer_id", c.customer_id}, {"partner_id", c.partner_id},
                  {"by_customer", c.by_customer}};
        } else if constexpr (std::is_same_v<T, AdvanceSubscription>) {
          // One subscription as before there could be several: stored
          // fingerprints of such requests still match their retries.
          if (c.subscription_ids.size() == 1) {
            return {{"customer_id", c.customer_id}, {"subscription_id", c.subscription_ids[0]}, {"due_us", c.due_us}};
          }
          return {{"customer_id", c.customer_id}, {"subscription_ids", c.subscription_ids}, {"due_us", c.due_us}};
        } else if constexpr (std::is_same_v<T, ConfirmAgreement>) {
          return {{"customer_id", c.customer_id}, {"agreement", c.agreement}};
        } else {
          static_assert(std::is_same_v<T, ForgetCustomer>);
          return {{"customer_id", c.customer_id}, {"reason", c.reason}};
        }
      },
      command);
}

}  // namespace

std::string Fingerprint(const Command& command, const CommandMeta& meta) {
  nlohmann::json fields = ToJson(command);
  std::optional<nlohmann::json> personal;
  if (fields.contains("billing")) personal = TakePersonal(fields["billing"]);
  if (fields.contains("agreement")) {  // the contact who accepted it is personal too
    if (!personal) personal = nlohmann::json::object();
    (*personal)["agreement_contact"] = std::move(fields["agreement"]["contact"]);
    fields["agreement"].erase("contact");
  }
  const nlohmann::json canonical = {
      {"partner", meta.partner_id}, {"command", CommandName(command)}, {"fields", std::move(fields)}};
  std::string out = Sha256Hex(canonical.dump());  // object keys sorted: canonical
  if (personal) out += ":" + Sha256Hex(personal->dump());
  return out;
}

}  // namespace tally::domain
