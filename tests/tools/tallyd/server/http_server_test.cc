// The HTTP server under pressure (issue 17, item 1): running out of file
// descriptors must not stop it from accepting for good.
#include "tools/tallyd/server/http_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
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

// Request smuggling (RFC 9112 6.3): a header whose framing a proxy could
// read otherwise is answered 400 and the connection closed, so the bytes
// after it are never run as a second request.
class Counting final : public HttpHandler {
 public:
  void Handle(Request request, Respond respond, Post) override {
    ++handled;
    Response r(http::status::ok, request.version());
    r.body() = "{}";
    respond(std::move(r));
  }
  Response Reject(ErrorCode, const std::string& what, unsigned version) override {
    Response r(http::status::bad_request, version);
    r.body() = what;
    return r;
  }
  std::atomic<int> handled{0};
};

TEST(HttpServerTest, OddFramingIsRefusedAndNothingAfterItRuns) {
  Counting handler;
  HttpServer server(handler, HttpServerOptions{});
  auto port = server.Start("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::vector<std::string> heads = {
      "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n",
      "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
      "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n",
      "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
      "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
      "GET /a HTTP/1.1\r\n\r\n",
      "GET /a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
      "GET /a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
  };
  for (const std::string& head : heads) {
    const int fd = testing::ConnectRaw(*port);
    ASSERT_GE(fd, 0);
    const std::string bytes = head + smuggled;
    ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    // Everything until the server closes: one answer, a 400.
    const std::string got = testing::ReadUntil(fd, std::chrono::seconds(5), [](const std::string&) { return false; });
    ::close(fd);
    EXPECT_EQ(got.substr(0, got.find("\r\n")), "HTTP/1.1 400 Bad Request") << head;
    EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos) << "a second answer: " << head << "\n" << got;
  }
  EXPECT_EQ(handler.handled.load(), 0) << "a smuggled request ran";
  // Plain framing still works: chunked alone, Content-Length alone, HTTP/1.0 without Host.
  for (const std::string& good : {std::string("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
                                  std::string("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"),
                                  std::string("GET /a HTTP/1.0\r\n\r\n")}) {
    const int fd = testing::ConnectRaw(*port);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, good.data(), good.size()), static_cast<ssize_t>(good.size()));
    const std::string got = testing::ReadResponse(fd);
    ::close(fd);
    EXPECT_EQ(got.substr(0, got.find("\r\n")), good.find("HTTP/1.0") != std::string::npos ? "HTTP/1.0 200 OK" : "HTTP/1.1 200 OK")
        << good;
  }
  EXPECT_EQ(handler.handled.load(), 3);
  server.Stop();
}

}  // namespace
}  // namespace tally::server
