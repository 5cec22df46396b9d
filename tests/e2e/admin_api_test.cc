// Issue 23: what the console calls, against a started tallyd: the event
// browser (GET /admin/v1/events), chain verification (POST /admin/v1/verify),
// rebuilds with their progress (/admin/v1/rebuild), the pending relationship
// requests of a customer, and the console's files with their security
// headers. Bad calls are 4xx with a code and append nothing.
#include <gtest/gtest.h>

#include <chrono>
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
using testing::Line;
using testing::NewCustomer;
using namespace testing::offers;

class AdminApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tallyd_.emplace(TALLYD, dir_.Sub("var"));
    ASSERT_TRUE(tallyd_->running()) << tallyd_->output();
    partner_.emplace(tallyd_->port(), tallyd_->dev_token());
    admin_.emplace(tallyd_->port(), testing::AddedToken(TALLYCTL, dir_.Sub("var"), "operators add ops"));
    for (const char* prefix : {"adminone", "admintwo"}) {
      auto created = partner_->Post("/v1/customers", NewCustomer(prefix, json::array({Line(kE3, 5)})));
      ASSERT_EQ(created.status, 201) << created.body;
      ids_.push_back(created.json["id"]);
    }
  }
  uint64_t Head() { return HttpClient(tallyd_->port()).Get("/healthz").json["head"]; }

  testing::TempDir dir_;
  std::optional<testing::TallydProcess> tallyd_;
  std::optional<HttpClient> partner_, admin_;
  std::vector<std::string> ids_;
};

TEST_F(AdminApiTest, TheEventBrowserPagesAndFilters) {
  const uint64_t head = Head();
  ASSERT_GT(head, 4u);
  // Paged by `next` until the head: every position once, in order.
  uint64_t expect = 1;
  std::string target = "/admin/v1/events?limit=3";
  for (int pages = 0; pages < 100; ++pages) {
    auto page = admin_->Get(target);
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_EQ(page.json["head"], head);
    EXPECT_LE(page.json["items"].size(), 3u);
    for (const auto& e : page.json["items"]) EXPECT_EQ(e["position"].get<uint64_t>(), expect++) << e;
    if (!page.json.contains("next")) break;
    target = "/admin/v1/events?limit=3&from=" + std::to_string(page.json["next"].get<uint64_t>());
  }
  EXPECT_EQ(expect, head + 1);

  // One customer's history, by domain: its stream only, with its personal data (operators see it).
  auto history = admin_->Get("/admin/v1/events?customer=adminone.onmicrosoft.com");
  ASSERT_EQ(history.status, 200) << history.body;
  EXPECT_EQ(history.json["customerId"], ids_[0]);
  ASSERT_FALSE(history.json["items"].empty());
  for (const auto& e : history.json["items"]) EXPECT_EQ(e["stream_id"], "customer-" + ids_[0]) << e;
  EXPECT_EQ(history.json["items"][0]["payload_type"], "CustomerCreated");
  EXPECT_NE(history.body.find("anna@adminone.com"), std::string::npos) << history.body;

  auto created = admin_->Get("/admin/v1/events?type=CustomerCreated");
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(created.json["items"].size(), 2u) << created.body;
  auto by_dev = admin_->Get("/admin/v1/events?partner=dev&limit=1000");
  EXPECT_EQ(by_dev.json["items"].size(), head) << "every event so far is partner dev's";
  EXPECT_TRUE(admin_->Get("/admin/v1/events?partner=nobody").json["items"].empty());
  EXPECT_EQ(admin_->Get("/admin/v1/events?since=2000-01-01&until=2999-12-31&limit=1000").json["items"].size(), head);
  EXPECT_TRUE(admin_->Get("/admin/v1/events?until=2000-01-01").json["items"].empty());
  EXPECT_EQ(admin_->Get("/admin/v1/events?from=2&to=3").json["items"].size(), 2u);

  struct Bad {
    std::string method, target;
    int status, code;
  };
  for (const Bad& b : std::vector<Bad>{{"GET", "/admin/v1/events?limit=0", 400, 70037},
                                       {"GET", "/admin/v1/events?limit=1001", 400, 70037},
                                       {"GET", "/admin/v1/events?from=abc", 400, 70037},
                                       {"GET", "/admin/v1/events?type=NoSuchEvent", 400, 70037},
                                       {"GET", "/admin/v1/events?since=yesterday", 400, 70037},
                                       {"GET", "/admin/v1/events?customer=nobody.onmicrosoft.com", 404, 70004},
                                       {"POST", "/admin/v1/events", 405, 70032},
                                       {"GET", "/admin/v1/events/1", 404, 70031}}) {
    auto r = admin_->Call(b.method, b.target);
    EXPECT_EQ(r.status, b.status) << b.target << ": " << r.body;
    EXPECT_EQ(r.code(), b.code) << b.target << ": " << r.body;
  }
  // A partner's token opens none of it.
  EXPECT_EQ(partner_->Get("/admin/v1/events").status, 401);
  EXPECT_EQ(Head(), head) << "reads append nothing";
}

