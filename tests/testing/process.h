// Running tools as real processes from tests.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace tally::testing {

struct Output {
  int exit_code = -1;
  std::string text;  // stdout and stderr together
};

// Runs `command` through the shell and collects its output.
inline Output RunCommand(const std::string& command) {
  Output out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.text.append(buf, n);
  const int status = pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// `tallyctl <what> --data <data>` for `what` "operators add NAME" or
// "partners add NAME": the token it prints (stdout's last line; its notice
// goes to stderr). Empty, and the test failed, if tallyctl failed.
inline std::string AddedToken(const std::string& tallyctl, const std::string& data, const std::string& what) {
  Output added = RunCommand(tallyctl + " " + what + " --data " + data + " 2>/dev/null");
  if (added.exit_code != 0) {
    ADD_FAILURE() << what << ": " << added.text;
    return "";
  }
  std::string token = added.text.substr(0, added.text.find_last_not_of('\n') + 1);
  return token.substr(token.find_last_of('\n') + 1);
}

}  // namespace tally::testing
