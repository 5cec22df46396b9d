#include "tools/tallyd/server/request.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "engine/domain/validation.h"
#include "projections/as_of.h"
#include "tools/tallyd/server/json_input.h"

namespace tally::server {
namespace {

using nlohmann::json;

std::string PercentDecode(std::string_view s, bool* ok) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      int v = 0;
      if (i + 2 >= s.size() + 0 || std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16).ptr != s.data() + i + 3) {
        *ok = false;
        return {};
      }
      out.push_back(static_cast<char>(v));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Result<domain::AddressInput> ParseAddress(const json& value, const std::string& path) {
  TALLY_RETURN_IF_ERROR(ExpectObject(value, path));
  Fields f(value, path);
  domain::AddressInput a;
  std::pair<const char*, std::string*> strings[] = {
      {"firstName", &a.first_name}, {"lastName", &a.last_name},     {"addressLine1", &a.address_line1},
      {"addressLine2", &a.address_line2}, {"addressLine3", &a.address_line3}, {"city", &a.city},
      {"state", &a.state},          {"postalCode", &a.postal_code}, {"country", &a.country},
      {"phoneNumber", &a.phone_number}};
  for (auto& [key, target] : strings) {
    auto v = f.OptString(key);
    if (!v.ok()) return v.error();
    *target = v->value_or("");
  }
  for (const char* ignored : kAddressIgnoredFields) (void)f.OptAny(ignored);
  TALLY_RETURN_IF_ERROR(f.Done());
  return a;
}

Result<domain::BillingProfileInput> ParseBilling(const json& value, const std::string& path) {
  TALLY_RETURN_IF_ERROR(ExpectObject(value, path));
  Fields f(value, path);
  domain::BillingProfileInput b;
  std::pair<const char*, std::string*> strings[] = {
      {"email", &b.email}, {"culture", &b.culture}, {"language", &b.language}, {"companyName", &b.company_name}};
  for (auto& [key, target] : strings) {
    auto v = f.OptString(key);
    if (!v.ok()) return v.error();
    *target = v->value_or("");
  }
  auto address = f.OptObject("defaultAddress");
  if (!address.ok()) return address.error();
  if (*address == nullptr) return Error(ErrorCode::kInvalidField, f.PathOf("defaultAddress") + " is required");
  auto a = ParseAddress(**address, f.PathOf("defaultAddress"));
  if (!a.ok()) return a.error();
  b.default_address = *a;
  domain::CanonicalizeCodes(b);
  for (const char* ignored : kBillingProfileIgnoredFields) (void)f.OptAny(ignored);
  TALLY_RETURN_IF_ERROR(f.Done());
  return b;
}

// dateAgreed as Partner Center's tools send it: a date (its midnight), or
// a date and time in UTC with or without the Z (.NET's DateTime), with up
// to seven digits of a second (they are cut to six).
Result<int64_t> ParseDateAgreed(std::string text, const std::string& path) {
  if (text.size() == 10) text += "T00:00:00";
  if (text.ends_with("+00:00")) text.resize(text.size() - 6);
  if (text.ends_with('Z') || text.ends_with('z')) text.pop_back();
  if (const size_t dot = text.find('.'); dot != std::string::npos && text.size() - dot > 7) text.resize(dot + 7);
  auto at = projections::ParseUtcTime(text + "Z");
  if (!at.ok()) {
    return Error(ErrorCode::kInvalidField, path + " must be a date or a UTC date and time, like 2019-08-26T00:00:00Z");
  }
  return *at;
}

Result<domain::AgreementInput> ParseAgreement(const json& value, const std::string& path) {
  TALLY_RETURN_IF_ERROR(ExpectObject(value, path));
  Fields f(value, path);
  domain::AgreementInput a;
  auto contact = f.OptObject("primaryContact");
  if (!contact.ok()) return contact.error();
  if (*contact == nullptr) return Error(ErrorCode::kInvalidField, f.PathOf("primaryContact") + " is required");
  TALLY_RETURN_IF_ERROR(ExpectObject(**contact, f.PathOf("primaryContact")));
  Fields c(**contact, f.PathOf("primaryContact"));
  for (auto [key, target] : {std::pair{"firstName", &a.first_name}, std::pair{"lastName", &a.last_name},
                             std::pair{"email", &a.email}, std::pair{"phoneNumber", &a.phone_number}}) {
    auto v = c.OptString(key);
    if (!v.ok()) return v.error();
    *target = v->value_or("");
  }
  TALLY_RETURN_IF_ERROR(c.Done());
  auto date = f.String("dateAgreed");
  if (!date.ok()) return date.error();
  auto at = ParseDateAgreed(*date, f.PathOf("dateAgreed"));
  if (!at.ok()) return at.error();
  a.date_agreed_us = *at;
  auto template_id = f.String("templateId");
  if (!template_id.ok()) return template_id.error();
  a.template_id = *template_id;
  auto type = f.String("type");
  if (!type.ok()) return type.error();
  a.type = *type;
  for (const char* ignored : kAgreementIgnoredFields) (void)f.OptAny(ignored);
  TALLY_RETURN_IF_ERROR(f.Done());
  return a;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// billingCycle in any case ("Monthly" from the SDK's enum names); "none"
// (what Partner Center shows on an order of several cycles) is no choice.
Result<std::string> BillingCycle(Fields& f) {
  auto cycle = f.OptString("billingCycle");
  if (!cycle.ok()) return cycle.error();
  std::string c = Lower(cycle->value_or(""));
  return c == "none" ? std::string() : c;
}

// One OrderLineItem. Whether it may name a subscription or a parent is the
// caller's to say (NewOrderLines: a new order's lines may not).
Result<OrderLineInput> ParseLineItem(const json& value, const std::string& path) {
  TALLY_RETURN_IF_ERROR(ExpectObject(value, path));
  Fields f(value, path);
  OrderLineInput line;
  domain::LineItem& item = line.item;
  auto offer = f.String("offerId");
  if (!offer.ok()) return offer.error();
  item.offer_id = *offer;
  auto quantity = f.OptInt("quantity");
  if (!quantity.ok()) return quantity.error();
  if (!quantity->has_value()) return Error(ErrorCode::kInvalidField, f.PathOf("quantity") + " is required");
  item.quantity = **quantity;
  auto name = f.OptString("friendlyName");
  if (!name.ok()) return name.error();
  item.friendly_name = name->value_or("");
  auto cycle = BillingCycle(f);
  if (!cycle.ok()) return cycle.error();
  item.billing_cycle = *cycle;
  auto number = f.OptInt("lineItemNumber");  // positional: lines are numbered as they are bought
  if (!number.ok()) return number.error();
  if (number->has_value() && **number < 0) {
    return Error(ErrorCode::kInvalidField, f.PathOf("lineItemNumber") + " must not be negative");
  }
  auto term = f.OptString("termDuration");
  if (!term.ok()) return term.error();
  if (term->has_value()) {  // ISO 8601, any case; the domain says whether the offer has it (800121)
    item.term_duration = **term;
    for (char& c : item.term_duration) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  auto subscription = f.OptString("subscriptionId");
  if (!subscription.ok()) return subscription.error();
  auto parent = f.OptString("parentSubscriptionId");
  if (!parent.ok()) return parent.error();
  line.subscription_id = subscription->value_or("");
  item.parent_subscription_id = parent->value_or("");
  for (const char* ignored : kOrderLineIgnoredFields) (void)f.OptAny(ignored);
  TALLY_RETURN_IF_ERROR(f.Done());
  line.sent = value;
  return line;
}

Result<std::vector<OrderLineInput>> ParseLineItems(const json& array, const std::string& path) {
  std::vector<OrderLineInput> lines;
  for (size_t i = 0; i < array.size(); ++i) {
    auto line = ParseLineItem(array[i], path + "[" + std::to_string(i) + "]");
    if (!line.ok()) return line.error();
    lines.push_back(std::move(*line));
  }
  return lines;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

Result<std::string_view> ParseBearer(std::optional<std::string_view> value, std::string_view hint) {
  constexpr std::string_view kScheme = "Bearer";
  if (!value) return Error(ErrorCode::kUnauthorized, std::string(hint));
  std::string_view v = *value;
  if (v.size() <= kScheme.size() || !EqualsIgnoreCase(v.substr(0, kScheme.size()), kScheme) || v[kScheme.size()] != ' ') {
    return Error(ErrorCode::kUnauthorized, std::string(hint));
  }
  v.remove_prefix(kScheme.size());
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty()) return Error(ErrorCode::kUnauthorized, std::string(hint));
  return v;
}

Status CheckJsonMediaType(std::string_view content_type) {
  // RFC 9110 8.3.1: type "/" subtype *( OWS ";" OWS parameter ), type,
  // subtype and parameter names case-insensitive.
  const auto unsupported = [&] {
    return Error(ErrorCode::kUnsupportedMediaType,
                 "send the body as application/json (UTF-8), not '" +
                     std::string(content_type.substr(0, 64)) + "'");
  };
  size_t semi = content_type.find(';');
  if (!EqualsIgnoreCase(TrimSpace(content_type.substr(0, semi)), "application/json")) return unsupported();
  while (semi != std::string_view::npos) {
    std::string_view rest = content_type.substr(semi + 1);
    semi = rest.find(';');
    std::string_view parameter = TrimSpace(rest.substr(0, semi));
    if (parameter.empty()) continue;
    const size_t eq = parameter.find('=');
    if (eq == std::string_view::npos || eq == 0) return unsupported();
    std::string_view name = TrimSpace(parameter.substr(0, eq));
    std::string_view value = TrimSpace(parameter.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (EqualsIgnoreCase(name, "charset") && !EqualsIgnoreCase(value, "utf-8") && !EqualsIgnoreCase(value, "utf8")) {
      return unsupported();
    }
  }
  return OkStatus();
}

Result<Target> ParseTarget(std::string_view target) {
  Target out;
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  if (path.empty() || path[0] != '/') return Error(ErrorCode::kRouteNotFound, "the target must be an absolute path");
  bool ok = true;
  for (size_t start = 1; ok && start <= path.size();) {
    const size_t end = std::min(path.find('/', start), path.size());
    if (end > start) out.path.push_back(PercentDecode(path.substr(start, end - start), &ok));
    start = end + 1;
  }
  if (ok && q != std::string_view::npos) {
    std::string_view rest = target.substr(q + 1);
    while (ok && !rest.empty()) {
      const size_t amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      const size_t eq = pair.find('=');
      std::string key = PercentDecode(pair.substr(0, eq), &ok);
      std::string value = eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1), &ok);
      if (!key.empty()) out.query[std::move(key)] = std::move(value);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    }
  }
  if (!ok) return Error(ErrorCode::kInvalidQuery, "malformed percent-encoding in the request target");
  return out;
}

Result<std::optional<uint64_t>> ParseIfMatch(std::optional<std::string_view> value) {
  if (!value) return std::optional<uint64_t>();
  std::string_view v = *value;
  if (v.starts_with("W/")) v.remove_prefix(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  uint64_t version = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), version);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
    return Error(ErrorCode::kInvalidField, "If-Match must be an ETag this API returned");
  }
  return std::optional<uint64_t>(version);
}

