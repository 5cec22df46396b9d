#include "engine/personal/event_json.h"

#include <nlohmann/json.hpp>

#include "events/codec.h"

namespace tally::personal {
namespace {

// Where the object key `"name": ` followed by `open` starts in JSON text. A
// key's quote follows '{' or ','; a quote inside a string value follows a
// backslash, so a string that mimics a key never matches.
size_t FindKey(const std::string& text, const std::string& name, char open) {
  const std::string needle = "\"" + name + "\": " + open;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    if (at > 0 && (text[at - 1] == '{' || text[at - 1] == ',')) return at;
  }
  return std::string::npos;
}

std::string Quoted(const std::string& v) {
  return nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Replaces the rendered `"field": [bytes]` with `"personal_data": "clear"|
// "erased"|"sealed"` and, in clear, `extra` (leading comma included).
Status ReplaceSealed(std::string& out, const std::string& field, Visibility visibility, const std::string& extra) {
  const size_t start = FindKey(out, field, '[');
  const size_t end = start == std::string::npos ? start : out.find(']', start);
  if (end == std::string::npos) return Error(ErrorCode::kCorruption, "rendered event has no " + field);
  std::string replacement = "\"personal_data\": " + Quoted(std::string(VisibilityName(visibility)));
  if (visibility == Visibility::kClear) replacement += extra;
  out.replace(start, end + 1 - start, replacement);
  return OkStatus();
}

}  // namespace

Result<std::string> RenderEvent(const events::JsonRenderer& renderer, std::string_view envelope,
                                const KeyRing* keys) {
  auto text = renderer.Render(envelope);  // verifies the envelope
  if (!text.ok()) return text.error();
  const events::Envelope* env = events::UnverifiedEnvelope(envelope);
  const std::string_view customer_id = events::View(env->customer_id());
  // Edit FlatBuffers' text in place, in its own style ("key": value, no
  // other spaces), so that every line of a replay looks alike.
  std::string out = std::move(*text);
  if (const auto* agreement = env->payload_as_CustomerAgreementAccepted()) {
    const auto* sealed = agreement->sealed_contact();
    if (sealed == nullptr) return out;
    auto revealed = Reveal(keys, customer_id, {sealed->data(), sealed->size()});
    if (!revealed.ok()) return revealed.error();
    const Fields& f = revealed->fields;
    TALLY_RETURN_IF_ERROR(ReplaceSealed(out, "sealed_contact", revealed->visibility,
                                        ",\"first_name\": " + Quoted(f.first_name) + ",\"last_name\": " +
                                            Quoted(f.last_name) + ",\"email\": " + Quoted(f.email) +
                                            ",\"phone_number\": " + Quoted(f.phone_number)));
    return out;
  }
  const events::BillingProfile* profile = nullptr;
  if (const auto* p = env->payload_as_CustomerCreated()) profile = p->billing_profile();
  if (const auto* p = env->payload_as_BillingProfileUpdated()) profile = p->billing_profile();
  if (profile == nullptr || profile->sealed_personal_data() == nullptr) return out;

  const auto* sealed = profile->sealed_personal_data();
  auto revealed = Reveal(keys, customer_id, {sealed->data(), sealed->size()});
  if (!revealed.ok()) return revealed.error();
  const Fields& f = revealed->fields;
  TALLY_RETURN_IF_ERROR(
      ReplaceSealed(out, "sealed_personal_data", revealed->visibility, ",\"email\": " + Quoted(f.email)));
  if (revealed->visibility == Visibility::kClear) {
    const size_t at = FindKey(out, "default_address", '{');
    if (at == std::string::npos) return Error(ErrorCode::kCorruption, "rendered event has no default address");
    const size_t inside = out.find('{', at) + 1;
    std::string fields = "\"first_name\": " + Quoted(f.first_name) + ",\"last_name\": " + Quoted(f.last_name) +
                         ",\"address_line1\": " + Quoted(f.address_line1) +
                         ",\"address_line2\": " + Quoted(f.address_line2) +
                         ",\"address_line3\": " + Quoted(f.address_line3) +
                         ",\"phone_number\": " + Quoted(f.phone_number);
    if (out[inside] != '}') fields += ",";
    out.insert(inside, fields);
  }
  return out;
}

}  // namespace tally::personal
