// Request bodies for end-to-end tests of the HTTP API.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace tally::testing {

// Offers of engine/catalog/offers.json.
namespace offers {
constexpr const char* kBasic = "3b555118-da6a-4418-894f-7df1e2096870";
constexpr const char* kE3 = "6fd2c87f-b296-42f0-b197-1e91e994b900";
constexpr const char* kPowerBiPro = "f8a1db68-be16-40ed-86d5-cb42ce701560";
constexpr const char* kTeamsPhone = "d0d3ce6b-8f2c-44c8-a5a0-6ffa6f1d4d71";    // add-on of Basic
constexpr const char* kDefenderP1 = "e0a2a1a4-5c9b-43fe-a8f1-fbd12a4e3f08";    // add-on of Basic
constexpr const char* kPowerBiPremium = "6b4c2f1e-9a8d-4e7c-b5f3-2d1a0c9e8b7f";  // add-on of Power BI Pro
}  // namespace offers

using json = nlohmann::json;

// The customer's acceptance of the Microsoft Customer Agreement, as
// Partner Center's Agreement resource.
inline json Agreement(const std::string& email) {
  return {{"primaryContact", {{"firstName", "Anna"}, {"lastName", "Smith"}, {"email", email}}},
          {"dateAgreed", "2026-01-02T00:00:00Z"},
          {"templateId", "998b88de-aa99-4388-a42c-1b3517d49490"},
          {"type", "MicrosoftCustomerAgreement"}};
}

// A new customer, with its agreement (so that it can buy at once) and
// `line_items` as its first order.
inline json NewCustomer(const std::string& prefix, json line_items = json::array()) {
  json body = {
      {"companyProfile", {{"domain", prefix + ".onmicrosoft.com"}, {"companyName", "Contoso " + prefix}}},
      {"billingProfile",
       {{"email", "anna@" + prefix + ".com"},
        {"culture", "en-US"},
        {"language", "en"},
        {"companyName", "Contoso " + prefix},
        {"defaultAddress",
         {{"firstName", "Anna"}, {"lastName", "Smith"}, {"addressLine1", "1 Main St"}, {"city", "Redmond"},
          {"state", "WA"}, {"postalCode", "98052"}, {"country", "US"}, {"phoneNumber", "4255550100"}}}}}};
  body["agreement"] = Agreement("anna@" + prefix + ".com");
  if (!line_items.empty()) body["lineItems"] = std::move(line_items);
  return body;
}

inline json Line(const char* offer, int quantity) { return {{"offerId", offer}, {"quantity", quantity}}; }

}  // namespace tally::testing
