// Running tools as real processes from tests.
#pragma once

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

}  // namespace tally::testing
