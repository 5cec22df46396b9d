// Command-line parsing for tally's tools, with one exit-code convention:
// --help exits 0, a usage error prints CLI11's message and exits 2.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>

namespace tally::tools {

// Parses `argv` into `app`. Returns nullopt to go on, or the exit code.
inline std::optional<int> ParseArgs(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
}

}  // namespace tally::tools
