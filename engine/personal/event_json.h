// Events as JSON for people and scripts (tallyctl replay, history, consume):
// FlatBuffers' rendering (events/json.h) with the sealed personal fields
// opened, or marked erased.
#pragma once

#include <string>
#include <string_view>

#include "engine/base/result.h"
#include "engine/personal/personal_data.h"
#include "events/json.h"

namespace tally::personal {

// One line of JSON for a verified envelope. In a billing profile,
// "sealed_personal_data" (bytes) is replaced by "personal_data": "clear"
// (the fields are back in place: "email" in the profile, names, address
// lines and phone in "default_address"), "erased" (the key was destroyed:
// the fields are absent) or "sealed" (`keys` is null: this reader has no
// key store). A key that does not open its blob is kCorruption.
Result<std::string> RenderEvent(const events::JsonRenderer& renderer, std::string_view envelope,
                                const KeyRing* keys);

}  // namespace tally::personal