TEST_F(AdminApiTest, VerifyChecksTheChainOverARange) {
  const uint64_t head = Head();
  auto all = admin_->Post("/admin/v1/verify", json::object());
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.json["ok"], true);
  EXPECT_EQ(all.json["checked"], head);
  EXPECT_EQ(all.json["to"], head);
  auto range = admin_->Post("/admin/v1/verify", json{{"from", 2}, {"to", 3}});
  ASSERT_EQ(range.status, 200) << range.body;
  EXPECT_EQ(range.json["checked"], 2);
  auto empty_body = admin_->Call("POST", "/admin/v1/verify", "");
  EXPECT_EQ(empty_body.status, 200) << empty_body.body;
  for (const std::string& body : {R"({"from": 0})", R"({"to": -1})", R"({"from": 5, "to": 2})", R"({"x": 1})",
                                  R"({"from": "1"})"}) {
    auto r = admin_->Call("POST", "/admin/v1/verify", body);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
    EXPECT_EQ(r.code(), 70034) << body << ": " << r.body;
  }
  EXPECT_EQ(admin_->Get("/admin/v1/verify").status, 405);
  EXPECT_EQ(Head(), head);
}

TEST_F(AdminApiTest, ARebuildRunsAndReportsItsProgress) {
  const uint64_t head = Head();
  auto idle = admin_->Get("/admin/v1/rebuild");
  ASSERT_EQ(idle.status, 200) << idle.body;
  EXPECT_EQ(idle.json["state"], "idle");
  for (const std::string& body : {R"({"models": ["invoices"]})", R"({"models": []})", R"({"models": "license"})",
                                  R"({"models": [1]})", R"({})", R"({"models": ["license"], "x": 1})"}) {
    auto r = admin_->Call("POST", "/admin/v1/rebuild", body);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
    EXPECT_EQ(r.code(), 70034) << body << ": " << r.body;
  }
  EXPECT_EQ(admin_->Get("/admin/v1/rebuild").json["state"], "idle") << "refused calls start nothing";

  auto started = admin_->Post("/admin/v1/rebuild", json{{"models", {"license", "billing"}}});
  ASSERT_EQ(started.status, 202) << started.body;
  EXPECT_EQ(started.json["models"], json({"license", "billing"}));
  json state;
  for (int i = 0; i < 300; ++i) {
    state = admin_->Get("/admin/v1/rebuild").json;
    if (state["state"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(state["state"], "done") << state;
  EXPECT_EQ(state["position"], head) << state;
  EXPECT_EQ(state["head"], head) << state;
  EXPECT_FALSE(state["finishedAt"].get<std::string>().empty()) << state;
  // The rebuilt models answer as before.
  auto subs = partner_->Get("/v1/customers/" + ids_[0] + "/subscriptions");
  ASSERT_EQ(subs.status, 200) << subs.body;
  EXPECT_EQ(subs.json["items"].size(), 1u);
  auto all = admin_->Post("/admin/v1/rebuild", json{{"models", {"all"}}});
  ASSERT_EQ(all.status, 202) << all.body;
  EXPECT_EQ(all.json["models"].size(), 4u) << all.body;
  EXPECT_EQ(partner_->Post("/admin/v1/rebuild", json{{"models", {"all"}}}).status, 401);
  EXPECT_EQ(Head(), head) << "a rebuild appends nothing";
}

TEST_F(AdminApiTest, PendingRelationshipRequestsAreListed) {
  HttpClient second(tallyd_->port(), testing::AddedToken(TALLYCTL, dir_.Sub("var"), "partners add second"));
  const std::string base = "/v1/customers/" + ids_[0];
  auto none = partner_->Get(base + "/relationshiprequests");
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(none.json["totalCount"], 0);
  auto invited = second.Post(base + "/relationshiprequests", json::object());
  ASSERT_EQ(invited.status, 201) << invited.body;
  auto pending = partner_->Get(base + "/relationshiprequests");
  ASSERT_EQ(pending.json["totalCount"], 1) << pending.body;
  EXPECT_EQ(pending.json["items"][0]["invitationId"], invited.json["invitationId"]);
  EXPECT_EQ(pending.json["items"][0]["partnerId"], "second");
  EXPECT_EQ(second.Get(base + "/relationshiprequests").status, 404) << "an invited partner sees nothing yet";
  auto accepted = partner_->Post(base + "/relationshiprequests/" + invited.json["invitationId"].get<std::string>() + "/acceptance",
                                 json::object());
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(partner_->Get(base + "/relationshiprequests").json["totalCount"], 0) << "accepted: a partner now";
  EXPECT_EQ(second.Get(base + "/partners").json["totalCount"], 2);
}

TEST_F(AdminApiTest, TheConsoleIsServedWithItsSecurityHeaders) {
  HttpClient anyone(tallyd_->port());
  auto page = anyone.Get("/console/");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.Header("Content-Type"), "text/html; charset=utf-8");
  const std::string csp = page.Header("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
  EXPECT_EQ(page.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(page.Header("X-Frame-Options"), "DENY");
  EXPECT_NE(page.body.find("/console/console.js"), std::string::npos);
  auto script = anyone.Get("/console/console.js");
  ASSERT_EQ(script.status, 200);
  EXPECT_EQ(script.Header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(script.body.find("innerHTML"), std::string::npos) << "the console draws text, never markup";
  EXPECT_EQ(anyone.Get("/console/console.css").Header("Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(anyone.Get("/console").status, 308);
  EXPECT_EQ(anyone.Get("/console").Header("Location"), "/console/");
  for (const std::string& missing : {"/console/none.js", "/console/a/b", "/console/..%2Fpartners.json"}) {
    auto r = anyone.Get(missing);
    EXPECT_EQ(r.status, 404) << missing;
    EXPECT_EQ(r.code(), 70031) << missing;
  }
  EXPECT_EQ(anyone.Call("POST", "/console/", "{}").status, 405);
  auto head = anyone.Call("HEAD", "/console/");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
}

}  // namespace
}  // namespace tally
