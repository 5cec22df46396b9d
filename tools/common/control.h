// tallyd's control socket: a Unix socket, <data>/control.sock (mode 0600,
// so only the folder's owner can use it), through which tallyctl asks a
// running tallyd to do what needs the folder's read models while tallyd
// holds them: rebuild and backup; and what only the running tallyd knows:
// the Kafka relay's state.
//
// Protocol, one request per connection, lines of text:
//   client: "rebuild MODEL [MODEL...]\n" (or "all")
//   server: "progress POSITION HEAD\n" (any number), then "ok\n" or "error MESSAGE\n".
//   client: "backup DIR\n" (an absolute path that does not exist yet)
//   server: "ok HEAD\n" or "error MESSAGE\n".
//   client: "relay\n"
//   server: "ok PUBLISHED HEAD LAG_SECONDS CONNECTED(0|1) TOPIC BOOTSTRAP\n", then
//           the relay's last error (possibly empty) as the final line's rest:
//           "ok ... BOOTSTRAP ERROR TEXT...".
#pragma once

#include <string>

namespace tally::tools {

inline std::string ControlSocketPath(const std::string& data) { return data + "/control.sock"; }

}  // namespace tally::tools