Result<domain::AddCustomer> AddCustomerFromJson(const json& body) {
  TALLY_RETURN_IF_ERROR(ExpectObject(body, "the body"));
  Fields f(body, "");
  domain::AddCustomer add;
  auto company = f.OptObject("companyProfile");
  if (!company.ok()) return company.error();
  if (*company == nullptr) return Error(ErrorCode::kInvalidField, "companyProfile is required");
  {
    Fields c(**company, "companyProfile");
    auto domain_name = c.String("domain");
    if (!domain_name.ok()) return domain_name.error();
    auto initial = domain::ParseInitialDomain(*domain_name);
    if (!initial.ok()) return Error(initial.error().code(), "companyProfile." + initial.error().message());
    add.domain_prefix = std::move(initial->prefix);
    add.domain_suffix = std::move(initial->suffix);
    auto name = c.OptString("companyName");
    if (!name.ok()) return name.error();
    auto reg = c.OptString("organizationRegistrationNumber");
    if (!reg.ok()) return reg.error();
    for (const char* ignored : kCompanyProfileIgnoredFields) (void)c.OptAny(ignored);
    add.company_name = name->value_or("");
    add.registration_number = reg->value_or("");
    TALLY_RETURN_IF_ERROR(c.Done());
  }
  auto billing = f.OptObject("billingProfile");
  if (!billing.ok()) return billing.error();
  if (*billing == nullptr) return Error(ErrorCode::kInvalidField, "billingProfile is required");
  auto b = ParseBilling(**billing, "billingProfile");
  if (!b.ok()) return b.error();
  add.billing = std::move(*b);
  if (add.company_name.empty()) add.company_name = add.billing.company_name;
  for (const char* ignored : kCustomerIgnoredFields) (void)f.OptAny(ignored);
  auto agreement = f.OptObject("agreement");
  if (!agreement.ok()) return agreement.error();
  if (*agreement != nullptr) {
    auto a = ParseAgreement(**agreement, "agreement");
    if (!a.ok()) return a.error();
    add.agreement = std::move(*a);
  }
  if (body.contains("lineItems")) {
    auto items = f.Array("lineItems");
    if (!items.ok()) return items.error();
    auto parsed = ParseLineItems(**items, "lineItems");
    if (!parsed.ok()) return parsed.error();
    OrderInput first_order;  // the customer's first order: its lines are new ones
    first_order.lines = std::move(*parsed);
    auto lines = NewOrderLines(first_order);
    if (!lines.ok()) return lines.error();
    add.line_items = std::move(*lines);
  }
  TALLY_RETURN_IF_ERROR(f.Done());
  return add;
}

