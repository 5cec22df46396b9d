// Issue 18: the OpenAPI document (tools/tallyd/openapi.json) and the
// server agree. Against a started tallyd: every documented operation is
// served (its answer is never "no such endpoint" or "method not allowed",
// and never a 5xx); every other method on a documented path, and every path
// one segment longer than a documented one, is 404 route_not_found or 405
// method_not_allowed. GET /openapi.json serves the file as it is in the repo.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "tests/testing/api_bodies.h"
#include "tests/testing/http_client.h"
#include "tests/testing/tallyd.h"
#include "tests/testing/test_util.h"

namespace tally {
namespace {

using nlohmann::json;
using testing::HttpClient;
using namespace testing::offers;

constexpr const char* kMethods[] = {"get", "head", "post", "put", "patch", "delete"};

std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  for (size_t start = 1; start <= path.size();) {
    const size_t end = std::min(path.find('/', start), path.size());
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool Matches(const std::string& templ, const std::string& path) {
  const auto t = Segments(templ), p = Segments(path);
  if (t.size() != p.size()) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (!(t[i].starts_with("{") || t[i] == p[i])) return false;
  }
  return true;
}

class OpenApiRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream in(TALLY_OPENAPI_JSON);
    ASSERT_TRUE(in) << TALLY_OPENAPI_JSON;
    doc_ = json::parse(in);
    tallyd_ = std::make_unique<testing::TallydProcess>(TALLYD, dir_.Sub("var"));
    ASSERT_TRUE(tallyd_->running()) << tallyd_->output();
    client_ = std::make_unique<HttpClient>(tallyd_->port(), tallyd_->dev_token());
  }

  testing::TempDir dir_;
  json doc_;
  std::unique_ptr<testing::TallydProcess> tallyd_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(OpenApiRoutesTest, EveryDocumentedOperationIsServedAndNothingElse) {
  HttpClient& pc = *client_;
  // Real ids, so that documented operations reach their handlers.
  auto created = pc.Post("/v1/customers", testing::NewCustomer("routes", json::array({testing::Line(kBasic, 3)})));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string c = created.json["id"];
  const std::string order = created.json["orders"][0]["id"];
  const std::string sub = created.json["orders"][0]["lineItems"][0]["subscriptionId"];
  const std::map<std::string, std::string> values = {
      {"{customerId}", c},     {"{orderId}", order},         {"{subscriptionId}", sub},
      {"{offerId}", kBasic},   {"{domain}", "free.onmicrosoft.com"}, {"{invitationId}", "no-such-invitation"}};
  auto concrete = [&](const std::string& templ) {
    std::string path;
    for (const auto& s : Segments(templ)) {
      auto it = values.find(s);
      EXPECT_TRUE(!s.starts_with("{") || it != values.end()) << "no value for " << s;
      path += "/" + (it == values.end() ? s : it->second);
    }
    return path;
  };

  size_t operations = 0, refused_probes = 0;
  std::vector<std::string> templates;
  for (const auto& [templ, item] : doc_["paths"].items()) templates.push_back(templ);
  for (const auto& [templ, item] : doc_["paths"].items()) {
    const std::string path = concrete(templ);
    for (const char* method : kMethods) {
      std::string upper(method);
      for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      const bool documented = item.contains(method);
      // The destructive one last: it would end the relationship the rest needs.
      if (documented && std::string(method) == "delete") continue;
      auto r = pc.Call(upper, path, std::string(method) == "get" || std::string(method) == "head" ? "" : "{}");
      ASSERT_NE(r.status, 0) << upper << " " << path;
      EXPECT_LT(r.status, 500) << upper << " " << path << ": " << r.body;
      if (documented) {
        ++operations;
        EXPECT_NE(r.code(), 70031) << upper << " " << templ << " is documented but not served: " << r.body;
        EXPECT_NE(r.code(), 70032) << upper << " " << templ << " is documented but not allowed: " << r.body;
        EXPECT_NE(r.status, 405) << upper << " " << templ;
        const json& responses = item[method]["responses"];
        EXPECT_TRUE(responses.contains(std::to_string(r.status)) || (r.status >= 400 && responses.contains("default")))
            << upper << " " << templ << " answered " << r.status << ", which the document does not list";
      } else {
        ++refused_probes;
        EXPECT_TRUE(r.status == 404 || r.status == 405) << upper << " " << templ << " is served but not documented: "
                                                        << r.status << " " << r.body;
        if (r.status != 204 && !r.body.empty()) {
          EXPECT_TRUE(r.code() == 70031 || r.code() == 70032) << upper << " " << templ << ": " << r.body;
        }
      }
    }
    // One segment more than a documented path: no endpoint, unless that
    // longer path is documented itself.
    const std::string longer = path + "/x";
    if (std::none_of(templates.begin(), templates.end(), [&](const auto& t) { return Matches(t, longer); })) {
      for (const char* method : {"GET", "POST", "PATCH"}) {
        auto r = pc.Call(method, longer, std::string(method) == "GET" ? "" : "{}");
        ++refused_probes;
        EXPECT_EQ(r.code(), 70031) << method << " " << longer << " is served but not documented: " << r.status << " "
                                   << r.body;
      }
    }
  }
  // The relationship DELETE, last.
  for (const auto& [templ, item] : doc_["paths"].items()) {
    if (!item.contains("delete")) continue;
    auto r = pc.Call("DELETE", concrete(templ));
    ++operations;
    EXPECT_NE(r.code(), 70031) << templ;
    EXPECT_NE(r.status, 405) << templ;
    EXPECT_LT(r.status, 500) << r.body;
  }
  EXPECT_GE(operations, 25u);
  std::printf("documented operations served: %zu; undocumented method/path probes refused: %zu\n", operations,
              refused_probes);

  // The served document is the repository's file.
  HttpClient anonymous(tallyd_->port());
  auto served = anonymous.Get("/openapi.json");
  ASSERT_EQ(served.status, 200) << served.body;
  EXPECT_EQ(served.json, doc_);
  EXPECT_EQ(served.json["openapi"], "3.1.0");
}

}  // namespace
}  // namespace tally
