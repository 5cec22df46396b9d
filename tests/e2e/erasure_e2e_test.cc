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
    auto created = p1.Post("/v1/customers", NewCustomer("forgetme", json::array({Line(kE3, 25)})));
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
    std::string key_bytes;
    {
      auto log = RocksDbEventLog::OpenReadOnly(data + "/log");
      ASSERT_TRUE(log.ok()) << log.error().ToString();
      auto key = (*log)->FindKey(erased_id);
      ASSERT_TRUE(key.ok() && key->state == personal::KeyState::kPresent);
      key_bytes.assign(key->key.begin(), key->key.end());
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

}  // namespace
}  // namespace tally
