// A digest of a command as sent: what tells a retry (same request id, same
// command) from a misuse of the request id (same id, another command).
#pragma once

#include <string>

#include "engine/domain/commands.h"

namespace tally::domain {

// SHA-256 (hex) of the partner, the command's type and every field, in a
// canonical JSON form.
std::string Fingerprint(const Command& command, const CommandMeta& meta);

}  // namespace tally::domain
