// The customer admin's initial password: generated with OpenSSL's CSPRNG,
// returned once in the AddCustomer response, never stored or logged.
#pragma once

#include <string>

#include "engine/base/result.h"

namespace tally::domain {

// 20 characters from upper, lower, digits and symbols, at least one of each.
Result<std::string> GenerateAdminPassword();

}  // namespace tally::domain
