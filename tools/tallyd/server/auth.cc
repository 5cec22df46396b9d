#include "tools/tallyd/server/auth.h"

#include <optional>
#include <string>

#include "tools/tallyd/server/request.h"

namespace tally::server {

Result<Partner> Authenticate(const Request& request, const PartnerDirectory& directory, std::string_view hint,
                             std::string_view unknown) {
  std::optional<std::string_view> header;
  if (auto it = request.find(boost::beast::http::field::authorization); it != request.end()) {
    header = std::string_view(it->value().data(), it->value().size());
  }
  auto token = ParseBearer(header, hint);
  if (!token.ok()) return token.error();
  auto who = directory.Authenticate(*token);
  if (!who) return Error(ErrorCode::kUnauthorized, std::string(unknown));
  return *who;
}

}  // namespace tally::server
