// A small blocking HTTP/1.1 client over a real socket (Boost.Beast), for
// end-to-end tests of tallyd. One keep-alive connection, reopened when the
// server closed it.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace tally::testing {

struct HttpReply {
  int status = 0;                              // 0: no answer (connection failed)
  std::map<std::string, std::string> headers;  // names as sent
  std::string body;
  nlohmann::json json;  // the body parsed, or null

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  // The error code of an error body, or 0.
  int code() const { return json.is_object() && json.contains("code") ? json["code"].get<int>() : 0; }
};

class HttpClient {
 public:
  explicit HttpClient(uint16_t port, std::string token = "") : port_(port), token_(std::move(token)) {}

  void set_token(std::string token) { token_ = std::move(token); }

  // Sends a request; `headers` override the defaults (Authorization from the
  // token, Content-Type application/json when there is a body).
  HttpReply Call(const std::string& method, const std::string& target, const std::string& body = "",
                 const std::map<std::string, std::string>& headers = {}) {
    namespace http = boost::beast::http;
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, "127.0.0.1");
    if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : headers) {
      if (value.empty()) {
        req.erase(name);
      } else {
        req.set(name, value);
      }
    }
    req.body() = body;
    req.prepare_payload();
    return Send(req.base(), req);
  }

  // Sends raw bytes on a fresh connection and reads one answer (for requests
  // Beast would not build: bad framing, huge headers).
  HttpReply Raw(const std::string& bytes) {
    socket_.reset();
    if (!Connect()) return {};
    boost::beast::error_code ec;
    boost::asio::write(*socket_, boost::asio::buffer(bytes), ec);
    HttpReply reply = Read();
    socket_.reset();
    return reply;
  }

  HttpReply Get(const std::string& target) { return Call("GET", target); }
  HttpReply Post(const std::string& target, const nlohmann::json& body,
                 const std::map<std::string, std::string>& headers = {}) {
    return Call("POST", target, body.dump(), headers);
  }
  HttpReply Patch(const std::string& target, const nlohmann::json& body,
                  const std::map<std::string, std::string>& headers = {}) {
    return Call("PATCH", target, body.dump(), headers);
  }

 private:
  bool Connect() {
    buffer_.clear();
    socket_.emplace(ioc_);
    boost::beast::error_code ec;
    socket_->connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    if (ec) socket_.reset();
    return socket_.has_value();
  }

  template <typename Req>
  HttpReply Send(const boost::beast::http::fields&, Req& req) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!socket_ && !Connect()) return {};
      boost::beast::error_code ec;
      boost::beast::http::write(*socket_, req, ec);
      // Even when the write failed (the server answered early, e.g. 413,
      // and closed), the answer may be there to read.
      HttpReply reply = Read();
      if (reply.status != 0) return reply;
      socket_.reset();  // the server closed a kept-alive connection: once more on a new one
    }
    return {};
  }

  HttpReply Read() {
    namespace http = boost::beast::http;
    HttpReply reply;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    parser.skip(false);
    boost::beast::error_code ec;
    http::read(*socket_, buffer_, parser, ec);
    if (ec) return reply;
    auto& res = parser.get();
    reply.status = static_cast<int>(res.result_int());
    for (const auto& f : res) reply.headers[std::string(f.name_string())] = std::string(f.value());
    reply.body = res.body();
    reply.json = nlohmann::json::parse(reply.body, nullptr, false);
    if (reply.json.is_discarded()) reply.json = nullptr;
    if (!res.keep_alive()) socket_.reset();
    return reply;
  }

  boost::asio::io_context ioc_;
  uint16_t port_;
  std::string token_;
  std::optional<boost::asio::ip::tcp::socket> socket_;
  boost::beast::flat_buffer buffer_;
};

// A plain TCP connection to 127.0.0.1:port (a descriptor; -1 on failure),
// for tests that hold many connections or must not wait for ever.
inline int ConnectRaw(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads from `fd` until `done(text so far)` or `timeout` (then what came).
template <typename Done>
std::string ReadUntil(int fd, std::chrono::milliseconds timeout, Done done) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string got;
  char buf[4096];
  for (ssize_t n; !done(got) && (n = ::read(fd, buf, sizeof buf)) > 0;) got.append(buf, n);
  return got;
}

// One whole HTTP response (head and Content-Length body) from `fd`.
inline std::string ReadResponse(int fd, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  return ReadUntil(fd, timeout, [](const std::string& got) {
    const size_t end = got.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    size_t length = 0;
    const size_t at = got.find("Content-Length: ");
    if (at != std::string::npos && at < end) length = std::stoul(got.substr(at + 16));
    return got.size() >= end + 4 + length;
  });
}

// GET /healthz on a new connection: the status line, or "" when no answer
// comes within 5 s (a server that no longer accepts).
inline std::string StatusLineOnce(uint16_t port) {
  const int fd = ConnectRaw(port);
  if (fd < 0) return "";
  timeval five{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  (void)!::write(fd, request.data(), request.size());
  std::string got;
  char buf[512];
  for (ssize_t n; got.find("\r\n") == std::string::npos && (n = ::read(fd, buf, sizeof buf)) > 0;) got.append(buf, n);
  ::close(fd);
  return got.substr(0, got.find("\r\n"));
}

}  // namespace tally::testing
