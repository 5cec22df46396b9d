// A digest of a command as sent: what tells a retry (same request id, same
// command) from a misuse of the request id (same id, another command).
#pragma once

#include <string>

#include "engine/domain/commands.h"

namespace tally::domain {

// SHA-256 (hex) of the partner, the command's type and every field, in a
// canonical JSON form, with the personal fields of a billing profile
// (email, contact names, address lines, phone) left out; for a command that
// carries them (AddCustomer, UpdateBillingProfile), ":" and the SHA-256
// (hex) of those fields follows. An erasure replaces that second part with
// "erased" (ScrubbedFingerprint in event_log.h, which SameRequest matches),
// so that no digest of erased data is kept.
std::string Fingerprint(const Command& command, const CommandMeta& meta);

}  // namespace tally::domain
