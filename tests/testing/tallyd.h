// A real tallyd process for end-to-end tests: started on a data folder with
// the HTTP API on a free loopback port, ready once it says it is running.
#pragma once

#include <sys/resource.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace tally::testing {

class TallydProcess {
 public:
  // Starts `tallyd --data DATA --listen 127.0.0.1:0 EXTRA...` and reads its
  // output until it is running (or has exited).
  // `nofile` > 0: tallyd's descriptor limit, soft and hard (as `prlimit
  // --nofile=N:N`), set in the child only.
  TallydProcess(const std::string& tallyd, const std::string& data, std::vector<std::string> extra = {},
                rlim_t nofile = 0) {
    std::vector<std::string> args = {tallyd, "--data", data, "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      dup2(fds[1], STDERR_FILENO);
      close(fds[0]);
      close(fds[1]);
      if (nofile > 0) {
        const rlimit limit{nofile, nofile};
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(126);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    fd_ = fds[0];
    char buf[4096];
    while (output_.find("running;") == std::string::npos) {
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      output_.append(buf, n);
    }
    const std::string marker = "HTTP API on http://127.0.0.1:";
    if (auto at = output_.find(marker); at != std::string::npos) {
      port_ = static_cast<uint16_t>(std::stoi(output_.substr(at + marker.size())));
    }
    if (auto at = output_.find("TALLY_TOKEN="); at != std::string::npos) {
      const size_t start = at + 12;
      token_ = output_.substr(start, output_.find('\n', start) - start);
    }
  }
  ~TallydProcess() {
    if (pid_ > 0) Kill(SIGKILL);
  }
  TallydProcess(const TallydProcess&) = delete;
  TallydProcess& operator=(const TallydProcess&) = delete;

  bool running() const { return port_ != 0; }
  uint16_t port() const { return port_; }
  // The dev partner's token, when this start created it.
  const std::string& dev_token() const { return token_; }
  pid_t pid() const { return pid_; }

  // Sends SIGTERM and waits; returns the exit status (128+signal if killed).
  // The output is complete afterwards.
  int Stop() { return Kill(SIGTERM); }
  int Kill(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    char buf[4096];
    ssize_t n;
    while ((n = read(fd_, buf, sizeof buf)) > 0) output_.append(buf, n);
    close(fd_);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::string token_;
  std::string output_;
};

}  // namespace tally::testing
