// The HTTP API end to end: a real tallyd process, real sockets. The seed flow
// of issue 5, bad requests with their exact status and code (each changing
// nothing), secrets kept out of everything stored or printed, graceful
// shutdown.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "tests/testing/api_bodies.h"
#include "tests/testing/http_client.h"
#include "tests/testing/process.h"
#include "tests/testing/tallyd.h"
#include "tests/testing/test_util.h"

namespace tally {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::HttpReply;

using testing::Line;
using testing::NewCustomer;
using namespace testing::offers;

std::string Tallyctl(const std::string& args) {
  auto out = testing::RunCommand(std::string(TALLYCTL) + " " + args);
  EXPECT_EQ(out.exit_code, 0) << args << ": " << out.text;
  return out.text;
}

// Every file under `dir`, concatenated (to look for secrets in what is stored).
std::string AllBytes(const std::string& dir) {
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().filename() == "control.sock") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return all;
}

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.Sub("var");
    tallyd_ = std::make_unique<testing::TallydProcess>(TALLYD, data_);
    ASSERT_TRUE(tallyd_->running()) << tallyd_->output();
    ASSERT_FALSE(tallyd_->dev_token().empty()) << tallyd_->output();
    p1_ = std::make_unique<HttpClient>(tallyd_->port(), tallyd_->dev_token());
    // A second partner, added while tallyd runs.
    auto added = testing::RunCommand(std::string(TALLYCTL) + " partners add p2 --data " + data_);
    ASSERT_EQ(added.exit_code, 0) << added.text;
    // The token is stdout's only line, after the message on stderr.
    const std::string text = added.text.substr(0, added.text.find_last_not_of('\n') + 1);
    p2_token_ = text.substr(text.find_last_of('\n') + 1);
    ASSERT_EQ(p2_token_.size(), 43u) << added.text;
    p2_ = std::make_unique<HttpClient>(tallyd_->port(), p2_token_);
  }

  uint64_t Head() {
    HttpClient anonymous(tallyd_->port());
    auto h = anonymous.Get("/healthz");
    EXPECT_EQ(h.status, 200) << h.body;
    return h.json.value("head", uint64_t{0});
  }

  testing::TempDir dir_;
  std::string data_;
  std::unique_ptr<testing::TallydProcess> tallyd_;
  std::unique_ptr<HttpClient> p1_, p2_;
  std::string p2_token_;
};

