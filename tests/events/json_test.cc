#include "events/json.h"

#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include <cstring>

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

// The generated verifier does not look at deprecated fields, so the text
// generator must not follow them either: a forged record whose deprecated
// field points anywhere crashed it (found by event_decode_fuzz). Here the
// Address vtable's slot for the deprecated first_name is aimed at the city
// string: the record still verifies, and the field stays unrendered.
TEST(JsonTest, DeprecatedFieldsAreNeverRendered) {
  JsonRenderer renderer;
  SampleEvents samples(10);
  std::string bytes = samples.CustomerCreated("c1", "r1");
  auto env = VerifyEnvelope(bytes);
  ASSERT_TRUE(env.ok());
  const auto* address =
      (*env)->payload_as_CustomerCreated()->billing_profile()->default_address();
  ASSERT_NE(address, nullptr);
  const auto* table = reinterpret_cast<const uint8_t*>(address);
  const auto* vtable = table - flatbuffers::ReadScalar<flatbuffers::soffset_t>(table);
  const size_t vt = static_cast<size_t>(vtable - reinterpret_cast<const uint8_t*>(bytes.data()));
  auto slot = [&](int index) -> uint16_t {
    uint16_t v;
    std::memcpy(&v, bytes.data() + vt + 2 * index, 2);
    return v;
  };
  constexpr int kFirstName = 2 + 0, kCity = 2 + 5;  // vtable size, table size, fields by id
  ASSERT_GE(slot(0), 2 * (kCity + 1)) << "vtable reaches the city slot";
  ASSERT_EQ(slot(kFirstName), 0) << "first_name is absent in a v2 record";
  const uint16_t city = slot(kCity);
  ASSERT_NE(city, 0);
  std::memcpy(bytes.data() + vt + 2 * kFirstName, &city, 2);
  ASSERT_TRUE(VerifyEnvelope(bytes).ok()) << "the verifier ignores deprecated fields";

  auto text = renderer.Render(bytes);
  ASSERT_TRUE(text.ok()) << text.error().ToString();
  auto j = nlohmann::json::parse(*text);
  const auto& rendered = j["payload"]["billing_profile"]["default_address"];
  EXPECT_EQ(rendered["city"], "Redmond");
  EXPECT_FALSE(rendered.contains("first_name")) << *text;
}

TEST(JsonTest, SchemaTextIsTheSchemaFile) {
  EXPECT_NE(SchemaText().find("root_type Envelope;"), std::string_view::npos);
  EXPECT_NE(SchemaText().find("union Payload"), std::string_view::npos);
}

}  // namespace
}  // namespace tally::events
