// Issue 18: a partner tool written from Partner Center's REST docs and the
// .NET SDK's wire format, pointed at a started tallyd over real sockets.
// The bodies are the docs' own (developer/create-a-customer.md,
// purchase-an-add-on-to-a-subscription.md), PascalCase, trailing commas,
// `Expect: 100-continue` and all; updates send whole resources back as the
// SDK does (GET, change one property, PATCH the object).
#include <gtest/gtest.h>

#include <set>

#include "tests/testing/api_bodies.h"
#include "tests/testing/http_client.h"
#include "tests/testing/tallyd.h"
#include "tests/testing/test_util.h"

namespace tally {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::HttpReply;
using namespace testing::offers;

// developer/create-a-customer.md, "Request example", verbatim: a trailing
// comma after "Domain" and after "Country", an integration-sandbox domain,
// no phone number, enableGDAPByDefault.
constexpr const char* kDocsCreateCustomer = R"({
    "enableGDAPByDefault": false,
    "CompanyProfile": {
        "Domain": "xyz.ccsctp.net",
    },
    "BillingProfile": {
        "Culture": "EN-US",
        "Email": "test@outlook.com",
        "Language": "en",
        "CompanyName": "test company",
        "DefaultAddress": {
            "FirstName": "Test",
            "LastName": "Test",
            "AddressLine1": "One Microsoft Way",
            "City": "Redmond",
            "State": "WA",
            "PostalCode": "98052",
            "Country": "US",
        }
    }
})";

// The headers the docs' requests carry.
std::map<std::string, std::string> DocsHeaders(const std::string& request_id) {
  return {{"Accept", "application/json"},
          {"MS-RequestId", request_id},
          {"MS-CorrelationId", "ab993325-1605-4cf4-bac4-fb584142a31b"},
          {"X-Locale", "en-US"}};
}

class PartnerCenterSdkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tallyd_ = std::make_unique<testing::TallydProcess>(TALLYD, dir_.Sub("var"));
    ASSERT_TRUE(tallyd_->running()) << tallyd_->output();
    client_ = std::make_unique<HttpClient>(tallyd_->port(), tallyd_->dev_token());
  }

  uint64_t Head() {
    HttpClient anonymous(tallyd_->port());
    return anonymous.Get("/healthz").json.value("head", uint64_t{0});
  }

  // The docs' request as bytes: the headers first, the body only once
  // tallyd said 100 Continue (as .NET's HttpClient does).
  std::string SendWithExpectContinue(const std::string& method, const std::string& target, const std::string& body) {
    const int fd = testing::ConnectRaw(tallyd_->port());
    EXPECT_GE(fd, 0);
    const std::string head = method + " " + target + " HTTP/1.1\r\nHost: api.partnercenter.microsoft.com\r\n" +
                             "Authorization: Bearer " + tallyd_->dev_token() +
                             "\r\nAccept: application/json\r\nMS-RequestId: 94e4e214-6b06-4fb7-96d1-94d559f9b47f\r\n"
                             "Content-Type: application/json\r\nExpect: 100-continue\r\nConnection: Keep-Alive\r\n"
                             "Content-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n";
    EXPECT_EQ(::write(fd, head.data(), head.size()), static_cast<ssize_t>(head.size()));
    std::string got = testing::ReadUntil(fd, std::chrono::seconds(5),
                                         [](const std::string& text) { return text.ends_with("\r\n\r\n"); });
    EXPECT_TRUE(got.starts_with("HTTP/1.1 100 Continue\r\n")) << got;
    EXPECT_EQ(::write(fd, body.data(), body.size()), static_cast<ssize_t>(body.size()));
    got = testing::ReadResponse(fd);
    ::close(fd);
    return got;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::TallydProcess> tallyd_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(PartnerCenterSdkTest, AToolFromTheDocsWorksUnchanged) {
  HttpClient& pc = *client_;

  // HEAD /v1/domains/{domain}: free (404), then taken (200).
  EXPECT_EQ(pc.Call("HEAD", "/v1/domains/xyz.ccsctp.net").status, 404);

  // Create a customer with the docs' body, byte for byte, after 100 Continue.
  const std::string created_text = SendWithExpectContinue("POST", "/v1/customers", kDocsCreateCustomer);
  ASSERT_NE(created_text.find("HTTP/1.1 201"), std::string::npos) << created_text;
  const json created = json::parse(created_text.substr(created_text.find("\r\n\r\n") + 4));
  const std::string c = created["id"];
  EXPECT_EQ(created["companyProfile"]["domain"], "xyz.ccsctp.net");
  EXPECT_EQ(created["billingProfile"]["culture"], "en-US") << "stored in its canonical form";
  EXPECT_EQ(created["attributes"]["objectType"], "Customer");
  EXPECT_EQ(created["companyProfile"]["attributes"]["objectType"], "CustomerCompanyProfile");
  EXPECT_EQ(created["billingProfile"]["attributes"]["objectType"], "CustomerBillingProfile");
  EXPECT_FALSE(created["userCredentials"]["password"].get<std::string>().empty());
  EXPECT_EQ(pc.Call("HEAD", "/v1/domains/XYZ.ccsctp.net").status, 200) << "taken, in any case";
  EXPECT_EQ(pc.Get("/v1/customers/" + c).json["links"]["self"]["uri"], "/v1/customers/" + c);

  // The billing profile round-trips: GET it, change one field, PUT it back.
  auto billing = pc.Get("/v1/customers/" + c + "/profiles/billing");
  ASSERT_EQ(billing.status, 200) << billing.body;
  EXPECT_EQ(billing.json["attributes"]["objectType"], "CustomerBillingProfile");
  json profile = billing.json;
  profile["defaultAddress"]["city"] = "Bellevue";
  auto put = pc.Call("PUT", "/v1/customers/" + c + "/profiles/billing", profile.dump(),
                     {{"If-Match", billing.Header("ETag")}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(pc.Get("/v1/customers/" + c + "/profiles/billing").json["defaultAddress"]["city"], "Bellevue");
  EXPECT_EQ(pc.Get("/v1/customers/" + c + "/profiles/company").json["domain"], "xyz.ccsctp.net");

  // Create an order with a whole Order resource, as the SDK serializes one.
  const json order = {{"Id", nullptr},
                      {"ReferenceCustomerId", c},
                      {"BillingCycle", "Monthly"},
                      {"CurrencyCode", "USD"},
                      {"LineItems",
                       {{{"LineItemNumber", 0},
                         {"OfferId", kBasic},
                         {"SubscriptionId", nullptr},
                         {"ParentSubscriptionId", nullptr},
                         {"FriendlyName", "Basic for sales"},
                         {"Quantity", 5},
                         {"TermDuration", "P1M"},
                         {"PartnerIdOnRecord", nullptr},
                         {"Attributes", {{"ObjectType", "OrderLineItem"}}}},
                        {{"LineItemNumber", 1}, {"OfferId", kE3}, {"FriendlyName", "E3"}, {"Quantity", 3}}}},
                      {"CreationDate", nullptr},
                      {"Attributes", {{"ObjectType", "Order"}}}};
  // Nothing is bought before the customer's acceptance of the Microsoft
  // Customer Agreement; the tool confirms it as the docs say (template from
  // GET /v1/agreements), and the same order goes through.
  auto unagreed = pc.Post("/v1/customers/" + c + "/orders", order, DocsHeaders("17a2658e-0000"));
  EXPECT_EQ(unagreed.status, 403) << unagreed.body;
  EXPECT_EQ(unagreed.code(), 13605) << unagreed.body;
  auto templates = pc.Get("/v1/agreements?agreementType=MicrosoftCustomerAgreement");
  ASSERT_EQ(templates.status, 200) << templates.body;
  ASSERT_EQ(templates.json["items"].size(), 1u) << templates.body;
  const json agreement = {{"primaryContact",
                           {{"firstName", "Tania"}, {"lastName", "Carr"}, {"email", "SomeEmail@Outlook.com"},
                            {"phoneNumber", "1234567890"}}},
                          {"templateId", templates.json["items"][0]["templateId"]},
                          {"dateAgreed", "2019-08-26T00:00:00"},
                          {"type", "MicrosoftCustomerAgreement"}};
  auto confirmed = pc.Post("/v1/customers/" + c + "/agreements", agreement, DocsHeaders("17a2658e-00a1"));
  ASSERT_EQ(confirmed.status, 201) << confirmed.body;
  EXPECT_EQ(confirmed.json["dateAgreed"], "2019-08-26T00:00:00.000000Z");
  EXPECT_EQ(confirmed.json["attributes"]["objectType"], "Agreement");
  auto listed = pc.Get("/v1/customers/" + c + "/agreements?agreementType=MicrosoftCustomerAgreement");
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.json["totalCount"], 1) << listed.body;
  EXPECT_EQ(listed.json["items"][0]["primaryContact"]["email"], "SomeEmail@Outlook.com");
  EXPECT_EQ(pc.Get("/v1/customers/" + c + "/agreements").json["totalCount"], 0)
      << "Partner Center's default type is MicrosoftCloudAgreement";
  auto twice = pc.Post("/v1/customers/" + c + "/agreements", listed.json["items"][0], DocsHeaders("17a2658e-00a2"));
  EXPECT_EQ(twice.status, 409) << "the same contact again, sent back as GET shows it: " << twice.body;
  EXPECT_EQ(twice.code(), 600061) << twice.body;

  auto placed = pc.Post("/v1/customers/" + c + "/orders", order, DocsHeaders("17a2658e-0001"));
  ASSERT_EQ(placed.status, 201) << placed.body;
  const std::string order_id = placed.json["id"];
  EXPECT_EQ(placed.Header("Location"), "/v1/customers/" + c + "/orders/" + order_id);
  EXPECT_EQ(placed.json["referenceCustomerId"], c);
  EXPECT_EQ(placed.json["billingCycle"], "monthly");
  EXPECT_EQ(placed.json["currencyCode"], "USD");
  EXPECT_EQ(placed.json["status"], "completed");
  EXPECT_EQ(placed.json["attributes"]["objectType"], "Order");
  ASSERT_EQ(placed.json["lineItems"].size(), 2u);
  EXPECT_EQ(placed.json["lineItems"][0]["lineItemNumber"], 0);
  EXPECT_EQ(placed.json["lineItems"][0]["offerId"], kBasic) << "lines keep the order they were bought in";
  EXPECT_EQ(placed.json["lineItems"][1]["offerId"], kE3);
  const std::string basic = placed.json["lineItems"][0]["subscriptionId"];
  EXPECT_EQ(placed.json["lineItems"][0]["links"]["subscription"]["uri"], "/v1/customers/" + c + "/subscriptions/" + basic);
  EXPECT_EQ(pc.Get("/v1/customers/" + c + "/orders/" + order_id).json, [&] {
    json j = placed.json;
    j.erase("position");
    return j;
  }()) << "the 201 body is the order as GET shows it";

  // The order of another customer cannot be named in the body.
  json elsewhere = order;
  elsewhere["ReferenceCustomerId"] = "00000000-0000-0000-0000-000000000000";
  const uint64_t head = Head();
  auto wrong_customer = pc.Post("/v1/customers/" + c + "/orders", elsewhere);
  EXPECT_EQ(wrong_customer.status, 400) << wrong_customer.body;
  EXPECT_NE(wrong_customer.body.find("referenceCustomerId"), std::string::npos) << wrong_customer.body;

  // GET a subscription, change quantity, PATCH the whole object back; then
  // suspend it and reactivate it the same way.
  const std::string sub_path = "/v1/customers/" + c + "/subscriptions/" + basic;
  auto got = pc.Get(sub_path);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.json["links"]["self"]["uri"], sub_path);
  for (const auto& [field, value] : {std::pair<const char*, json>{"quantity", 8}, {"status", "suspended"},
                                     {"status", "active"}}) {
    json whole = pc.Get(sub_path).json;
    whole[field] = value;
    auto r = pc.Patch(sub_path, whole, {{"If-Match", pc.Get(sub_path).Header("ETag")}});
    ASSERT_EQ(r.status, 200) << field << ": " << r.body;
    EXPECT_EQ(pc.Get(sub_path).json[field], value);
  }

  // PATCH the whole order (as GET returned it) with an add-on line added.
  json whole_order = pc.Get("/v1/customers/" + c + "/orders/" + order_id).json;
  whole_order["lineItems"].push_back({{"LineItemNumber", 0},
                                      {"OfferId", kTeamsPhone},
                                      {"SubscriptionId", nullptr},
                                      {"ParentSubscriptionId", basic},
                                      {"FriendlyName", "Some friendly name"},
                                      {"Quantity", 2},
                                      {"PartnerIdOnRecord", nullptr},
                                      {"Attributes", {{"ObjectType", "OrderLineItem"}}}});
  auto patched = pc.Patch("/v1/customers/" + c + "/orders/" + order_id, whole_order);
  ASSERT_EQ(patched.status, 200) << patched.body;
  ASSERT_EQ(patched.json["lineItems"].size(), 3u) << patched.body;
  EXPECT_EQ(patched.json["lineItems"][2]["offerId"], kTeamsPhone);
  EXPECT_EQ(patched.json["lineItems"][2]["parentSubscriptionId"], basic);
  EXPECT_EQ(patched.json["lineItems"][2]["lineItemNumber"], 2);
  // The docs' add-on request (only the new line) works too.
  json docs_addon = {{"Id", nullptr},
                     {"ReferenceCustomerId", c},
                     {"LineItems", {{{"LineItemNumber", 0}, {"OfferId", kTeamsPhone}, {"SubscriptionId", nullptr},
                                     {"ParentSubscriptionId", basic}, {"FriendlyName", "More"}, {"Quantity", 1}}}},
                     {"CreationDate", nullptr},
                     {"Attributes", {{"ObjectType", "Order"}}}};
  auto second_addon = pc.Patch("/v1/customers/" + c + "/orders/" + order_id, docs_addon);
  ASSERT_EQ(second_addon.status, 200) << second_addon.body;
  EXPECT_EQ(second_addon.json["lineItems"].size(), 4u);
  // Several add-ons in one PATCH: all of them, or (one line bad) none.
  json two_more = second_addon.json;
  two_more["lineItems"].push_back({{"offerId", kDefenderP1}, {"parentSubscriptionId", basic}, {"quantity", 3}});
  two_more["lineItems"].push_back({{"offerId", kTeamsPhone}, {"parentSubscriptionId", basic}, {"quantity", 0}});
  const uint64_t head_before_two = Head();
  auto one_bad = pc.Patch("/v1/customers/" + c + "/orders/" + order_id, two_more);
  EXPECT_EQ(one_bad.status, 400) << one_bad.body;
  EXPECT_EQ(Head(), head_before_two) << "the good line of a refused PATCH was bought";
  two_more["lineItems"].back()["quantity"] = 4;
  auto two_added = pc.Patch("/v1/customers/" + c + "/orders/" + order_id, two_more);
  ASSERT_EQ(two_added.status, 200) << two_added.body;
  ASSERT_EQ(two_added.json["lineItems"].size(), 6u) << two_added.body;
  EXPECT_EQ(two_added.json["lineItems"][4]["offerId"], kDefenderP1);
  EXPECT_EQ(two_added.json["lineItems"][4]["quantity"], 3);
  EXPECT_EQ(two_added.json["lineItems"][5]["offerId"], kTeamsPhone);
  EXPECT_EQ(two_added.json["lineItems"][5]["quantity"], 4);
  EXPECT_EQ(Head(), head_before_two + 2) << "two subscriptions, nothing else";

  // More subscriptions, then the list page by page through links.next
  // (the token sent back in the MS-ContinuationToken header it names).
  for (int i = 0; i < 3; ++i) {
    auto more = pc.Post("/v1/customers/" + c + "/orders", {{"lineItems", {testing::Line(kPowerBiPro, 1 + i)}}});
    ASSERT_EQ(more.status, 201) << more.body;
  }
  std::set<std::string> seen;
  std::string next = "/v1/customers/" + c + "/subscriptions?size=2";
  std::map<std::string, std::string> headers;
  int pages = 0;
  while (!next.empty()) {
    auto page = pc.Call("GET", next, "", headers);
    ASSERT_EQ(page.status, 200) << page.body;
    ASSERT_LE(page.json["items"].size(), 2u);
    for (const auto& s : page.json["items"]) EXPECT_TRUE(seen.insert(s["id"]).second) << "seen twice: " << s["id"];
    ++pages;
    next.clear();
    headers.clear();
    if (page.json.contains("links") && page.json["links"].contains("next")) {
      const json& link = page.json["links"]["next"];
      next = link["uri"];
      for (const auto& h : link["headers"]) headers[h["key"]] = h["value"];
    }
  }
  EXPECT_EQ(seen.size(), 9u) << "2 + 4 add-ons + 3";
  EXPECT_EQ(pages, 5);

  // A read-only field changed: 400 naming it, nothing appended.
  const uint64_t before = Head();
  // quantity 1, suspended 2 (auto-renew goes off with it), active 1, two
  // add-ons, two more in one PATCH, three orders.
  EXPECT_EQ(before, head + 1 + 2 + 1 + 2 + 2 + 3) << "the refused order appended nothing; every accepted change did";
  json renamed = pc.Get(sub_path).json;
  renamed["orderId"] = "something-else";
  auto refused = pc.Patch(sub_path, renamed);
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(refused.code(), 70039) << refused.body;
  EXPECT_NE(refused.json["description"].get<std::string>().find("orderId"), std::string::npos) << refused.body;
  json order_changed = pc.Get("/v1/customers/" + c + "/orders/" + order_id).json;
  order_changed["lineItems"][0]["quantity"] = 99;
  order_changed["lineItems"].push_back({{"offerId", kTeamsPhone}, {"parentSubscriptionId", basic}, {"quantity", 1}});
  auto refused_order = pc.Patch("/v1/customers/" + c + "/orders/" + order_id, order_changed);
  EXPECT_EQ(refused_order.status, 400) << refused_order.body;
  EXPECT_EQ(refused_order.code(), 70039) << refused_order.body;
  EXPECT_NE(refused_order.body.find("lineItems[0].quantity"), std::string::npos) << refused_order.body;
  EXPECT_EQ(Head(), before) << "a refused request appended events";
}

}  // namespace
}  // namespace tally
