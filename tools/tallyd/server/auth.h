// Who is calling: the bearer token of a request looked up in a directory of
// partners (/v1) or of operators (/admin/v1). One place for both, so the two
// APIs parse the header alike (request.h, ParseBearer).
#pragma once

#include <string_view>

#include "engine/base/result.h"
#include "tools/tallyd/server/http_server.h"
#include "tools/tallyd/server/partners.h"

namespace tally::server {

// The directory's entry for the request's bearer token; kUnauthorized with
// `hint` when the request carries no bearer token, with `unknown` when the
// directory does not know it.
Result<Partner> Authenticate(const Request& request, const PartnerDirectory& directory, std::string_view hint,
                             std::string_view unknown);

}  // namespace tally::server
