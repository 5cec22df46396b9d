#include "tools/tallyd/server/responses.h"

#include "projections/billing/billing.h"

#include <algorithm>
#include <tuple>

#include "engine/domain/terms.h"
#include "projections/as_of.h"
#include "projections/billing/billing.h"

namespace tally::server {

using projections::FormatUtcTime;

namespace {

// Where the Microsoft Customer Agreement can be read (Partner Center's link).
constexpr char kCustomerAgreementLink[] = "https://aka.ms/customeragreement";

void WriteAddress(JsonWriter& w, const projections::CustomerAddress& a) {
  w.BeginObject()
      .Field("firstName", a.first_name)
      .Field("lastName", a.last_name)
      .Field("addressLine1", a.address_line1)
      .Field("addressLine2", a.address_line2)
      .Field("addressLine3", a.address_line3)
      .Field("city", a.city)
      .Field("state", a.state)
      .Field("postalCode", a.postal_code)
      .Field("country", a.country)
      .Field("phoneNumber", a.phone_number)
      .EndObject();
}

void ObjectType(JsonWriter& w, std::string_view type) {
  w.Key("attributes").BeginObject().Field("objectType", type).EndObject();
}

}  // namespace

void WriteLink(JsonWriter& w, std::string_view name, std::string_view uri) {
  w.Key(name).BeginObject().Field("uri", uri).Field("method", "GET").Key("headers").BeginArray().EndArray().EndObject();
}

nlohmann::json LinkJson(const std::string& uri) {
  return {{"uri", uri}, {"method", "GET"}, {"headers", nlohmann::json::array()}};
}

void BeginCustomer(JsonWriter& w, const projections::CustomerRow& c, std::string_view partner,
                   std::string_view password, bool times) {
  std::string_view role;
  for (const auto& p : c.partners) {
    if (p.partner_id == partner) role = p.role;
  }
  w.BeginObject().Field("id", c.id);
  w.Key("companyProfile")
      .BeginObject()
      .Field("tenantId", c.id)
      .Field("domain", c.domain)
      .Field("companyName", c.company_name)
      .Field("organizationRegistrationNumber", c.registration_number);
  ObjectType(w, "CustomerCompanyProfile");
  w.EndObject();
  w.Key("billingProfile")
      .BeginObject()
      .Field("email", c.email)
      .Field("culture", c.culture)
      .Field("language", c.language)
      .Field("companyName", c.billing_company_name)
      .Key("defaultAddress");
  WriteAddress(w, c.address);
  ObjectType(w, "CustomerBillingProfile");
  w.EndObject();
  w.Key("userCredentials").BeginObject().Field("userName", c.admin_user_name);
  if (!password.empty()) w.Field("password", password);
  w.EndObject();
  w.Field("relationshipToPartner", role).Field("status", c.status).Field("instance", c.instance);
  if (times) w.Field("createdAt", FormatUtcTime(c.created_us)).Field("updatedAt", FormatUtcTime(c.updated_us));
  w.Key("links").BeginObject();
  WriteLink(w, "self", "/v1/customers/" + c.id);
  w.EndObject();
  ObjectType(w, "Customer");
}

void WriteCustomer(JsonWriter& w, const projections::CustomerRow& c, std::string_view partner) {
  BeginCustomer(w, c, partner);
  w.EndObject();
}

void WriteSubscription(JsonWriter& w, const projections::SubscriptionRow& s, const domain::Catalog& catalog,
                       int64_t now_us) {
  const domain::Offer* offer = catalog.Find(s.offer_id);
  w.BeginObject()
      .Field("id", s.id)
      .Field("offerId", s.offer_id)
      .Field("offerName", offer != nullptr ? std::string_view(offer->name) : std::string_view())
      .Field("friendlyName", s.friendly_name)
      .Field("quantity", s.quantity)
      .Field("status", s.status)
      .Field("billingCycle", s.billing_cycle)
      .Field("autoRenewEnabled", s.auto_renew)
      .Field("orderId", s.order_id)
      .Field("isAddOn", !s.parent_id.empty())
      .Field("creationDate", FormatUtcTime(s.created_us))
      .Field("lastModified", FormatUtcTime(s.updated_us));
  if (!s.parent_id.empty()) w.Field("parentSubscriptionId", s.parent_id);
  if (!s.term_duration.empty()) {  // empty in rows from before new commerce, until a rebuild
    const int64_t end_day = domain::CommitmentEndDay(s.term_start_us, s.term_duration);
    w.Field("termDuration", s.term_duration)
        .Field("renewalTermDuration", s.term_duration)
        .Field("effectiveStartDate", FormatUtcTime(s.term_start_us))
        .Field("commitmentEndDate", FormatUtcTime(end_day))
        .Field("commitmentEndDateTime", FormatUtcTime(domain::CommitmentEndTime(end_day)))
        .Field("cancellationAllowedUntilDate", FormatUtcTime(s.term_start_us + domain::kWindowMicros));
    w.Key("refundableQuantity").BeginObject().Field("totalQuantity", domain::RemovableSeats(s.seats, now_us));
    w.Key("details").BeginArray();
    for (const auto& seats : s.seats) {
      if (now_us >= seats.added_at_us + domain::kWindowMicros) continue;
      w.BeginObject()
          .Field("quantity", seats.quantity)
          .Field("allowedUntilDateTime", FormatUtcTime(seats.added_at_us + domain::kWindowMicros))
          .EndObject();
    }
    w.EndArray().EndObject();
    if (s.next_quantity > 0) {
      w.Key("scheduledNextTermInstructions").BeginObject();
      w.Key("product")
          .BeginObject()
          .Field("productId", s.next_offer_id.empty() ? s.offer_id : s.next_offer_id)
          .Field("termDuration", s.next_term_duration)
          .Field("billingCycle", s.next_billing_cycle)
          .EndObject();
      w.Field("quantity", s.next_quantity).EndObject();
    }
  }
  w.Key("links").BeginObject();
  WriteLink(w, "self", "/v1/customers/" + s.customer_id + "/subscriptions/" + s.id);
  WriteLink(w, "offer", "/v1/offers/" + s.offer_id);
  if (!s.parent_id.empty()) {
    WriteLink(w, "parentSubscription", "/v1/customers/" + s.customer_id + "/subscriptions/" + s.parent_id);
  }
  w.EndObject();
  ObjectType(w, "Subscription");
  w.EndObject();
}

std::vector<const projections::SubscriptionRow*> OrderLines(const std::vector<projections::SubscriptionRow>& subs,
                                                            std::string_view order_id) {
  std::vector<const projections::SubscriptionRow*> lines;
  for (const auto& s : subs) {
    if (s.order_id == order_id) lines.push_back(&s);
  }
  std::sort(lines.begin(), lines.end(), [](const auto* a, const auto* b) { return BoughtBefore(*a, *b); });
  return lines;
}

bool BoughtBefore(const projections::SubscriptionRow& a, const projections::SubscriptionRow& b) {
  return std::tie(a.created_position, a.id) < std::tie(b.created_position, b.id);
}

nlohmann::json OrderJson(const std::vector<const projections::SubscriptionRow*>& lines, const std::string& currency) {
  using nlohmann::json;
  const auto& first = *lines.front();
  const std::string customer = "/v1/customers/" + first.customer_id;
  json items = json::array();
  std::string cycle = first.billing_cycle;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& s = *lines[i];
    json line = {{"lineItemNumber", i},     {"offerId", s.offer_id},
                 {"subscriptionId", s.id},  {"friendlyName", s.friendly_name},
                 {"quantity", s.quantity},  {"billingCycle", s.billing_cycle},
                 {"termDuration", s.term_duration.empty() ? "P1M" : s.term_duration},
                 {"links", {{"subscription", LinkJson(customer + "/subscriptions/" + s.id)}}},
                 {"attributes", {{"objectType", "OrderLineItem"}}}};
    if (!s.parent_id.empty()) line["parentSubscriptionId"] = s.parent_id;
    items.push_back(std::move(line));
    if (s.billing_cycle != cycle) cycle = "none";  // Partner Center's word for an order of several cycles
  }
  return {{"id", first.order_id},
          {"referenceCustomerId", first.customer_id},
          {"billingCycle", cycle},
          {"currencyCode", currency},
          {"lineItems", std::move(items)},
          {"creationDate", FormatUtcTime(first.created_us)},
          {"status", "completed"},
          {"links", {{"self", LinkJson(customer + "/orders/" + first.order_id)}}},
          {"attributes", {{"objectType", "Order"}}}};
}

