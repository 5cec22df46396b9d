// The HTTP server under pressure (issue 17, item 1): running out of file
// descriptors must not stop it from accepting for good.
#include "tools/tallyd/server/http_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <string>
#include <vector>

#include "tests/testing/http_client.h"


namespace tally::server {
namespace {

class Ok final : public HttpHandler {
 public:
  void Handle(Request request, Respond respond, Post) override {
    Response r(http::status::ok, request.version());
    r.body() = "{}";
    respond(std::move(r));
  }
  Response Reject(ErrorCode, const std::string&, unsigned version) override {
    return Response(http::status::bad_request, version);
  }
};

size_t OpenDescriptors() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

TEST(HttpServerTest, AcceptingSurvivesRunningOutOfDescriptors) {
  Ok handler;
  HttpServerOptions options;
  options.max_connections = 100000;  // no cap: the descriptor limit is what stops it
  HttpServer server(handler, options);
  auto port = server.Start("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());

  // This process (server and clients alike) may open only a few more
  // descriptors: clients connect until none is left, so the server's accept
  // fails with EMFILE while the kernel's backlog holds their connections.
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = OpenDescriptors() + 40;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> held;
  for (int fd; (fd = testing::ConnectRaw(*port)) >= 0;) held.push_back(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let accept hit the limit
  ASSERT_GT(held.size(), 5u);
  for (int fd : held) ::close(fd);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);

  // Descriptors are free again: a new connection is served (before the fix
  // the accept loop had returned on EMFILE and this timed out).
  EXPECT_EQ(testing::StatusLineOnce(*port), "HTTP/1.1 200 OK");
  server.Stop();
}

}  // namespace
}  // namespace tally::server
