#include "events/json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "events/codec.h"
#include "events/samples.h"

namespace tally::events {
namespace {

TEST(JsonTest, RendersEveryPayloadTypeAsStrictJson) {
  JsonRenderer renderer;
  SampleEvents samples(7);
  for (uint8_t t = 1; t <= static_cast<uint8_t>(Payload::MAX); ++t) {
    const auto type = static_cast<Payload>(t);
    std::string bytes = samples.OfType(type, "c1");
    ASSERT_TRUE(StampEnvelope(bytes, 10 + t, 1, 1'700'000'000'000'000));
    auto text = renderer.Render(bytes);
    ASSERT_TRUE(text.ok()) << text.error().ToString();
    EXPECT_EQ(text->find('\n'), std::string::npos) << "one line";
    auto j = nlohmann::json::parse(*text);  // throws (fails the test) if not strict JSON
    EXPECT_EQ(j.at("payload_type"), std::string(EventTypeName(type)));
    EXPECT_EQ(j.at("position"), 10 + t);
    EXPECT_EQ(j.at("stream_id"), "customer-c1");
    EXPECT_TRUE(j.at("payload").is_object());
  }
}

TEST(JsonTest, RendersNestedFields) {
  JsonRenderer renderer;
  SampleEvents samples(8);
  auto text = renderer.Render(samples.CustomerCreated("c1", "r1"));
  ASSERT_TRUE(text.ok());
  auto j = nlohmann::json::parse(*text);
  EXPECT_EQ(j["payload"]["billing_profile"]["default_address"]["city"], "Redmond");
  EXPECT_EQ(j["payload"]["instance"], "global");
}

TEST(JsonTest, CorruptBytesAreAnError) {
  JsonRenderer renderer;
  std::string junk(64, '\x7f');
  EXPECT_FALSE(renderer.Render(junk).ok());
}

TEST(JsonTest, AStringThatIsNotUtf8IsAnErrorNotBrokenJson) {
  JsonRenderer renderer;
  SampleEvents samples(9);
  std::string bytes = samples.CustomerCreated("c1", "r1");
  const size_t at = bytes.find("Contoso Ltd");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 2] = static_cast<char>(0xae);  // a lone continuation byte
  ASSERT_TRUE(VerifyEnvelope(bytes).ok()) << "FlatBuffers does not check UTF-8";
  auto text = renderer.Render(bytes);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().code(), ErrorCode::kCorruption);
}

TEST(JsonTest, SchemaTextIsTheSchemaFile) {
  EXPECT_NE(SchemaText().find("root_type Envelope;"), std::string_view::npos);
  EXPECT_NE(SchemaText().find("union Payload"), std::string_view::npos);
}

}  // namespace
}  // namespace tally::events