nlohmann::json OfferJson(const domain::Offer& o, const std::string& currency, int64_t now_us) {
  nlohmann::json prices = nlohmann::json::array();
  for (const domain::Price* p : o.PricesFrom(now_us)) {
    prices.push_back({{"termDuration", p->term_duration},
                      {"billingCycle", p->billing_cycle},
                      {"unitPrice", projections::MajorUnits(p->unit_price)},
                      {"currency", currency},
                      {"effectiveStartDate", FormatUtcTime(p->effective_start_us)}});
  }
  return {{"id", o.id},
          {"name", o.name},
          {"description", o.description},
          {"minimumQuantity", o.min_quantity},
          {"maximumQuantity", o.max_quantity},
          {"isAddOn", o.is_add_on},
          {"prerequisiteOffers", o.prerequisite_offers},
          {"supportedBillingCycles", o.billing_cycles},
          {"prices", std::move(prices)},
          {"instance", domain::InstanceName(o.instance)}};
}


nlohmann::json CollectionJson(nlohmann::json items) {
  const size_t count = items.size();
  return {{"totalCount", count}, {"items", std::move(items)}, {"attributes", {{"objectType", "Collection"}}}};
}

nlohmann::json AgreementJson(const projections::CustomerAgreement& a) {
  return {{"primaryContact",
           {{"firstName", a.first_name}, {"lastName", a.last_name}, {"email", a.email}, {"phoneNumber", a.phone_number}}},
          {"dateAgreed", FormatUtcTime(a.date_agreed_us)},
          {"templateId", a.template_id},
          {"type", a.type},
          {"agreementLink", kCustomerAgreementLink},
          {"attributes", {{"objectType", "Agreement"}}}};
}

nlohmann::json AgreementMetadataJson() {
  return {{"templateId", domain::kCustomerAgreementTemplateId},
          {"agreementType", domain::kCustomerAgreementType},
          {"agreementLink", kCustomerAgreementLink},
          {"versionRank", 0},
          {"attributes", {{"objectType", "AgreementMetaData"}}}};
}

}  // namespace tally::server
