// The HTTP/1.1 server under the API: Boost.Beast on Boost.Asio, keep-alive,
// one request at a time per connection, and limits that keep slow or greedy
// clients from holding it (body and header size, a deadline per request,
// idle keep-alive time, a cap on connections).
#pragma once

#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/base/result.h"

namespace tally::server {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct HttpServerOptions {
  size_t max_body_bytes = 1 << 20;      // larger: 413
  size_t max_header_bytes = 16 << 10;   // larger: 431
  size_t max_connections = 1024;        // more are closed at once
  std::chrono::seconds request_deadline{15};  // to receive a whole request
  std::chrono::seconds idle_timeout{60};      // keep-alive between requests
  int threads = 2;
};

// What answers requests. Handle may answer at once or later from any thread
// (e.g. once a command is durable), by calling `respond` exactly once. It
// must not block: work that has to wait (for a read model, say) is resumed
// later on the connection's own I/O thread with `post`.
class HttpHandler {
 public:
  using Respond = std::function<void(Response)>;
  // Runs a function later on the I/O thread of the request's connection
  // (never inline). Any thread; valid until `respond` is called.
  using Post = std::function<void(std::function<void()>)>;
  virtual ~HttpHandler() = default;
  virtual void Handle(Request request, Respond respond, Post post) = 0;
  // The answer to a request the server rejected before Handle (too large,
  // malformed): the handler formats the error body.
  virtual Response Reject(ErrorCode code, const std::string& message, unsigned version) = 0;
};

// Thread-safety: Start and Stop from one thread. `handler` must outlive the
// server.
class HttpServer {
 public:
  HttpServer(HttpHandler& handler, HttpServerOptions options = {});
  ~HttpServer();  // Stop()

  // Listens on host:port (port 0: any free port) and starts the threads.
  // Returns the port listened on.
  Result<uint16_t> Start(const std::string& host, uint16_t port);

  // Graceful: stops accepting, lets requests in progress finish and be
  // answered (up to `grace`), closes idle connections, joins the threads.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  size_t connections() const { return connections_.load(); }

 private:
  class Session;
  struct Impl;
  void DoAccept();
  HttpHandler& handler_;
  const HttpServerOptions options_;
  std::unique_ptr<Impl> impl_;
  std::atomic<size_t> connections_{0};
  std::atomic<size_t> in_flight_{0};
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

// Why a request's header must be refused before its body is read (400,
// connection closed), or nullopt: a Transfer-Encoding other than a single
// chunked, Transfer-Encoding beside Content-Length, an HTTP/1.1 request
// without exactly one Host, more than one Authorization.
std::optional<std::string> FramingProblem(const http::fields& header, unsigned version);

}  // namespace tally::server