TEST_F(HttpApiTest, TheSeedFlow) {
  HttpClient& p1 = *p1_;
  HttpClient& p2 = *p2_;
  EXPECT_EQ(p1.Call("HEAD", "/v1/domains/contoso.onmicrosoft.com").status, 404);  // free

  // Add a customer with two subscriptions.
  const json add = NewCustomer("contoso", {Line(kBasic, 10), Line(kE3, 5)});
  auto created = p1.Post("/v1/customers", add, {{"MS-RequestId", "req-1"}, {"MS-CorrelationId", "corr-seed-1"}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Header("MS-CorrelationId"), "corr-seed-1");
  EXPECT_EQ(created.Header("MS-RequestId"), "req-1");
  const std::string c = created.json["id"];
  EXPECT_EQ(created.json["companyProfile"]["tenantId"], c);
  EXPECT_EQ(created.json["userCredentials"]["userName"], "admin@contoso.onmicrosoft.com");
  const std::string password = created.json["userCredentials"]["password"];
  EXPECT_GE(password.size(), 16u);
  const auto& lines = created.json["orders"][0]["lineItems"];
  ASSERT_EQ(lines.size(), 2u);
  const std::string order = created.json["orders"][0]["id"];
  const std::string basic = lines[0]["subscriptionId"];
  const std::string e3 = lines[1]["subscriptionId"];
  EXPECT_EQ(p1.Call("HEAD", "/v1/domains/contoso.onmicrosoft.com").status, 200);  // taken now
  EXPECT_EQ(p1.Call("HEAD", "/v1/domains/CONTOSO.onmicrosoft.com").status, 200);

  // A retry of the same request: the same customer, nothing appended, and no password.
  const uint64_t head = Head();
  auto retry = p1.Post("/v1/customers", add, {{"MS-RequestId", "req-1"}});
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(retry.json["id"], c);
  EXPECT_FALSE(retry.json["userCredentials"].contains("password"));
  EXPECT_EQ(Head(), head);

  // Read it back: no password anywhere.
  auto got = p1.Get("/v1/customers/" + c);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.json["companyProfile"]["domain"], "contoso.onmicrosoft.com");
  EXPECT_EQ(got.json["billingProfile"]["defaultAddress"]["city"], "Redmond");
  EXPECT_EQ(got.json["relationshipToPartner"], "reseller_of_record");
  EXPECT_EQ(got.body.find(password), std::string::npos);
  EXPECT_FALSE(got.Header("ETag").empty());
  auto list = p1.Get("/v1/customers?size=10");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.json["totalCount"], 1);

  // Add an add-on (Teams Phone on Basic).
  auto addon = p1.Patch("/v1/customers/" + c + "/orders/" + order,
                        {{"lineItems", json::array({{{"offerId", kTeamsPhone}, {"quantity", 3},
                                                     {"parentSubscriptionId", basic}}})}});
  ASSERT_EQ(addon.status, 200) << addon.body;
  // The answer is the whole order, the add-on its last line.
  ASSERT_EQ(addon.json["lineItems"].size(), 3u) << addon.body;
  const std::string phone = addon.json["lineItems"][2]["subscriptionId"];
  EXPECT_EQ(addon.json["lineItems"][2]["offerId"], kTeamsPhone);
  auto addons = p1.Get("/v1/customers/" + c + "/subscriptions/" + basic + "/addons");
  ASSERT_EQ(addons.status, 200) << addons.body;
  ASSERT_EQ(addons.json["totalCount"], 1);
  EXPECT_EQ(addons.json["items"][0]["id"], phone);
  EXPECT_EQ(addons.json["items"][0]["parentSubscriptionId"], basic);

  // Change a quantity, with the subscription's ETag.
  auto sub = p1.Get("/v1/customers/" + c + "/subscriptions/" + e3);
  ASSERT_EQ(sub.status, 200) << sub.body;
  auto changed = p1.Patch("/v1/customers/" + c + "/subscriptions/" + e3, {{"Quantity", 8}},
                          {{"If-Match", sub.Header("ETag")}});
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(p1.Get("/v1/customers/" + c + "/subscriptions/" + e3).json["quantity"], 8);

  // Suspend and reactivate.
  ASSERT_EQ(p1.Patch("/v1/customers/" + c + "/subscriptions/" + e3, {{"status", "suspended"}}).status, 200);
  EXPECT_EQ(p1.Get("/v1/customers/" + c + "/subscriptions/" + e3).json["status"], "suspended");
  auto skus = p1.Get("/v1/customers/" + c + "/subscribedskus");
  ASSERT_EQ(skus.status, 200) << skus.body;
  std::map<std::string, json> by_offer;
  for (const auto& item : skus.json["items"]) by_offer[item["offerId"]] = item;
  EXPECT_EQ(by_offer[kE3]["suspendedUnits"], 8);
  EXPECT_EQ(by_offer[kE3]["activeUnits"], 0);
  EXPECT_EQ(by_offer[kBasic]["activeUnits"], 10);
  EXPECT_EQ(by_offer[kTeamsPhone]["addOnUnits"], 3);
  ASSERT_EQ(p1.Patch("/v1/customers/" + c + "/subscriptions/" + e3, {{"status", "active"}}).status, 200);
  EXPECT_EQ(p1.Get("/v1/customers/" + c + "/subscriptions/" + e3).json["status"], "active");

  // The billing profile "Edit", with the customer's ETag.
  auto customer = p1.Get("/v1/customers/" + c);
  json billing = add["billingProfile"];
  billing["defaultAddress"]["city"] = "Bellevue";
  auto edited = p1.Patch("/v1/customers/" + c + "/profiles/billing", billing, {{"If-Match", customer.Header("ETag")}});
  ASSERT_EQ(edited.status, 200) << edited.body;
  EXPECT_EQ(p1.Get("/v1/customers/" + c).json["billingProfile"]["defaultAddress"]["city"], "Bellevue");

  // A second partner: sees nothing, asks, the customer's side (its reseller
  // of record, as delegated admin) accepts; then it sells and sees only its own.
  EXPECT_EQ(p2.Get("/v1/customers/" + c).status, 404);
  EXPECT_EQ(p2.Get("/v1/customers").json["totalCount"], 0);
  auto invited = p2.Post("/v1/customers/" + c + "/relationshiprequests", json::object());
  ASSERT_EQ(invited.status, 201) << invited.body;
  const std::string invitation = invited.json["invitationId"];
  auto self_accept = p2.Post("/v1/customers/" + c + "/relationshiprequests/" + invitation + "/acceptance",
                             json::object());
  EXPECT_EQ(self_accept.status, 404) << self_accept.body;  // the invitee cannot accept for the customer
  auto accepted = p1.Post("/v1/customers/" + c + "/relationshiprequests/" + invitation + "/acceptance",
                          json::object());
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  auto seen = p2.Get("/v1/customers/" + c);
  ASSERT_EQ(seen.status, 200) << seen.body;
  EXPECT_EQ(seen.json["relationshipToPartner"], "reseller");
  auto p2_order = p2.Post("/v1/customers/" + c + "/orders", {{"lineItems", json::array({Line(kPowerBiPro, 4)})}});
  ASSERT_EQ(p2_order.status, 201) << p2_order.body;
  EXPECT_EQ(p2_order.Header("Location"), "/v1/customers/" + c + "/orders/" + p2_order.json["id"].get<std::string>());
  const std::string pbi = p2_order.json["lineItems"][0]["subscriptionId"];
  auto p2_subs = p2.Get("/v1/customers/" + c + "/subscriptions");
  ASSERT_EQ(p2_subs.status, 200) << p2_subs.body;
  ASSERT_EQ(p2_subs.json["totalCount"], 1);
  EXPECT_EQ(p2_subs.json["items"][0]["id"], pbi);
  EXPECT_EQ(p2.Get("/v1/customers/" + c + "/subscriptions/" + e3).status, 404);
  std::set<std::string> p1_ids;
  const auto p1_subs = p1.Get("/v1/customers/" + c + "/subscriptions");
  for (const auto& s : p1_subs.json["items"]) p1_ids.insert(s["id"]);
  EXPECT_EQ(p1_ids, (std::set<std::string>{basic, e3, phone}));
  auto partners = p2.Get("/v1/customers/" + c + "/partners");
  ASSERT_EQ(partners.status, 200) << partners.body;
  EXPECT_EQ(partners.json["totalCount"], 2);

  // p2 ends its relationship once its subscription is cancelled.
  EXPECT_EQ(p2.Call("DELETE", "/v1/customers/" + c + "/relationship").code(), 70021);
  ASSERT_EQ(p2.Patch("/v1/customers/" + c + "/subscriptions/" + pbi, {{"status", "deleted"}}).status, 200);
  ASSERT_EQ(p2.Call("DELETE", "/v1/customers/" + c + "/relationship").status, 200);
  EXPECT_EQ(p2.Get("/v1/customers/" + c).status, 404);

  // The correlation id is in the events' envelope; the password is nowhere:
  // not in the log, the read models, the partners file or tallyd's output.
  EXPECT_NE(Tallyctl("replay --data " + data_ + " --to 1").find("corr-seed-1"), std::string::npos);
  EXPECT_EQ(tallyd_->Stop(), 0) << tallyd_->output();
  EXPECT_NE(tallyd_->output().find("tallyd: stopped"), std::string::npos);
  EXPECT_EQ(tallyd_->output().find(password), std::string::npos);
  const std::string stored = AllBytes(data_);
  EXPECT_NE(stored.find("contoso"), std::string::npos);  // the search below can find things
  EXPECT_EQ(stored.find(password), std::string::npos);
  EXPECT_EQ(stored.find(p2_token_), std::string::npos);
  EXPECT_EQ(stored.find(tallyd_->dev_token()), std::string::npos);
  EXPECT_NE(Tallyctl("verify --data " + data_).find("OK: "), std::string::npos);
}

