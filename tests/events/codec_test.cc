#include "events/codec.h"

#include <gtest/gtest.h>

#include "events/samples.h"
#include "tests/testing/test_util.h"

namespace tally::events {
namespace {

TEST(CodecTest, FinishedEnvelopeVerifiesAndCarriesItsFields) {
  SampleEvents samples(1);
  std::string bytes = samples.CustomerCreated("c1", "req-1");
  auto env = VerifyEnvelope(bytes);
  ASSERT_TRUE(env.ok()) << env.error().ToString();
  EXPECT_EQ(View((*env)->stream_id()), "customer-c1");
  EXPECT_EQ(View((*env)->request_id()), "req-1");
  EXPECT_EQ(View((*env)->customer_id()), "c1");
  EXPECT_EQ((*env)->schema_version(), kSchemaVersion);
  EXPECT_EQ((*env)->position(), 0u);
  ASSERT_EQ((*env)->payload_type(), Payload::CustomerCreated);
  EXPECT_EQ(View((*env)->payload_as_CustomerCreated()->company_name()), "Contoso Ltd");
  EXPECT_LT(bytes.size(), 1024u);
}

TEST(CodecTest, EnvelopeOverheadStaysSmall) {
  // Six UUID-string ids make up most of an envelope; tally-bench reports
  // figures for these sizes, so growth here should be deliberate.
  SampleEvents samples(1);
  const std::string id = "0f8fad5b-d9cb-469f-a165-70867728950e";
  EXPECT_LE(samples.OfType(Payload::SubscriptionSuspended, id).size(), 420u);
  EXPECT_LE(samples.SubscriptionCreated(id, samples.Uuid(), 1).size(), 620u);
  EXPECT_LE(samples.CustomerCreated(id, samples.Uuid()).size(), 850u);
}

TEST(CodecTest, StampWritesPositionVersionAndTimeInPlace) {
  SampleEvents samples(2);
  std::string bytes = samples.SubscriptionCreated("c1", "r", 3);
  const size_t size = bytes.size();
  ASSERT_TRUE(StampEnvelope(bytes, 42, 7, 1'700'000'000'123'456));
  EXPECT_EQ(bytes.size(), size);
  auto env = VerifyEnvelope(bytes);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ((*env)->position(), 42u);
  EXPECT_EQ((*env)->stream_version(), 7u);
  EXPECT_EQ((*env)->recorded_at_us(), 1'700'000'000'123'456);
  EXPECT_EQ((*env)->payload_as_SubscriptionCreated()->quantity(), 3);
}

TEST(CodecTest, StampRefusesAnEnvelopeWithoutPlaceholders) {
  flatbuffers::FlatBufferBuilder fbb;
  auto payload = CreateSubscriptionSuspendedDirect(fbb, "s1");
  auto stream = fbb.CreateString("customer-c1");
  EnvelopeBuilder b(fbb);  // position etc. left at their defaults: absent
  b.add_stream_id(stream);
  b.add_payload_type(Payload::SubscriptionSuspended);
  b.add_payload(payload.Union());
  fbb.Finish(b.Finish(), EnvelopeIdentifier());
  std::string bytes(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  ASSERT_TRUE(VerifyEnvelope(bytes).ok());
  EXPECT_FALSE(StampEnvelope(bytes, 1, 1, 1));
}

TEST(CodecTest, EveryTruncationIsAnErrorNotACrash) {
  SampleEvents samples(3);
  const std::string bytes = samples.CustomerCreated("c1", "r");
  for (size_t len = 0; len < bytes.size(); ++len) {
    std::string cut = bytes.substr(0, len);
    cut.reserve(bytes.size());  // heap storage: aligned
    EXPECT_FALSE(VerifyEnvelope(cut).ok()) << "length " << len;
  }
}

TEST(CodecTest, RandomByteFlipsNeverCrashTheVerifier) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  SampleEvents samples(seed);
  const std::string bytes = samples.CustomerCreated("c1", "r");
  int rejected = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string damaged = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) damaged[rng() % damaged.size()] ^= static_cast<char>(1 + rng() % 255);
    auto env = VerifyEnvelope(damaged);
    if (!env.ok()) {
      ++rejected;
      EXPECT_EQ(env.error().code(), ErrorCode::kCorruption);
    }
  }
  // Flips in string bytes are undetectable by structure alone (the chain hash
  // catches those); flips in offsets must be caught.
  EXPECT_GT(rejected, 0);
}

TEST(CodecTest, RejectsWrongIdentifierAndMisalignedBuffers) {
  SampleEvents samples(4);
  std::string bytes = samples.CustomerCreated("c1", "r");
  std::string other = bytes;
  other[4] = 'X';  // file identifier lives in bytes 4..7
  EXPECT_EQ(VerifyEnvelope(other).error().code(), ErrorCode::kCorruption);
  std::string shifted = " " + bytes;
  EXPECT_EQ(VerifyEnvelope(std::string_view(shifted).substr(1)).error().code(),
            ErrorCode::kInvalidArgument);
}

TEST(CodecTest, APayloadTypeFromANewerSchemaVerifiesAsUnknown) {
  // A future writer appends union member 200; this build must still read
  // the envelope (and skip the payload), not call it corrupt.
  flatbuffers::FlatBufferBuilder fbb;
  auto future_payload = CreateSubscriptionSuspendedDirect(fbb, "s1");
  std::string bytes = FinishEnvelope(fbb, {.stream_id = "customer-c1"}, static_cast<Payload>(200),
                                     future_payload.Union());
  auto env = VerifyEnvelope(bytes);
  ASSERT_TRUE(env.ok()) << env.error().ToString();
  EXPECT_EQ(EventTypeName((*env)->payload_type()), "UNKNOWN");
  EXPECT_EQ(View((*env)->stream_id()), "customer-c1");
}

TEST(CodecTest, EveryPayloadTypeHasASampleThatVerifies) {
  SampleEvents samples(5);
  for (uint8_t t = 1; t <= static_cast<uint8_t>(Payload::MAX); ++t) {
    const auto type = static_cast<Payload>(t);
    std::string bytes = samples.OfType(type, "c9");
    auto env = VerifyEnvelope(bytes);
    ASSERT_TRUE(env.ok()) << EventTypeName(type);
    EXPECT_EQ((*env)->payload_type(), type);
    EXPECT_FALSE(EventTypeName(type).empty());
  }
}

}  // namespace
}  // namespace tally::events
