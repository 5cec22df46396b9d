#include "tools/tallyd/control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <vector>

#include "engine/domain/commands.h"
#include "projections/as_of.h"
#include "projections/rebuild.h"
#include "tools/common/forget.h"
#include "tools/common/backup.h"

namespace tally {
namespace {

void WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;  // the client went away; the request still completes
    done += static_cast<size_t>(n);
  }
}

}  // namespace

ControlServer::~ControlServer() { Stop(); }

Status ControlServer::Start(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    return Error(ErrorCode::kInvalidArgument, "control socket path too long: " + path);
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Error(ErrorCode::kIoError, std::string("control socket: ") + std::strerror(errno));
  unlink(path.c_str());  // stale, from a tallyd that did not stop cleanly
  const mode_t old_mask = umask(0077);
  const int bound = bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old_mask);
  if (bound != 0 || listen(listen_fd_, 4) != 0) {
    const std::string why = std::strerror(errno);
    close(listen_fd_);
    listen_fd_ = -1;
    return Error(ErrorCode::kIoError, "control socket " + path + ": " + why);
  }
  path_ = path;
  thread_ = std::thread([this] { Serve(); });
  return OkStatus();
}

void ControlServer::Stop() {
  if (listen_fd_ < 0) return;
  stopping_ = true;
  shutdown(listen_fd_, SHUT_RDWR);  // wakes accept
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  listen_fd_ = -1;
  unlink(path_.c_str());
}

void ControlServer::Serve() {
  pthread_setname_np(pthread_self(), "tally-control");
  while (!stopping_) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return;  // shut down
    }
    timeval timeout{10, 0};  // a client that sends nothing cannot hold the socket
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    Handle(fd);
    close(fd);
  }
}

void ControlServer::Handle(int fd) {
  std::string line;
  char c = 0;
  while (line.size() < 4096 && recv(fd, &c, 1, 0) == 1 && c != '\n') line.push_back(c);
  std::istringstream in(line);
  std::string verb;
  in >> verb;
  std::vector<std::string> args;
  for (std::string a; in >> a;) args.push_back(a);
  if (verb == "rebuild" && !args.empty()) return Rebuild(fd, std::move(args));
  if (verb == "backup" && args.size() == 1) return Backup(fd, args[0]);
  if (verb == "relay" && args.empty()) return RelayState(fd);
  if (verb == "forget" && !args.empty()) {
    std::string reason;  // the words after the customer (runs of spaces become one)
    for (size_t i = 1; i < args.size(); ++i) reason += (i > 1 ? " " : "") + args[i];
    return Forget(fd, args[0], reason);
  }
  WriteAll(fd, "error unknown request (expected: rebuild MODEL... | backup DIR | relay | forget CUSTOMER REASON)\n");
}

Status ControlServer::RebuildModels(std::vector<std::string> models,
                                    const std::function<void(uint64_t, uint64_t)>& progress) {
  const auto& known = projections::ModelNames();
  if (std::find(models.begin(), models.end(), "all") != models.end()) models = known;
  if (models.empty()) return Error(ErrorCode::kInvalidArgument, "name the read models to rebuild");
  for (const auto& m : models) {
    if (std::find(known.begin(), known.end(), m) == known.end()) {
      return Error(ErrorCode::kInvalidArgument, "no read model named " + m);
    }
  }
  MutexLock lock(&rebuild_mu_);
  projections::RebuildOptions options;
  options.progress = progress;
  std::fprintf(stderr, "tallyd: rebuilding %zu read model(s) on request\n", models.size());
  Status s = projections::Rebuild(source_, store_, models, &runner_, options);
  if (!s.ok()) {
    std::fprintf(stderr, "tallyd: rebuild failed: %s\n", s.error().ToString().c_str());
    return s;
  }
  std::fprintf(stderr, "tallyd: rebuild done\n");
  return OkStatus();
}

