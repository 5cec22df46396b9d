#include "engine/personal/event_json.h"

#include <nlohmann/json.hpp>

#include "events/codec.h"

namespace tally::personal {

Result<std::string> RenderEvent(const events::JsonRenderer& renderer, std::string_view envelope,
                                const KeyRing* keys) {
  auto text = renderer.Render(envelope);  // verifies the envelope
  if (!text.ok()) return text.error();
  const events::Envelope* env = events::UnverifiedEnvelope(envelope);
  const events::BillingProfile* profile = nullptr;
  if (const auto* p = env->payload_as_CustomerCreated()) profile = p->billing_profile();
  if (const auto* p = env->payload_as_BillingProfileUpdated()) profile = p->billing_profile();
  if (profile == nullptr) return text;

  const auto* sealed = profile->sealed_personal_data();
  auto revealed = Reveal(keys, events::View(env->customer_id()),
                         sealed == nullptr ? std::span<const uint8_t>() : std::span(sealed->data(), sealed->size()));
  if (!revealed.ok()) return revealed.error();
  auto json = nlohmann::ordered_json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Error(ErrorCode::kCorruption, "rendered event is not JSON");
  auto& billing = json["payload"]["billing_profile"];
  billing.erase("sealed_personal_data");
  billing["personal_data"] = VisibilityName(revealed->visibility);
  if (revealed->visibility == Visibility::kClear) {
    const Fields& f = revealed->fields;
    billing["email"] = f.email;
    auto& address = billing["default_address"];
    address["first_name"] = f.first_name;
    address["last_name"] = f.last_name;
    address["address_line1"] = f.address_line1;
    address["address_line2"] = f.address_line2;
    address["address_line3"] = f.address_line3;
    address["phone_number"] = f.phone_number;
  }
  return json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace tally::personal