Result<domain::BillingProfileInput> BillingFromJson(const json& body) { return ParseBilling(body, "billingProfile"); }

Result<domain::AgreementInput> AgreementFromJson(const json& body) { return ParseAgreement(body, ""); }

Result<OrderInput> OrderFromJson(const json& body) {
  TALLY_RETURN_IF_ERROR(ExpectObject(body, "the body"));
  Fields f(body, "");
  OrderInput order;
  for (auto [key, target] : {std::pair{"id", &order.id}, std::pair{"referenceCustomerId", &order.reference_customer_id},
                             std::pair{"currencyCode", &order.currency_code}}) {
    auto v = f.OptString(key);
    if (!v.ok()) return v.error();
    *target = *v;
  }
  auto cycle = BillingCycle(f);
  if (!cycle.ok()) return cycle.error();
  order.billing_cycle = *cycle;
  for (const char* field : {"creationDate", "status"}) {
    if (const json* v = f.OptAny(field)) order.read_only.emplace(field, *v);
  }
  for (const char* ignored : kOrderIgnoredFields) (void)f.OptAny(ignored);
  auto items = f.Array("lineItems");
  if (!items.ok()) return items.error();
  // Whether lines may name subscriptions is the route's to say (a POST
  // refuses them: NewOrderLines).
  auto lines = ParseLineItems(**items, "lineItems");
  if (!lines.ok()) return lines.error();
  order.lines = std::move(*lines);
  TALLY_RETURN_IF_ERROR(f.Done());
  return order;
}