void ControlServer::Rebuild(int fd, std::vector<std::string> models) {
  Status s = RebuildModels(std::move(models), [&](uint64_t position, uint64_t head) {
    WriteAll(fd, "progress " + std::to_string(position) + " " + std::to_string(head) + "\n");
  });
  if (!s.ok()) {
    // The socket's clients match "error no read model named X".
    WriteAll(fd, "error " + (s.error().code() == ErrorCode::kInvalidArgument ? s.error().message() : s.error().ToString()) + "\n");
    return;
  }
  WriteAll(fd, "ok\n");
}

void ControlServer::Backup(int fd, const std::string& dir) {
  auto manifest = tools::CreateBackup(log_, &store_, dir);
  if (!manifest.ok()) {
    WriteAll(fd, "error " + manifest.error().ToString() + "\n");
    return;
  }
  std::fprintf(stderr, "tallyd: backed up to %s (head %llu)\n", dir.c_str(),
               static_cast<unsigned long long>(manifest->head));
  WriteAll(fd, "ok " + std::to_string(manifest->head) + "\n");
}

void ControlServer::RelayState(int fd) {
  if (relay_ == nullptr) {
    WriteAll(fd, "error this tallyd runs no Kafka relay\n");
    return;
  }
  const kafka::RelayStatus s = relay_->Status();
  const uint64_t head = log_.Head();
  char lag[32];
  std::snprintf(lag, sizeof lag, "%.3f", s.lag_seconds);
  std::string error = s.last_error;
  std::replace(error.begin(), error.end(), '\n', ' ');
  WriteAll(fd, "ok " + std::to_string(s.published) + " " + std::to_string(head) + " " + lag + " " +
                   (s.connected ? "1 " : "0 ") + relay_topic_ + " " + relay_bootstrap_ + " " +
                   (s.truncated.empty() ? "-" : s.truncated) + " " + error + "\n");
}

Result<tools::ForgetResult> ControlServer::ForgetCustomer(const std::string& customer, const std::string& reason,
                                                          domain::CommandMeta meta) {
  if (processor_ == nullptr || writer_ == nullptr) {
    return Error(ErrorCode::kInvalidArgument, "this tallyd takes no commands");
  }
  MutexLock one_at_a_time(&forget_mu_);
  auto id = projections::ResolveCustomer(log_, customer);
  if (!id.ok()) return id.error();
  std::promise<Result<CommandOutcome>> done;
  auto answered = done.get_future();
  meta.partner_id = domain::kOperatorId;
  writer_->Submit(processor_->Task(domain::ForgetCustomer{*id, reason}, std::move(meta),
                                   [&done](Result<CommandOutcome> r) { done.set_value(std::move(r)); }));
  Result<CommandOutcome> outcome = answered.get();
  if (!outcome.ok()) return outcome.error();
  tools::ForgetResult result{*id, outcome->last_position, outcome->last_position == 0};
  if (!result.erased_before) {
    std::fprintf(stderr, "tallyd: erased the personal data of customer %s (position %llu)\n", id->c_str(),
                 static_cast<unsigned long long>(result.position));
    // The answer promises that the read model no longer shows the fields.
    if (!runner_.WaitFor("customer", result.position, std::chrono::seconds(30))) {
      return Error(ErrorCode::kBusy,
                   "the key is destroyed, but the customer read model did not apply the erasure within 30 s; "
                   "retry to purge the old copies");
    }
  }
  if (Status s = tools::PurgeErasedCopies(log_, &store_, *id); !s.ok()) {
    return Error(s.error().code(), "the key is destroyed; purging old copies failed: " + s.error().message());
  }
  return result;
}

void ControlServer::Forget(int fd, const std::string& customer, const std::string& reason) {
  auto result = ForgetCustomer(customer, reason, {});
  if (!result.ok()) {
    WriteAll(fd, "error " + result.error().ToString() + "\n");
    return;
  }
  WriteAll(fd, tools::ForgetAnswer(*result) + "\n");
}

}  // namespace tally