struct BadRequest {
  std::string name;
  std::string method;
  std::string target;  // $C: the customer, $S: its E3 subscription, $B: Basic, $O: its order
  std::string body;
  std::map<std::string, std::string> headers;
  int status;
  int code;
  bool as_p2 = false;
};

std::string Expand(std::string s, const std::map<std::string, std::string>& vars) {
  for (const auto& [key, value] : vars) {
    for (size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, key.size(), value);
  }
  return s;
}

// Hardening (issue 17, item 7): a media type is parsed, not matched by a
// prefix: any case and a UTF-8 charset are JSON; the value stored is the
// one sent (one key, once).
TEST_F(HttpApiTest, MediaTypesAreParsedAndWhatIsAcknowledgedIsStored) {
  HttpClient& p1 = *p1_;
  auto created = p1.Call("POST", "/v1/customers", NewCustomer("casetype", json::array({Line(kBasic, 5)})).dump(),
                         {{"Content-Type", "APPLICATION/JSON; Charset=\"UTF-8\""}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string c = created.json["id"];
  const std::string sub = created.json["orders"][0]["lineItems"][0]["subscriptionId"];
  auto changed = p1.Call("PATCH", "/v1/customers/" + c + "/subscriptions/" + sub, "{\"quantity\":8}",
                         {{"Content-Type", "Application/Json;charset=utf-8"}});
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(p1.Get("/v1/customers/" + c + "/subscriptions/" + sub).json["quantity"], 8);
  auto name = p1.Get("/v1/customers/" + c);
  EXPECT_EQ(name.json["companyProfile"]["companyName"], created.json["companyProfile"]["companyName"]) << name.body;
}

// Issue 18 (part): the SDK's update pattern. GET a subscription, change a
// field, PATCH the whole resource back; a read-only field changed is a 400
// naming it; suspend and reactivate the same way.
TEST_F(HttpApiTest, AWholeSubscriptionSentBackWithOneFieldChangedIsApplied) {
  HttpClient& p1 = *p1_;
  auto created = p1.Post("/v1/customers", NewCustomer("roundtrip", json::array({Line(kBasic, 5)})));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string c = created.json["id"];
  const std::string sub = created.json["orders"][0]["lineItems"][0]["subscriptionId"];
  const std::string path = "/v1/customers/" + c + "/subscriptions/" + sub;
  auto got = p1.Get(path);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.json["attributes"]["objectType"], "Subscription");
  json whole = got.json;
  whole["quantity"] = 7;
  auto changed = p1.Patch(path, whole, {{"If-Match", got.Header("ETag")}});
  ASSERT_EQ(changed.status, 200) << changed.body;
  auto after = p1.Get(path);
  EXPECT_EQ(after.json["quantity"], 7);

  json renamed = after.json;
  renamed["offerName"] = "Something else";
  const uint64_t head = Head();
  auto refused = p1.Patch(path, renamed);
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(refused.code(), 70039) << refused.body;
  EXPECT_NE(refused.body.find("offerName"), std::string::npos) << refused.body;
  json typo = after.json;
  typo["quantitty"] = 8;
  auto unknown = p1.Patch(path, typo);
  EXPECT_EQ(unknown.status, 400) << unknown.body;
  EXPECT_NE(unknown.body.find("quantitty"), std::string::npos) << unknown.body;
  EXPECT_EQ(Head(), head) << "a refused PATCH appended events";

  for (const char* status : {"suspended", "active"}) {
    json next = p1.Get(path).json;
    next["status"] = status;
    auto r = p1.Patch(path, next);
    ASSERT_EQ(r.status, 200) << status << ": " << r.body;
    EXPECT_EQ(p1.Get(path).json["status"], status);
  }
}

TEST_F(HttpApiTest, CustomerListsPageAndSearchByCompanyName) {
  std::set<std::string> mine;
  uint64_t last = 0;
  for (const char* prefix : {"alpha1", "alpha2", "beta1"}) {
    auto r = p1_->Post("/v1/customers", NewCustomer(prefix));
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.Header("Location"), "/v1/customers/" + r.json["id"].get<std::string>());
    mine.insert(r.json["id"].get<std::string>());
    last = r.json["position"].get<uint64_t>();
  }
  const std::string seen_all = "&minPosition=" + std::to_string(last);
  auto first = p1_->Get("/v1/customers?size=2" + seen_all);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(first.json["totalCount"], 2) << first.body;
  ASSERT_TRUE(first.json.contains("continuationToken")) << first.body;
  auto second = p1_->Get("/v1/customers?size=2&continuation=" +
                         first.json["continuationToken"].get<std::string>() + seen_all);
  ASSERT_EQ(second.status, 200) << second.body;
  ASSERT_EQ(second.json["totalCount"], 1) << second.body;
  EXPECT_FALSE(second.json.contains("continuationToken")) << second.body;
  std::set<std::string> listed;
  for (const auto* page : {&first, &second}) {
    for (const auto& c : page->json["items"]) {
      listed.insert(c["id"].get<std::string>());
      EXPECT_EQ(c["relationshipToPartner"], "reseller_of_record") << c;
      EXPECT_FALSE(c["userCredentials"].contains("password")) << c;
    }
  }
  EXPECT_EQ(listed, mine);
  // As the Partner Center SDK pages: links.next, its token in a header.
  const json& next = first.json["links"]["next"];
  ASSERT_EQ(next["headers"][0]["key"], "MS-ContinuationToken") << first.body;
  auto by_header = p1_->Call("GET", next["uri"].get<std::string>() + seen_all, "",
                             {{"MS-ContinuationToken", next["headers"][0]["value"].get<std::string>()}});
  ASSERT_EQ(by_header.status, 200) << by_header.body;
  EXPECT_EQ(by_header.json["items"], second.json["items"]) << by_header.body;
  EXPECT_FALSE(by_header.json.contains("links")) << "the last page has no next";

  auto alphas = p1_->Get("/v1/customers?companyName=contoso%20alpha" + seen_all);
  ASSERT_EQ(alphas.status, 200) << alphas.body;
  ASSERT_EQ(alphas.json["totalCount"], 2) << alphas.body;
  for (const auto& c : alphas.json["items"]) {
    EXPECT_TRUE(c["companyProfile"]["companyName"].get<std::string>().starts_with("Contoso alpha")) << c;
  }
  // Another partner sees none of them.
  auto other = p2_->Get("/v1/customers?size=10" + seen_all);
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(other.json["totalCount"], 0) << other.body;
  EXPECT_TRUE(other.json["items"].empty()) << other.body;
}

