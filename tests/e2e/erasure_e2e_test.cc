// Right to erasure end to end: a real tallyd, its embedded Kafka and
// tallyctl. Before `tallyctl forget`, replay, the customer read model and a
// Kafka consumer with the keys show a customer's personal data; after it,
// all three show it erased, no file of the data folder holds the data or
// the key, the hash chain still verifies, and billing facts stay.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "engine/rocksdb_event_log.h"
#include "tests/testing/api_bodies.h"
#include "tests/testing/http_client.h"
#include "tests/testing/kafka_topic.h"
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

// The files under `dir` whose bytes contain `needle`.
std::vector<std::string> FilesContaining(const std::string& dir, const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) out.push_back(entry.path().string());
  }
  return out;
}

std::string Ctl(const std::string& args) { return std::string(TALLYCTL) + " " + args; }

TEST(ErasureE2eTest, ForgetErasesPersonalDataEverywhereAndKeepsTheHistoryVerifiable) {
  testing::TempDir dir;
  const std::string data = dir.Sub("var");
  std::string token;
  std::string erased_id, offline_id;
  const std::string email = "anna@forgetme.com";
  {
    testing::TallydProcess tallyd(TALLYD, data);
    ASSERT_TRUE(tallyd.running()) << tallyd.output();
    token = tallyd.dev_token();
    HttpClient p1(tallyd.port(), token);
    auto created = p1.Post("/v1/customers", NewCustomer("forgetme", json::array({Line(kE3, 25)})),
                           {{"MS-RequestId", "create-forgetme"}});
    ASSERT_EQ(created.status, 201) << created.body;
    erased_id = created.json["id"];
    auto other = p1.Post("/v1/customers", NewCustomer("offline"));
    ASSERT_EQ(other.status, 201) << other.body;
    offline_id = other.json["id"];
    const uint64_t head = testing::WaitPublished(tallyd.port());
    ASSERT_GT(head, 0u);
    const std::string bootstrap = HttpClient(tallyd.port()).Get("/healthz").json.value("kafka_bootstrap", "");
    const std::string consume = "timeout 30 " + Ctl("consume --bootstrap " + bootstrap + " --exit-at-end --customer " +
                                                    erased_id);

    // Before: every reader with the keys shows the personal data.
    auto row = p1.Get("/v1/customers/" + erased_id);
    EXPECT_EQ(row.json["billingProfile"]["email"], email) << row.body;
    auto replay = testing::RunCommand(Ctl("replay --data " + data + " --customer " + erased_id));
    EXPECT_NE(replay.text.find("\"email\": \"" + email + "\""), std::string::npos) << replay.text;
    EXPECT_NE(replay.text.find("\"personal_data\": \"clear\""), std::string::npos) << replay.text;
    auto with_keys = testing::RunCommand(consume + " --group before-keys --keys-from " + data + " 2>/dev/null");
    EXPECT_NE(with_keys.text.find(email), std::string::npos) << with_keys.text;
    auto without_keys = testing::RunCommand(consume + " --group before-nokeys 2>/dev/null");
    EXPECT_EQ(without_keys.text.find(email), std::string::npos) << without_keys.text;
    EXPECT_NE(without_keys.text.find("\"personal_data\": \"sealed\""), std::string::npos) << without_keys.text;
    std::string key_bytes, personal_digest;
    {
      auto log = RocksDbEventLog::OpenReadOnly(data + "/log");
      ASSERT_TRUE(log.ok()) << log.error().ToString();
      auto key = (*log)->FindKey(erased_id);
      ASSERT_TRUE(key.ok() && key->state == personal::KeyState::kPresent);
      key_bytes.assign(key->key.begin(), key->key.end());
      // The request id's fingerprint: a digest of the request, then one of its personal fields.
      const std::string marker = "created partner 'dev' (id ";
      const size_t at = tallyd.output().find(marker);
      ASSERT_NE(at, std::string::npos) << tallyd.output();
      const size_t from = at + marker.size();
      const std::string partner = tallyd.output().substr(from, tallyd.output().find(')', from) - from);
      auto request = (*log)->FindRequest(partner + "/create-forgetme");
      ASSERT_TRUE(request.ok() && request->has_value()) << partner;
      const std::string& fingerprint = (**request).fingerprint;
      ASSERT_EQ(fingerprint.size(), 129u) << fingerprint;
      personal_digest = fingerprint.substr(65);
    }

    // Forget, through the running tallyd, by domain.
    auto forget = testing::RunCommand(Ctl("forget forgetme.onmicrosoft.com --data " + data +
                                          " --reason 'GDPR request 17'"));
    ASSERT_EQ(forget.exit_code, 0) << forget.text;
    EXPECT_NE(forget.text.find("OK: tallyd erased the personal data of customer " + erased_id), std::string::npos)
        << forget.text;
    auto twice = testing::RunCommand(Ctl("forget " + erased_id + " --data " + data));
    EXPECT_EQ(twice.exit_code, 0) << twice.text;
    EXPECT_NE(twice.text.find("erased before"), std::string::npos) << twice.text;

    // After: the read model, replay and a Kafka consumer show it erased.
    row = p1.Get("/v1/customers/" + erased_id);
    ASSERT_EQ(row.status, 200);
    EXPECT_EQ(row.json["status"], "erased") << row.body;
    EXPECT_EQ(row.json["billingProfile"]["email"], "") << row.body;
    EXPECT_EQ(row.json["billingProfile"]["defaultAddress"]["firstName"], "") << row.body;
    EXPECT_EQ(row.json["billingProfile"]["defaultAddress"]["city"], "Redmond") << "not personal: stays";
    EXPECT_EQ(row.json["companyProfile"]["companyName"], "Contoso forgetme") << row.body;
    auto skus = p1.Get("/v1/customers/" + erased_id + "/subscribedskus");
    EXPECT_NE(skus.body.find("\"activeUnits\":25"), std::string::npos) << "billing facts stay: " << skus.body;
    auto edit = p1.Patch("/v1/customers/" + erased_id + "/profiles/billing", NewCustomer("forgetme")["billingProfile"]);
    EXPECT_EQ(edit.status, 409) << edit.body;
    EXPECT_EQ(edit.json.value("code", 0), 70024) << edit.body;

    replay = testing::RunCommand(Ctl("replay --data " + data + " --customer " + erased_id));
    ASSERT_EQ(replay.exit_code, 0) << replay.text;
    EXPECT_EQ(replay.text.find(email), std::string::npos) << replay.text;
    EXPECT_NE(replay.text.find("\"personal_data\": \"erased\""), std::string::npos) << replay.text;
    EXPECT_NE(replay.text.find("\"payload_type\": \"CustomerPersonalDataErased\""), std::string::npos) << replay.text;
    EXPECT_NE(replay.text.find("GDPR request 17"), std::string::npos) << replay.text;
    ASSERT_GT(testing::WaitPublished(tallyd.port()), head);
    auto after = testing::RunCommand(consume + " --group after-keys --keys-from " + data + " 2>/dev/null");
    EXPECT_EQ(after.text.find(email), std::string::npos) << after.text;
    EXPECT_NE(after.text.find("\"personal_data\": \"erased\""), std::string::npos) << after.text;
    EXPECT_NE(after.text.find("CustomerPersonalDataErased"), std::string::npos) << "consumers are told";

    // No file of the data folder holds the personal data or the key.
    EXPECT_EQ(FilesContaining(data, email), std::vector<std::string>{});
    EXPECT_EQ(FilesContaining(data, key_bytes), std::vector<std::string>{});
    EXPECT_EQ(FilesContaining(data, personal_digest), std::vector<std::string>{})
        << "a digest of the personal fields outlived the erasure";
    // A retry of the creating request still gets its first answer.
    auto retried = p1.Post("/v1/customers", NewCustomer("forgetme", json::array({Line(kE3, 25)})),
                           {{"MS-RequestId", "create-forgetme"}});
    EXPECT_EQ(retried.status, 201) << retried.body;
    EXPECT_EQ(retried.json.value("id", ""), erased_id) << retried.body;
    // The log (its WAL is not compressed) holds the other customer's too only sealed.
    EXPECT_EQ(FilesContaining(data + "/log", "anna@offline.com"), std::vector<std::string>{});
    ASSERT_EQ(tallyd.Stop(), 0) << tallyd.output();
    EXPECT_EQ(tallyd.output().find(email), std::string::npos) << "tallyd's own output";
  }

  // On a stopped folder, tallyctl does it itself, read models included.
  auto offline = testing::RunCommand(Ctl("forget " + offline_id + " --data " + data));
  ASSERT_EQ(offline.exit_code, 0) << offline.text;
  EXPECT_NE(offline.text.find("OK: tallyctl erased"), std::string::npos) << offline.text;
  auto verify = testing::RunCommand(Ctl("verify --data " + data));
  EXPECT_EQ(verify.exit_code, 0) << "the chain is untouched: " << verify.text;
  auto history = testing::RunCommand(Ctl("history " + offline_id + " --data " + data));
  EXPECT_NE(history.text.find("personal_data=erased"), std::string::npos) << history.text;
  EXPECT_NE(history.text.find("tally-operator"), std::string::npos) << "who did it: " << history.text;

  testing::TallydProcess again(TALLYD, data);
  ASSERT_TRUE(again.running()) << again.output();
  HttpClient p1(again.port(), token);
  auto row = p1.Get("/v1/customers/" + offline_id);
  EXPECT_EQ(row.json["status"], "erased") << row.body;
  EXPECT_EQ(row.json["billingProfile"]["email"], "") << row.body;
  EXPECT_EQ(p1.Get("/v1/customers/" + erased_id).json["status"], "erased");

  auto unknown = testing::RunCommand(Ctl("forget nobody.onmicrosoft.com --data " + data));
  EXPECT_EQ(unknown.exit_code, 2) << unknown.text;
}

