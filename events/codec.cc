#include "events/codec.h"

#include <cstring>

namespace tally::events {

std::string FinishEnvelope(flatbuffers::FlatBufferBuilder& fbb, const EnvelopeFields& f,
                           Payload payload_type, flatbuffers::Offset<void> payload) {
  auto stream_id = fbb.CreateString(f.stream_id);
  auto event_id = fbb.CreateString(f.event_id);
  auto request_id = fbb.CreateString(f.request_id);
  auto correlation_id = fbb.CreateString(f.correlation_id);
  auto partner_id = fbb.CreateString(f.partner_id);
  auto customer_id = fbb.CreateString(f.customer_id);
  // The placeholders must be present in the buffer to be stamped in place.
  fbb.ForceDefaults(true);
  EnvelopeBuilder b(fbb);
  b.add_position(0);
  b.add_stream_version(0);
  b.add_recorded_at_us(0);
  b.add_stream_id(stream_id);
  b.add_event_id(event_id);
  b.add_request_id(request_id);
  b.add_correlation_id(correlation_id);
  b.add_partner_id(partner_id);
  b.add_customer_id(customer_id);
  b.add_schema_version(kSchemaVersion);
  b.add_payload_type(payload_type);
  b.add_payload(payload);
  auto root = b.Finish();
  fbb.ForceDefaults(false);
  fbb.Finish(root, EnvelopeIdentifier());
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

Result<const Envelope*> VerifyEnvelope(std::span<const uint8_t> bytes) {
  if (bytes.size() < 8) {
    return Error(ErrorCode::kCorruption, "envelope shorter than 8 bytes");
  }
  if (reinterpret_cast<uintptr_t>(bytes.data()) % 8 != 0) {
    return Error(ErrorCode::kInvalidArgument, "envelope buffer is not 8-byte aligned");
  }
  if (!EnvelopeBufferHasIdentifier(bytes.data())) {
    return Error(ErrorCode::kCorruption, "envelope lacks the TLYE file identifier");
  }
  flatbuffers::Verifier verifier(bytes.data(), bytes.size(), /*max_depth=*/32,
                                 /*max_tables=*/4096);
  if (!VerifyEnvelopeBuffer(verifier)) {
    return Error(ErrorCode::kCorruption, "envelope fails FlatBuffers verification");
  }
  const Envelope* env = GetEnvelope(bytes.data());
  if (env->payload_type() == Payload::NONE || env->payload() == nullptr) {
    return Error(ErrorCode::kCorruption, "envelope has no payload");
  }
  if (env->stream_id() == nullptr || env->stream_id()->size() == 0) {
    return Error(ErrorCode::kCorruption, "envelope has no stream id");
  }
  return env;
}

Result<const Envelope*> VerifyEnvelope(std::string_view bytes) {
  return VerifyEnvelope(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

bool StampEnvelope(std::string& bytes, uint64_t position, uint64_t stream_version,
                   int64_t recorded_at_us) {
  Envelope* env = GetMutableEnvelope(bytes.data());
  return env->mutate_position(position) && env->mutate_stream_version(stream_version) &&
         env->mutate_recorded_at_us(recorded_at_us);
}

std::string_view EventTypeName(Payload type) {
  if (static_cast<uint8_t>(type) > static_cast<uint8_t>(Payload::MAX)) return "UNKNOWN";
  return EnumNamePayload(type);
}

}  // namespace tally::events