Result<std::vector<domain::LineItem>> NewOrderLines(const OrderInput& order) {
  std::vector<domain::LineItem> items;
  for (size_t i = 0; i < order.lines.size(); ++i) {
    const OrderLineInput& line = order.lines[i];
    const std::string path = "lineItems[" + std::to_string(i) + "]";
    if (!line.subscription_id.empty()) {
      return Error(ErrorCode::kInvalidField,
                   path + ".subscriptionId is given by tally when the line is bought; a new line has none");
    }
    if (!line.item.parent_subscription_id.empty()) {
      return Error(ErrorCode::kInvalidLineItems,
                   path + ".parentSubscriptionId: an add-on is bought by a PATCH of its parent's order");
    }
    items.push_back(line.item);
    if (items.back().billing_cycle.empty()) {
      items.back().billing_cycle = order.billing_cycle.empty() ? "monthly" : order.billing_cycle;
    }
  }
  return items;
}

const char* const kSubscriptionReadOnlyFields[15] = {
    "id",           "offerId",      "offerName",           "billingCycle",       "orderId",
    "isAddOn",      "creationDate", "lastModified",        "parentSubscriptionId", "termDuration",
    "renewalTermDuration", "effectiveStartDate", "commitmentEndDate", "commitmentEndDateTime",
    "cancellationAllowedUntilDate"};