// The same through the /admin API: an operator's token (tallyctl operators
// add, while tallyd runs) erases; bad calls are refused with a code and
// append nothing; neither the token nor the data reaches tallyd's output.
TEST(ErasureE2eTest, AnOperatorErasesThroughTheAdminApi) {
  testing::TempDir dir;
  const std::string data = dir.Sub("var");
  testing::TallydProcess tallyd(TALLYD, data);
  ASSERT_TRUE(tallyd.running()) << tallyd.output();
  HttpClient p1(tallyd.port(), tallyd.dev_token());
  auto created = p1.Post("/v1/customers", NewCustomer("adminforget", json::array({Line(kE3, 5)})));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.json["id"];
  const std::string email = "anna@adminforget.com";
  const std::string path = "/admin/v1/customers/" + id + "/forget";

  // No operator yet: every token is unknown.
  HttpClient admin(tallyd.port(), tallyd.dev_token());
  auto partner_token = admin.Post(path, json{{"reason", "x"}});
  EXPECT_EQ(partner_token.status, 401) << "a partner's token is not an operator's: " << partner_token.body;
  EXPECT_EQ(partner_token.code(), 70030);
  EXPECT_NE(partner_token.body.find("tallyctl operators add"), std::string::npos) << partner_token.body;

  const std::string token = testing::AddedToken(TALLYCTL, data, "operators add alice");
  ASSERT_EQ(token.size(), 43u) << token;
  admin.set_token(token);
  const uint64_t head = HttpClient(tallyd.port()).Get("/healthz").json["head"];

  // Bad calls: each a 4xx with its code, and nothing appended.
  struct Bad {
    std::string method, target, body;
    int status, code;
  };
  const std::vector<Bad> bad = {
      {"POST", path, "{\"reason\": ", 400, 70033},
      {"POST", path, "[]", 400, 70033},
      {"POST", path, "{\"reason\": 17}", 400, 70034},
      {"POST", path, "{\"reason\": \"\"}", 400, 70034},
      {"POST", path, "{\"why\": \"x\"}", 400, 70034},
      {"POST", path, json{{"reason", std::string(300, 'r')}}.dump(), 400, 70023},
      {"GET", path, "", 405, 70032},
      {"POST", "/admin/v1/customers/" + id, "", 404, 70031},
      {"POST", "/admin/v1/customers/nobody.onmicrosoft.com/forget", "", 404, 70004},
      {"POST", "/admin/v1/customers/00000000-0000-4000-8000-000000000000/forget", "", 404, 70004},
  };
  for (const auto& b : bad) {
    auto r = admin.Call(b.method, b.target, b.body);
    EXPECT_EQ(r.status, b.status) << b.method << " " << b.target << " " << b.body << ": " << r.body;
    EXPECT_EQ(r.code(), b.code) << b.method << " " << b.target << " " << b.body << ": " << r.body;
  }
  auto wrong = HttpClient(tallyd.port(), token + "x").Post(path, json::object());
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  auto no_token = HttpClient(tallyd.port()).Post(path, json::object());
  EXPECT_EQ(no_token.status, 401) << no_token.body;
  auto as_partner = admin.Get("/v1/customers/" + id);
  EXPECT_EQ(as_partner.status, 401) << "an operator's token is not a partner's: " << as_partner.body;
  EXPECT_EQ(HttpClient(tallyd.port()).Get("/healthz").json["head"], head) << "bad calls append nothing";
  EXPECT_EQ(p1.Get("/v1/customers/" + id).json["billingProfile"]["email"], email);

  // By domain, with a request id the event records.
  auto erased = admin.Post("/admin/v1/customers/adminforget.onmicrosoft.com/forget",
                           json{{"reason", "GDPR request 18"}}, {{"MS-RequestId", "erase-18"}});
  ASSERT_EQ(erased.status, 200) << erased.body;
  EXPECT_EQ(erased.json["customerId"], id) << erased.body;
  EXPECT_EQ(erased.json["erasedBefore"], false) << erased.body;
  EXPECT_EQ(erased.json["position"].get<uint64_t>(), head + 1) << erased.body;
  auto row = p1.Get("/v1/customers/" + id);
  EXPECT_EQ(row.json["status"], "erased") << row.body;
  EXPECT_EQ(row.json["billingProfile"]["email"], "") << row.body;
  auto again = admin.Call("POST", path);  // no body: the default reason
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json["erasedBefore"], true) << again.body;
  EXPECT_EQ(HttpClient(tallyd.port()).Get("/healthz").json["head"], head + 1);

  ASSERT_EQ(tallyd.Stop(), 0) << tallyd.output();
  EXPECT_NE(tallyd.output().find("operator alice"), std::string::npos) << tallyd.output();
  EXPECT_EQ(tallyd.output().find(token), std::string::npos) << "the token never reaches the log";
  EXPECT_EQ(tallyd.output().find(email), std::string::npos);
  auto replay = testing::RunCommand(Ctl("replay --data " + data + " --customer " + id));
  EXPECT_NE(replay.text.find("GDPR request 18"), std::string::npos) << replay.text;
  EXPECT_NE(replay.text.find("\"request_id\": \"erase-18\""), std::string::npos) << replay.text;
  EXPECT_NE(replay.text.find("\"partner_id\": \"tally-operator\""), std::string::npos) << replay.text;
  EXPECT_EQ(replay.text.find(email), std::string::npos) << replay.text;
  EXPECT_EQ(FilesContaining(data, email), std::vector<std::string>{});
  auto verify = testing::RunCommand(Ctl("verify --data " + data));
  EXPECT_EQ(verify.exit_code, 0) << verify.text;
}

}  // namespace
}  // namespace tally
