// GET /console/...: the console's embedded files (console.h).
#include "tools/tallyd/server/console.h"

#include "tools/tallyd/server/api_call.h"

namespace tally::server {

void Api::Console(Call& call) {
  if (call.method() != http::verb::get && call.method() != http::verb::head) {
    return call.Error(ErrorCode::kMethodNotAllowed, "GET only");
  }
  const auto& p = call.path;
  const std::string_view target = SV(call.request.target());
  if (p.size() == 1 && !target.substr(0, target.find('?')).ends_with('/')) {
    // /console: the page's relative links need the folder's slash.
    Response r(http::status::permanent_redirect, call.request.version());
    r.set(http::field::server, "tally");
    r.set(http::field::location, "/console/");
    return call.Answer(std::move(r));
  }
  // One level: the page and its assets. The page's own routes are in the
  // fragment (#/customers/...), so nothing else is a page.
  const ConsoleFile* file = p.size() == 1 ? FindConsoleFile("index.html") : p.size() == 2 ? FindConsoleFile(p[1]) : nullptr;
  if (file == nullptr) return call.Error(ErrorCode::kRouteNotFound, "no such console file");
  Response r(http::status::ok, call.request.version());
  r.set(http::field::server, "tally");
  r.set(http::field::content_type, std::string(file->content_type));
  r.set("Content-Security-Policy", std::string(kConsoleContentSecurityPolicy));
  r.set("X-Content-Type-Options", "nosniff");
  r.set("X-Frame-Options", "DENY");
  r.set("Referrer-Policy", "no-referrer");
  r.set(http::field::cache_control, "no-cache");
  if (call.method() == http::verb::head) {
    r.content_length(file->text.size());
  } else {
    r.body() = std::string(file->text);
  }
  call.Answer(std::move(r));
}

}  // namespace tally::server