Result<SubscriptionPatch> SubscriptionPatchFromJson(const json& body) {
  TALLY_RETURN_IF_ERROR(ExpectObject(body, "the body"));
  Fields f(body, "");
  SubscriptionPatch patch;
  for (const char* field : kSubscriptionReadOnlyFields) {
    if (const json* v = f.OptAny(field)) patch.read_only.emplace(field, *v);
  }
  // Partner Center's Subscription resource (subscription-resources.md) has
  // these too; tally does not keep them (yet), so a resource sent back with
  // them is accepted and they are ignored.
  for (const char* ignored :
       {"attributes", "links", "entitlementId", "unitType", "hasPurchasableAddons", "isTrial", "billingType",
        "refundOptions", "refundableQuantity", "isMicrosoftProduct",
        "partnerId", "attentionNeeded", "actionTaken", "contractType", "publisherName", "promotionId",
        "suspensionReasons", "productType", "customTermEndDate"}) {
    (void)f.OptAny(ignored);
  }
  domain::UpdateSubscription& u = patch.change;
  auto quantity = f.OptInt("quantity");
  if (!quantity.ok()) return quantity.error();
  auto status = f.OptString("status");
  if (!status.ok()) return status.error();
  auto name = f.OptString("friendlyName");
  if (!name.ok()) return name.error();
  auto renew = f.OptBool("autoRenewEnabled");
  if (!renew.ok()) return renew.error();
  auto next = f.OptObject("scheduledNextTermInstructions");
  if (!next.ok()) return next.error();
  if (*next != nullptr) {
    Fields n(**next, "scheduledNextTermInstructions");
    domain::NextTerm term;
    auto quantity = n.OptInt("quantity");
    if (!quantity.ok()) return quantity.error();
    if (!quantity->has_value()) return Error(ErrorCode::kInvalidField, n.PathOf("quantity") + " is required");
    term.quantity = **quantity;
    (void)n.OptAny("customTermEndDate");
    auto product = n.OptObject("product");
    if (!product.ok()) return product.error();
    if (*product != nullptr) {
      Fields p(**product, n.PathOf("product"));
      for (auto [key, target] : {std::pair{"productId", &term.offer_id}, std::pair{"termDuration", &term.term_duration},
                                 std::pair{"billingCycle", &term.billing_cycle}}) {
        auto v = p.OptString(key);
        if (!v.ok()) return v.error();
        *target = v->value_or("");
      }
      for (char& c : term.term_duration) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      term.billing_cycle = Lower(term.billing_cycle);
      for (const char* ignored : {"skuId", "availabilityId"}) (void)p.OptAny(ignored);
      TALLY_RETURN_IF_ERROR(p.Done());
    }
    TALLY_RETURN_IF_ERROR(n.Done());
    patch.change.next_term = std::move(term);
  }
  TALLY_RETURN_IF_ERROR(f.Done());
  u.quantity = *quantity;
  u.friendly_name = *name;
  u.auto_renew = *renew;
  if (status->has_value()) {
    const std::string& s = **status;
    if (s == "active") {
      u.status = domain::SubscriptionStatus::kActive;
    } else if (s == "suspended") {
      u.status = domain::SubscriptionStatus::kSuspended;
    } else if (s == "deleted") {
      u.status = domain::SubscriptionStatus::kDeleted;
    } else if (s == "expired" || s == "disabled") {
      // Statuses time gives, not a caller: accepted only as what is stored
      // (a whole resource sent back), compared like a read-only field.
      patch.read_only.emplace("status", s);
    } else {
      return Error(ErrorCode::kInvalidStatus, "status is active, suspended or deleted");
    }
  }
  return patch;
}

}  // namespace tally::server