TEST_F(HttpApiTest, BadRequestsGetTheirStatusAndCodeAndChangeNothing) {
  HttpClient& p1 = *p1_;
  auto created = p1.Post("/v1/customers", NewCustomer("fabrikam", {Line(kBasic, 10), Line(kE3, 5)}));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string c = created.json["id"];
  const std::string order = created.json["orders"][0]["id"];
  const std::string basic = created.json["orders"][0]["lineItems"][0]["subscriptionId"];
  const std::string e3 = created.json["orders"][0]["lineItems"][1]["subscriptionId"];
  auto suspended = p1.Post("/v1/customers/" + c + "/orders", {{"lineItems", json::array({Line(kPowerBiPro, 2)})}});
  ASSERT_EQ(suspended.status, 201) << suspended.body;
  const std::string pbi = suspended.json["lineItems"][0]["subscriptionId"];
  ASSERT_EQ(p1.Patch("/v1/customers/" + c + "/subscriptions/" + pbi, {{"status", "suspended"}}).status, 200);
  auto invited = p2_->Post("/v1/customers/" + c + "/relationshiprequests", json::object());
  ASSERT_EQ(invited.status, 201) << invited.body;
  ASSERT_EQ(p1.Post("/v1/customers", NewCustomer("used"), {{"MS-RequestId", "once"}}).status, 201);
  const std::map<std::string, std::string> vars = {{"$C", c}, {"$S", e3}, {"$B", basic}, {"$O", order}, {"$P", pbi}};

  const std::string customer = NewCustomer("newco").dump();
  auto with = [](json body, const std::string& pointer, json value) {
    if (value.is_discarded()) {
      const json::json_pointer at(pointer);
      body[at.parent_pointer()].erase(at.back());
    } else {
      body[json::json_pointer(pointer)] = std::move(value);
    }
    return body.dump();
  };
  const json base = NewCustomer("newco");
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 40; ++i) deep += "}";
  json many = json::array();
  for (int i = 0; i < 101; ++i) many.push_back(Line(kBasic, 1));
  const std::string json_type = "application/json";
  const json discard = json::value_t::discarded;

  const std::vector<BadRequest> cases = {
      // Authentication and routing.
      {"no token", "GET", "/v1/customers", "", {{"Authorization", ""}}, 401, 70030},
      {"unknown token", "GET", "/v1/customers", "", {{"Authorization", "Bearer nope"}}, 401, 70030},
      {"basic auth", "GET", "/v1/customers", "", {{"Authorization", "Basic YTpi"}}, 401, 70030},
      {"unknown version", "GET", "/v2/customers", "", {}, 404, 70031},
      {"unknown path", "GET", "/nope", "", {}, 404, 70031},
      {"unknown sub-resource", "GET", "/v1/customers/$C/invoices", "", {}, 404, 70031},
      {"DELETE customers", "DELETE", "/v1/customers", "", {}, 405, 70032},
      {"PUT offers", "PUT", "/v1/offers", "", {}, 405, 70032},
      {"POST healthz", "POST", "/healthz", "", {}, 405, 70032},
      {"GET domains", "GET", "/v1/domains/x.onmicrosoft.com", "", {}, 405, 70032},
      // Bodies.
      {"truncated JSON", "POST", "/v1/customers", "{\"companyProfile\":", {}, 400, 70033},
      {"array body", "POST", "/v1/customers", "[]", {}, 400, 70033},
      {"empty body", "POST", "/v1/customers", "", {{"Content-Type", json_type}}, 400, 70033},
      {"invalid UTF-8", "POST", "/v1/customers", "{\"companyProfile\":\"\xff\xfe\"}", {}, 400, 70033},
      {"too deep", "POST", "/v1/customers", deep, {}, 400, 70033},
      {"key twice (camel and Pascal)", "POST", "/v1/customers",
       "{\"email\":\"a@b.c\",\"Email\":\"a@b.c\"}", {}, 400, 70034},
      {"string over 1 KiB", "POST", "/v1/customers", with(base, "/companyProfile/companyName", std::string(2000, 'x')),
       {}, 400, 70023},
      {"101 line items", "POST", "/v1/customers", with(base, "/lineItems", many), {}, 400, 70034},
      {"text/plain", "POST", "/v1/customers", customer, {{"Content-Type", "text/plain"}}, 415, 70036},
      // Hardening (issue 17): what was acknowledged must be what is stored.
      {"NUL in a company name", "POST", "/v1/customers", with(base, "/companyProfile/companyName", std::string("Evil\0Corp", 9)),
       {}, 400, 70034},
      {"line break in a friendly name", "PATCH", "/v1/customers/$C/subscriptions/$S", "{\"friendlyName\":\"a\\nb\"}", {},
       400, 70034},
      {"quantity given twice", "PATCH", "/v1/customers/$C/subscriptions/$S", "{\"quantity\":7,\"quantity\":8}", {}, 400,
       70034},
      {"application/jsonfoo", "PATCH", "/v1/customers/$C/subscriptions/$S", "{\"quantity\":7}",
       {{"Content-Type", "application/jsonfoo"}}, 415, 70036},
      {"charset latin1", "PATCH", "/v1/customers/$C/subscriptions/$S", "{\"quantity\":7}",
       {{"Content-Type", "application/json; charset=iso-8859-1"}}, 415, 70036},
      {"body over 1 MiB", "POST", "/v1/customers", std::string(2 << 20, ' '), {}, 413, 70035},
      // Fields.
      {"no companyProfile", "POST", "/v1/customers", with(base, "/companyProfile", discard), {}, 400, 70034},
      {"companyProfile a string", "POST", "/v1/customers", with(base, "/companyProfile", "x"), {}, 400, 70034},
      {"domain a number", "POST", "/v1/customers", with(base, "/companyProfile/domain", 7), {}, 400, 70034},
      {"unknown field", "POST", "/v1/customers", with(base, "/foo", 1), {}, 400, 70034},
      {"unknown address field", "POST", "/v1/customers",
       with(base, "/billingProfile/defaultAddress/planet", "Mars"), {}, 400, 70034},
      {"domain not onmicrosoft", "POST", "/v1/customers", with(base, "/companyProfile/domain", "newco.com"), {}, 400,
       70002},
      {"domain prefix with a dash", "POST", "/v1/customers",
       with(base, "/companyProfile/domain", "new-co.onmicrosoft.com"), {}, 400, 70002},
      {"domain taken", "POST", "/v1/customers", with(base, "/companyProfile/domain", "fabrikam.onmicrosoft.com"), {},
       409, 70001},
      {"bad email", "POST", "/v1/customers", with(base, "/billingProfile/email", "anna"), {}, 400, 70005},
      {"bad culture", "POST", "/v1/customers", with(base, "/billingProfile/culture", "english"), {}, 400, 70006},
      {"bad country", "POST", "/v1/customers", with(base, "/billingProfile/defaultAddress/country", "USA"), {}, 400,
       70008},
      {"no phone in Hungary", "POST", "/v1/customers",
       with(json::parse(with(base, "/billingProfile/defaultAddress/phoneNumber", discard)),
            "/billingProfile/defaultAddress/country", "HU"),
       {}, 400, 600051},
      {"quantity a string", "POST", "/v1/customers", with(base, "/lineItems", json::array({{{"offerId", kBasic},
       {"quantity", "ten"}}})), {}, 400, 70034},
      {"quantity zero", "POST", "/v1/customers", with(base, "/lineItems", json::array({Line(kBasic, 0)})), {}, 400,
       70010},
      {"quantity over the maximum", "POST", "/v1/customers",
       with(base, "/lineItems", json::array({Line(kBasic, 100000)})), {}, 400, 2002},
      {"unknown offer", "POST", "/v1/customers", with(base, "/lineItems", json::array({Line("nope", 1)})), {}, 400,
       800004},
      {"empty lineItems", "POST", "/v1/customers/$C/orders", "{\"lineItems\":[]}", {}, 400, 70034},
      {"add-on without parent", "POST", "/v1/customers/$C/orders",
       json{{"lineItems", json::array({Line(kTeamsPhone, 1)})}}.dump(), {}, 400, 70013},
      {"add-on not related to parent", "PATCH", "/v1/customers/$C/orders/$O",
       json{{"lineItems", json::array({{{"offerId", kPowerBiPremium}, {"quantity", 1},
                                         {"parentSubscriptionId", "$B"}}})}}.dump(), {}, 400, 800029},
      // Headers.
      {"request id reused with another body", "POST", "/v1/customers", with(base, "/companyProfile/domain",
       "other.onmicrosoft.com"), {{"MS-RequestId", "once"}}, 409, 90006},
      {"request id too long", "POST", "/v1/customers", customer, {{"MS-RequestId", std::string(200, 'r')}}, 400, 70034},
      {"stale If-Match", "PATCH", "/v1/customers/$C/subscriptions/$S", "{\"quantity\":6}", {{"If-Match", "\"1\""}},
       412, 2055},
      {"malformed If-Match", "PATCH", "/v1/customers/$C/subscriptions/$S", "{\"quantity\":6}", {{"If-Match", "abc"}},
       400, 70034},
      // Queries and ids.
      {"unknown customer", "GET", "/v1/customers/nobody", "", {}, 404, 70004},
      {"size zero", "GET", "/v1/customers?size=0", "", {}, 400, 70037},
      {"size not a number", "GET", "/v1/customers?size=abc", "", {}, 400, 70037},
      {"size too large", "GET", "/v1/customers?size=501", "", {}, 400, 70037},
      {"negative minPosition", "GET", "/v1/customers?minPosition=-1", "", {}, 400, 70037},
      {"bad percent-encoding", "GET", "/v1/customers/%zz", "", {}, 400, 70037},
      {"unknown offer by id", "GET", "/v1/offers/nope", "", {}, 404, 90003},
      {"unknown subscription", "PATCH", "/v1/customers/$C/subscriptions/nope", "{\"quantity\":2}", {}, 404, 20003},
      // Subscription rules.
      {"quantity out of range", "PATCH", "/v1/customers/$C/subscriptions/$B", "{\"quantity\":301}", {}, 400,
       2002},
      {"unknown status", "PATCH", "/v1/customers/$C/subscriptions/$S", "{\"status\":\"paused\"}", {}, 400, 70017},
      {"autoRenewEnabled a string", "PATCH", "/v1/customers/$C/subscriptions/$S", "{\"autoRenewEnabled\":\"yes\"}",
       {}, 400, 70034},
      // Partner Center's table says 400 for both (error-codes.md).
      {"quantity of a suspended subscription", "PATCH", "/v1/customers/$C/subscriptions/$P", "{\"quantity\":3}", {},
       400, 800091},
      // Relationships and isolation.
      {"another partner's customer", "GET", "/v1/customers/$C", "", {}, 404, 70004, true},
      {"another partner's subscriptions", "GET", "/v1/customers/$C/subscriptions", "", {}, 404, 70004, true},
      {"another partner's billing profile", "PATCH", "/v1/customers/$C/profiles/billing",
       base["billingProfile"].dump(), {}, 404, 70004, true},
      {"another partner's order", "POST", "/v1/customers/$C/orders",
       json{{"lineItems", json::array({Line(kBasic, 1)})}}.dump(), {}, 404, 70004, true},
      {"unknown invitation", "POST", "/v1/customers/$C/relationshiprequests/nope/acceptance", "{}", {}, 404, 70019},
      {"already related", "POST", "/v1/customers/$C/relationshiprequests", "{}", {}, 409, 70018},
      {"last relationship with active subscriptions", "DELETE", "/v1/customers/$C/relationship", "", {}, 409, 70021},
  };
  ASSERT_GE(cases.size(), 40u);

  const uint64_t head = Head();
  for (const auto& bad : cases) {
    HttpClient& client = bad.as_p2 ? *p2_ : p1;
    auto reply = client.Call(bad.method, Expand(bad.target, vars), Expand(bad.body, vars), bad.headers);
    EXPECT_EQ(reply.status, bad.status) << bad.name << ": " << reply.body;
    EXPECT_EQ(reply.code(), bad.code) << bad.name << ": " << reply.body;
    EXPECT_TRUE(reply.json.contains("description") && reply.json["source"] == "tally") << bad.name << ": " << reply.body;
    if (bad.status == 401) EXPECT_EQ(reply.Header("WWW-Authenticate"), "Bearer") << bad.name;
  }
  // The scheme in any case (RFC 6750, RFC 9110 11.1), as some HTTP clients send it.
  const std::string token = tallyd_->dev_token();
  EXPECT_EQ(p1.Call("GET", "/v1/offers", "", {{"Authorization", "bearer " + token}}).status, 200);
  EXPECT_EQ(p1.Call("GET", "/v1/offers", "", {{"Authorization", "BEARER  " + token}}).status, 200);
  // Requests Beast would not send: over-long headers, a broken request line.
  HttpClient raw(tallyd_->port());
  auto huge = raw.Raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'h') + "\r\n\r\n");
  EXPECT_EQ(huge.status, 431) << huge.body;
  EXPECT_EQ(huge.code(), 70038) << huge.body;
  auto garbage = raw.Raw("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(garbage.status, 400) << garbage.body;

  EXPECT_EQ(Head(), head) << "a rejected request appended events";
  EXPECT_EQ(p1.Get("/v1/customers").json["totalCount"], 2);
  EXPECT_EQ(p1.Get("/v1/customers/" + c + "/subscriptions/" + e3).json["quantity"], 5);
  // The server is still fine.
  EXPECT_EQ(p1.Get("/v1/offers").status, 200);

  // Rejections are counted by type and outcome in /metrics (no token needed).
  HttpClient anonymous(tallyd_->port());
  auto metrics = anonymous.Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.Header("Content-Type"), "text/plain; version=0.0.4");
  const std::string& m = metrics.body;
  EXPECT_NE(m.find("tally_commands_total{type=\"AddCustomer\",outcome=\"ok\"} 2\n"), std::string::npos) << m;
  EXPECT_NE(m.find("tally_commands_total{type=\"AddCustomer\",outcome=\"domain_taken\"} 1\n"), std::string::npos)
      << m;
  EXPECT_NE(m.find("tally_commands_total{type=\"UpdateSubscription\",outcome=\"stale_etag\"} 1\n"),
            std::string::npos) << m;
  EXPECT_NE(m.find("tally_http_requests_total{method=\"GET\",status=\"401\"} 3\n"), std::string::npos) << m;
  EXPECT_NE(m.find("tally_command_duration_seconds_bucket{type=\"CreateOrder\",le=\"+Inf\"}"), std::string::npos)
      << m;
  EXPECT_NE(m.find("tally_group_commit_batch_size_bucket{le=\"+Inf\"}"), std::string::npos) << m;
  EXPECT_NE(m.find("tally_read_model_lag_events{model=\"license\"}"), std::string::npos) << m;
  EXPECT_NE(m.find("tally_log_head_position " + std::to_string(head) + "\n"), std::string::npos) << m;
  // Both customers were created by this tallyd: in memory, none read back.
  EXPECT_NE(m.find("tally_customer_states_cached 2\n"), std::string::npos) << m;
  EXPECT_NE(m.find("tally_customer_states_loaded_total 0\n"), std::string::npos) << m;
  EXPECT_EQ(anonymous.Call("POST", "/metrics").code(), 70032);
}

