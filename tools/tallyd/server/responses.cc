#include "tools/tallyd/server/responses.h"

#include "projections/as_of.h"

namespace tally::server {

using projections::FormatUtcTime;

namespace {

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

}  // namespace

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
      .Field("organizationRegistrationNumber", c.registration_number)
      .EndObject();
  w.Key("billingProfile")
      .BeginObject()
      .Field("email", c.email)
      .Field("culture", c.culture)
      .Field("language", c.language)
      .Field("companyName", c.billing_company_name)
      .Key("defaultAddress");
  WriteAddress(w, c.address);
  w.EndObject();
  w.Key("userCredentials").BeginObject().Field("userName", c.admin_user_name);
  if (!password.empty()) w.Field("password", password);
  w.EndObject();
  w.Field("relationshipToPartner", role).Field("status", c.status).Field("instance", c.instance);
  if (times) w.Field("createdAt", FormatUtcTime(c.created_us)).Field("updatedAt", FormatUtcTime(c.updated_us));
}

void WriteCustomer(JsonWriter& w, const projections::CustomerRow& c, std::string_view partner) {
  BeginCustomer(w, c, partner);
  w.EndObject();
}

void WriteSubscription(JsonWriter& w, const projections::SubscriptionRow& s, const domain::Catalog& catalog) {
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
  w.Key("attributes").BeginObject().Field("objectType", "Subscription").EndObject();
  w.EndObject();
}

nlohmann::json OfferJson(const domain::Offer& o) {
  return {{"id", o.id},
          {"name", o.name},
          {"description", o.description},
          {"minimumQuantity", o.min_quantity},
          {"maximumQuantity", o.max_quantity},
          {"isAddOn", o.is_add_on},
          {"prerequisiteOffers", o.prerequisite_offers},
          {"supportedBillingCycles", o.billing_cycles},
          {"instance", domain::InstanceName(o.instance)}};
}


}  // namespace tally::server
