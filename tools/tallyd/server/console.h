// The console's static files (tools/tallyd/console/), embedded in tallyd at
// build time (tools/tallyd/embed_console.cmake) and served at /console/.
#pragma once

#include <string_view>

namespace tally::server {

struct ConsoleFile {
  std::string_view name;          // "index.html", "console.js", ...
  std::string_view content_type;
  std::string_view text;
};

// The file named `name` (no folder), or null.
const ConsoleFile* FindConsoleFile(std::string_view name);

// What every console response carries: a strict Content-Security-Policy
// (scripts, styles and calls only from tallyd itself, nothing inline, no
// frames, no forms posted anywhere), no sniffing, no referrer.
inline constexpr std::string_view kConsoleContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

}  // namespace tally::server