TEST_F(HttpApiTest, SigtermAnswersRequestsInFlightThenExitsCleanly) {
  // Many writes in flight from several connections when SIGTERM arrives:
  // each gets an answer (success, or 503 once the writer stopped), and every
  // 201 is in the log after the stop.
  std::atomic<int> answered{0}, created{0}, unanswered{0};
  std::vector<std::thread> clients;
  std::mutex mu;
  std::vector<std::string> ids;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      HttpClient client(tallyd_->port(), tallyd_->dev_token());
      for (int i = 0; i < 200; ++i) {
        auto r = client.Post("/v1/customers", NewCustomer("t" + std::to_string(t) + "n" + std::to_string(i)));
        if (r.status == 0) {
          ++unanswered;
          break;  // the server is gone: stop
        }
        ++answered;
        if (r.status == 201) {
          ++created;
          std::lock_guard<std::mutex> lock(mu);
          ids.push_back(r.json["id"]);
        } else {
          EXPECT_EQ(r.status, 503) << r.body;
        }
      }
    });
  }
  while (created.load() < 20) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(tallyd_->Stop(), 0) << tallyd_->output();
  for (auto& t : clients) t.join();
  EXPECT_NE(tallyd_->output().find("tallyd: stopped"), std::string::npos) << tallyd_->output();
  EXPECT_GE(created.load(), 20);
  // Every acknowledged customer survived: replay finds each id.
  const std::string replay = Tallyctl("replay --data " + data_ + " --type CustomerCreated");
  for (const auto& id : ids) EXPECT_NE(replay.find(id), std::string::npos) << id;
}

}  // namespace
}  // namespace tally
