// Sealing personal fields: what opens, what does not, and what readers show.
#include "engine/personal/personal_data.h"

#include <gtest/gtest.h>

#include <functional>

#include <map>

#include "engine/personal/event_json.h"
#include "events/codec.h"
#include <nlohmann/json.hpp>

namespace tally::personal {
namespace {

const Fields kAda{"ada@contoso.example", "Ada", "Lovelace", "1 Microsoft Way", "Floor 2", "", "+1 425 555 0100"};

// A key ring in memory (the log's keys column family in production).
class MapKeyRing final : public KeyRing {
 public:
  std::map<std::string, KeyRecord, std::less<>> records;
  Result<KeyRecord> FindKey(std::string_view id) const override {
    auto it = records.find(id);
    return it == records.end() ? KeyRecord{} : it->second;
  }
};

std::string Text(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

TEST(PersonalDataTest, SealedFieldsOpenWithTheKeyAndCustomerTheyWereSealedFor) {
  const Key key = NewKey();
  const auto sealed = Seal(key, "c1", kAda);
  auto opened = Open(key, "c1", sealed);
  ASSERT_TRUE(opened.ok()) << opened.error().ToString();
  EXPECT_EQ(*opened, kAda);
  for (const std::string& clear : {kAda.email, kAda.last_name, kAda.address_line1, kAda.phone_number}) {
    EXPECT_EQ(Text(sealed).find(clear), std::string::npos) << clear << " is readable in the sealed bytes";
  }
}

TEST(PersonalDataTest, AnotherKeyAnotherCustomerOrAFlippedByteDoNotOpen) {
  const Key key = NewKey();
  const auto sealed = Seal(key, "c1", kAda);
  EXPECT_EQ(Open(NewKey(), "c1", sealed).error().code(), ErrorCode::kCorruption);
  EXPECT_EQ(Open(key, "c2", sealed).error().code(), ErrorCode::kCorruption) << "moved to another customer";
  for (size_t i = 0; i < sealed.size(); i += 7) {
    auto flipped = sealed;
    flipped[i] ^= 0x01;
    EXPECT_FALSE(Open(key, "c1", flipped).ok()) << "byte " << i;
  }
  EXPECT_FALSE(Open(key, "c1", std::span(sealed).first(10)).ok());
  EXPECT_FALSE(Open(key, "c1", {}).ok());
}

TEST(PersonalDataTest, EachSealHasItsOwnNonce) {
  const Key key = NewKey();
  EXPECT_NE(Seal(key, "c1", kAda), Seal(key, "c1", kAda));
  EXPECT_NE(NewKey(), NewKey());
}

TEST(PersonalDataTest, RevealShowsClearErasedOrSealed) {
  MapKeyRing ring;
  const Key key = NewKey();
  const auto sealed = Seal(key, "c1", kAda);
  ring.records["c1"] = {KeyState::kPresent, key, 0};
  auto clear = Reveal(&ring, "c1", sealed);
  ASSERT_TRUE(clear.ok());
  EXPECT_EQ(clear->visibility, Visibility::kClear);
  EXPECT_EQ(clear->fields, kAda);

  auto no_store = Reveal(nullptr, "c1", sealed);
  ASSERT_TRUE(no_store.ok());
  EXPECT_EQ(no_store->visibility, Visibility::kSealed);
  EXPECT_EQ(no_store->fields, Fields{});

  ring.records["c1"] = {KeyState::kErased, {}, 42};
  auto erased = Reveal(&ring, "c1", sealed);
  ASSERT_TRUE(erased.ok());
  EXPECT_EQ(erased->visibility, Visibility::kErased);
  EXPECT_EQ(erased->fields, Fields{});

  EXPECT_EQ(Reveal(&ring, "c9", sealed).error().code(), ErrorCode::kCorruption) << "sealed data without a key";
  ring.records["c1"] = {KeyState::kPresent, NewKey(), 0};
  EXPECT_EQ(Reveal(&ring, "c1", sealed).error().code(), ErrorCode::kCorruption) << "the wrong key";
  auto nothing = Reveal(&ring, "c9", {});
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(nothing->visibility, Visibility::kClear) << "no personal data at all";
}

TEST(PersonalDataTest, KeyRecordsRoundTripAndMalformedOnesAreCorruption) {
  const KeyRecord present{KeyState::kPresent, NewKey(), 0};
  auto back = DecodeKeyRecord(EncodeKeyRecord(present));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, KeyState::kPresent);
  EXPECT_EQ(back->key, present.key);
  const std::string erased_bytes = EncodeKeyRecord({KeyState::kErased, {}, 0x0102030405060708ULL});
  EXPECT_EQ(erased_bytes.size(), 9u) << "an erased record holds no key material";
  back = DecodeKeyRecord(erased_bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, KeyState::kErased);
  EXPECT_EQ(back->erased_at_position, 0x0102030405060708ULL);
  for (const std::string& bad : {std::string(), std::string("K"), std::string(33, 'X'), std::string("E1234567")}) {
    EXPECT_EQ(DecodeKeyRecord(bad).error().code(), ErrorCode::kCorruption) << bad.size();
  }
}

// A CustomerCreated envelope whose company name and city try to pass for
// the keys the renderer edits.
std::string TrickyCustomerCreated(const Key& key) {
  flatbuffers::FlatBufferBuilder fbb;
  const std::string tricky = "x\",\"sealed_personal_data\": [1],\"default_address\": {";
  const auto sealed = Seal(key, "c1", kAda);
  auto address = events::CreateAddressDirect(fbb, tricky.c_str(), "WA", "98052", "US");
  auto billing = events::CreateBillingProfileDirect(fbb, "en-US", "en", tricky.c_str(), address, &sealed);
  auto payload = events::CreateCustomerCreatedDirect(fbb, "c1", "c1.onmicrosoft.com", tricky.c_str(), "", "global",
                                                     billing, "admin@c1.onmicrosoft.com");
  return events::FinishEnvelope(fbb, {"customer-c1", "e1", "", "", "p1", "c1"}, events::Payload::CustomerCreated,
                                payload.Union());
}

// Renders `envelope` (customer c1's, sealed with `key`) with the key
// present, erased and unknown; `check` gets the JSON, the key's state, the
// visibility the text must say, and the text.
void ForEachVisibility(const std::string& envelope, const Key& key,
                       const std::function<void(const nlohmann::json&, KeyState, const char*, const std::string&)>& check) {
  events::JsonRenderer renderer;
  MapKeyRing ring;
  ring.records["c1"] = {KeyState::kPresent, key, 0};
  for (auto [state, visibility] : {std::pair{KeyState::kPresent, "clear"}, std::pair{KeyState::kErased, "erased"},
                                   std::pair{KeyState::kUnknown, "sealed"}}) {
    ring.records["c1"].state = state;
    auto text = RenderEvent(renderer, envelope, state == KeyState::kUnknown ? nullptr : &ring);
    ASSERT_TRUE(text.ok()) << text.error().ToString();
    auto json = nlohmann::json::parse(*text, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << *text;
    check(json, state, visibility, *text);
  }
}

TEST(EventJsonTest, TheSealedBytesBecomeTheFieldsOrTheirVisibilityAndStringsCannotSteerIt) {
  const Key key = NewKey();
  const std::string envelope = TrickyCustomerCreated(key);
  ForEachVisibility(envelope, key, [](const nlohmann::json& json, KeyState state, const char* visibility,
                                      const std::string& text) {
    const auto& billing = json["payload"]["billing_profile"];
    EXPECT_EQ(billing["personal_data"], visibility) << text;
    EXPECT_FALSE(billing.contains("sealed_personal_data")) << text;
    EXPECT_EQ(billing["company_name"], json["payload"]["company_name"]) << "left alone: " << text;
    EXPECT_EQ(billing["default_address"]["city"], billing["company_name"]) << text;
    if (state == KeyState::kPresent) {
      EXPECT_EQ(billing["email"], kAda.email);
      EXPECT_EQ(billing["default_address"]["last_name"], kAda.last_name);
      EXPECT_EQ(billing["default_address"]["phone_number"], kAda.phone_number);
    } else {
      EXPECT_EQ(text.find(kAda.email), std::string::npos) << text;
      EXPECT_FALSE(billing.contains("email")) << text;
    }
  });
  events::JsonRenderer renderer;
  MapKeyRing ring;
  ring.records["c1"] = {KeyState::kPresent, NewKey(), 0};
  EXPECT_EQ(RenderEvent(renderer, envelope, &ring).error().code(), ErrorCode::kCorruption) << "the wrong key";
}

TEST(EventJsonTest, AnAgreementsContactShowsInClearOnlyWithItsKey) {
  const Key key = NewKey();
  flatbuffers::FlatBufferBuilder fbb;
  const auto sealed = Seal(key, "c1", kAda);
  auto payload = events::CreateCustomerAgreementAcceptedDirect(fbb, "998b88de-aa99-4388-a42c-1b3517d49490",
                                                               "MicrosoftCustomerAgreement", 1'704'067'200'000'000,
                                                               &sealed);
  const std::string envelope = events::FinishEnvelope(fbb, {"customer-c1", "e1", "", "", "p1", "c1"},
                                                      events::Payload::CustomerAgreementAccepted, payload.Union());
  ForEachVisibility(envelope, key, [](const nlohmann::json& json, KeyState state, const char* visibility,
                                      const std::string& text) {
    const auto& p = json["payload"];
    EXPECT_EQ(p["personal_data"], visibility) << text;
    EXPECT_FALSE(p.contains("sealed_contact")) << text;
    EXPECT_EQ(p["agreement_type"], "MicrosoftCustomerAgreement") << text;
    if (state == KeyState::kPresent) {
      EXPECT_EQ(p["email"], kAda.email);
      EXPECT_EQ(p["last_name"], kAda.last_name);
    } else {
      EXPECT_EQ(text.find(kAda.email), std::string::npos) << text;
    }
  });
}

}  // namespace
}  // namespace tally::personal
