// tallyctl charges (charges.cc): one customer's billing lines whose charge
// starts between two dates, from the billing read model, for a billing
// clerk: a table with the total, or CSV; both name the log position the
// model reflects.
#pragma once

#include <string>

namespace tally {

// `from`/`to`: YYYY-MM-DD (the whole day) or YYYY-MM-DDTHH:MM:SS[.ffffff]Z;
// `customer`: id or domain; `as_of` (empty: now): the lines as the model
// held them once the customer's events recorded until then were applied.
// Returns tallyctl's exit code.
int ChargesCmd(const std::string& data, const std::string& customer, const std::string& from, const std::string& to,
               const std::string& as_of, bool csv);

}  // namespace tally
