// Building, stamping and verifying event envelopes (events/events.fbs).
//
// An envelope is built by the command side with placeholder values for the
// fields only the event log knows (position, stream version, recorded-at);
// those fields are always physically present in the buffer, so the log can
// stamp them in place without re-encoding (see FORMAT.md, "Stamping").
// All functions here are pure and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/base/result.h"
#include "events/events_generated.h"

namespace tally::events {

// The schema version written into every new envelope. Bump it with every
// schema change (FORMAT.md, "Evolution").
inline constexpr uint16_t kSchemaVersion = 6;

// Envelope fields the caller provides.
struct EnvelopeFields {
  std::string_view stream_id;
  std::string_view event_id;
  std::string_view request_id;
  std::string_view correlation_id;
  std::string_view partner_id;
  std::string_view customer_id;
};

// Finishes `fbb` with an Envelope around an already-built payload table and
// returns the envelope bytes. Position, stream version and recorded-at are
// written as 0, to be stamped by the event log. Leaves `fbb` with
// ForceDefaults(false).
std::string FinishEnvelope(flatbuffers::FlatBufferBuilder& fbb, const EnvelopeFields& fields,
                           Payload payload_type, flatbuffers::Offset<void> payload);

// Verifies `bytes` as an Envelope: FlatBuffers verifier (bounds, offsets,
// nesting), file identifier, a payload and a stream id. A payload type newer
// than this build verifies (forward compatibility): its name is "UNKNOWN"
// and readers skip it. A corrupt
// or truncated buffer is an error, never a crash. `bytes` must be 8-byte
// aligned (as std::string storage is). On success the returned pointer
// aliases `bytes`.
Result<const Envelope*> VerifyEnvelope(std::span<const uint8_t> bytes);
Result<const Envelope*> VerifyEnvelope(std::string_view bytes);

// Writes position, stream version and recorded-at into an envelope built by
// FinishEnvelope. Returns false when the buffer lacks the placeholder fields
// (it was not built by FinishEnvelope).
[[nodiscard]] bool StampEnvelope(std::string& bytes, uint64_t position, uint64_t stream_version,
                                 int64_t recorded_at_us);

// "CustomerCreated", ... ; "NONE" for an absent payload, "UNKNOWN" for a
// type newer than this build.
std::string_view EventTypeName(Payload type);

// Reads the envelope without verifying; only for bytes that were verified
// before (e.g. by VerifyEnvelope or when they were appended).
inline const Envelope* UnverifiedEnvelope(std::string_view bytes) {
  return GetEnvelope(bytes.data());
}

inline std::string_view View(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view() : std::string_view(s->data(), s->size());
}

}  // namespace tally::events
