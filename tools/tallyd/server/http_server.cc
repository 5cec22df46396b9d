#include "tools/tallyd/server/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>

#include <algorithm>
#include <cstdio>
#include <list>
#include <optional>

#include "engine/base/mutex.h"

namespace tally::server {

namespace net = boost::asio;
namespace beast = boost::beast;

std::optional<std::string> FramingProblem(const http::fields& header, unsigned version) {
  // RFC 9112 6.1-6.3: a transfer coding other than a single final chunked
  // (tally decodes no other) leaves the body's length to guesswork, and
  // Transfer-Encoding beside Content-Length lets a proxy and this server
  // frame the message differently: request smuggling. Refused.
  size_t codings = 0;
  bool chunked_only = true;
  std::string named;
  for (const auto& field : header) {
    if (field.name() != http::field::transfer_encoding) continue;
    named += (named.empty() ? "" : ", ") + std::string(field.value());
    std::string_view value(field.value().data(), field.value().size());
    while (!value.empty()) {
      const size_t comma = value.find(',');
      std::string_view token = value.substr(0, comma);
      value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
      if (token.empty()) continue;
      ++codings;
      chunked_only = chunked_only && beast::iequals(beast::string_view(token.data(), token.size()), "chunked");
    }
  }
  if (!named.empty() && (codings != 1 || !chunked_only)) {
    return "Transfer-Encoding '" + named + "' is not supported: send chunked alone, or Content-Length";
  }
  if (!named.empty() && header.count(http::field::content_length) > 0) {
    return "Transfer-Encoding and Content-Length together: send one";
  }
  // RFC 9112 3.2: an HTTP/1.1 request has exactly one Host.
  if (version >= 11 && header.count(http::field::host) != 1) {
    return header.count(http::field::host) == 0 ? "an HTTP/1.1 request needs a Host header"
                                                : "more than one Host header";
  }
  if (header.count(http::field::authorization) > 1) return "more than one Authorization header";
  return std::nullopt;
}
using tcp = net::ip::tcp;

// One io_context per thread, each run by that thread alone (concurrency
// hint 1: no locking inside Asio), connections dealt round-robin: a session
// lives on one thread, so it needs no strand.
struct HttpServer::Impl {
  explicit Impl(int threads) {
    for (int i = 0; i < std::max(1, threads); ++i) contexts.push_back(std::make_unique<net::io_context>(1));
  }
  std::vector<std::unique_ptr<net::io_context>> contexts;
  // Keep run() going while every session waits for a command to be
  // durable (work an io_context does not see) after the acceptor closed.
  std::vector<net::executor_work_guard<net::io_context::executor_type>> work;
  size_t next = 0;  // the context for the next connection; on contexts[0]'s thread
  std::optional<tcp::acceptor> acceptor;  // on contexts[0]
  // After a failed accept (out of descriptors: EMFILE, ENFILE, ENOBUFS),
  // accepting pauses on this timer and starts again; on contexts[0].
  std::optional<net::steady_timer> accept_pause;
  std::chrono::milliseconds pause{0};      // the next pause; contexts[0] only
  std::string last_accept_error;           // said once until accepting works again; contexts[0] only
  Mutex sessions_mu;
  std::list<std::weak_ptr<Session>> sessions GUARDED_BY(sessions_mu);
};

class HttpServer::Session : public std::enable_shared_from_this<HttpServer::Session> {
 public:
  Session(HttpServer& server, tcp::socket socket) : server_(server), stream_(std::move(socket)) {
    server_.connections_.fetch_add(1);
  }
  ~Session() { server_.connections_.fetch_sub(1); }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

  // On the session's executor: closes it unless a request is in progress
  // (that one is answered first).
  void CloseIfIdle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.socket().close(ec);
      }
    });
  }

 private:
  void Read() {
    if (server_.stopping_.load()) return Close();
    parser_.emplace();
    parser_->body_limit(server_.options_.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_.options_.max_header_bytes));
    // The first request gets the request deadline; later ones may idle first.
    stream_.expires_after(first_ ? server_.options_.request_deadline : server_.options_.idle_timeout);
    first_ = false;
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  // A client that sent `Expect: 100-continue` (Partner Center's docs' own
  // requests do; .NET's HttpClient waits for it) is told to go on before
  // its body is read; a body over the limit was refused with the header.
  void OnHeader(beast::error_code ec) {
    if (!ec) {
      // Framing a proxy could read otherwise: answered 400, the connection
      // closed, nothing after the header read (it could be a second request).
      if (auto problem = FramingProblem(parser_->get(), parser_->get().version())) {
        keep_alive_ = false;
        busy_ = true;
        return Write(server_.handler_.Reject(ErrorCode::kInvalidArgument, "malformed HTTP request: " + *problem,
                                             parser_->get().version()));
      }
    }
    if (ec || parser_->is_done()) return OnRead(ec);
    auto rest = [self = shared_from_this()] {
      http::async_read(self->stream_, self->buffer_, *self->parser_,
                       [self](beast::error_code ec, size_t) { self->OnRead(ec); });
    };
    const auto& header = parser_->get();
    auto expect = header.find(http::field::expect);
    if (expect == header.end() || !beast::iequals(expect->value(), "100-continue")) return rest();
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = shared_from_this(), rest](beast::error_code ec, size_t) {
                       if (ec) return self->Close();
                       rest();
                     });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted || ec == beast::error::timeout ||
        ec == net::error::connection_reset || ec == net::error::eof) {
      return Close();
    }
    if (ec) {
      // The request cannot be read to its end: answer and close.
      ErrorCode code = ErrorCode::kInvalidArgument;
      std::string what = "malformed HTTP request: " + ec.message();
      if (ec == http::error::body_limit) {
        code = ErrorCode::kBodyTooLarge;
        what = "the body is larger than " + std::to_string(server_.options_.max_body_bytes) + " bytes";
      } else if (ec == http::error::header_limit) {
        code = ErrorCode::kHeadersTooLarge;
        what = "the headers are larger than " + std::to_string(server_.options_.max_header_bytes) + " bytes";
      }
      keep_alive_ = false;
      busy_ = true;
      return Write(server_.handler_.Reject(code, what, 11));
    }
    Request request = parser_->release();
    keep_alive_ = request.keep_alive();
    busy_ = true;
    server_.in_flight_.fetch_add(1);
    stream_.expires_never();  // the handler decides how long it takes
    server_.handler_.Handle(
        std::move(request),
        [self = shared_from_this()](Response response) {
          // dispatch: inline when answered on the session's own thread (reads), queued otherwise.
          net::dispatch(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
            self->server_.in_flight_.fetch_sub(1);
            self->Write(std::move(response));
          });
        },
        [self = shared_from_this()](std::function<void()> fn) { net::post(self->stream_.get_executor(), std::move(fn)); });
  }

  void Write(Response response) {
    if (server_.stopping_.load()) keep_alive_ = false;
    response.keep_alive(keep_alive_);
    response.prepare_payload();
    response_ = std::make_shared<Response>(std::move(response));
    stream_.expires_after(server_.options_.request_deadline);
    http::async_write(stream_, *response_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->busy_ = false;
      self->response_.reset();
      if (ec || !self->keep_alive_) return self->Close();
      self->Read();
    });
  }

  // A lingering close: the answer is sent, then what the client still sends
  // (the rest of a body too large to read) is read and dropped for a moment,
  // so that closing does not reset the connection before the client has
  // read the answer.
  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec || server_.stopping_.load()) {
      stream_.socket().close(ec);
      return;
    }
    stream_.expires_after(std::chrono::seconds(2));
    Drain(0);
  }

  void Drain(size_t drained) {
    drain_.resize(16 << 10);
    stream_.async_read_some(net::buffer(drain_), [self = shared_from_this(), drained](beast::error_code ec, size_t n) {
      if (ec || drained + n > (4u << 20)) {
        beast::error_code ignored;
        self->stream_.socket().close(ignored);
        return;
      }
      self->Drain(drained + n);
    });
  }

  HttpServer& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> response_;
  std::vector<char> drain_;
  bool keep_alive_ = true;
  bool busy_ = false;
  bool first_ = true;
};

HttpServer::HttpServer(HttpHandler& handler, HttpServerOptions options)
    : handler_(handler), options_(options), impl_(std::make_unique<Impl>(options.threads)) {}

HttpServer::~HttpServer() { Stop(); }

Result<uint16_t> HttpServer::Start(const std::string& host, uint16_t port) {
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) {  // a name, e.g. localhost: its first address
    tcp::resolver resolver(*impl_->contexts[0]);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) return Error(ErrorCode::kInvalidArgument, "cannot resolve host '" + host + "'");
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, port);
  auto& acceptor = impl_->acceptor.emplace(*impl_->contexts[0]);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(ErrorCode::kIoError, "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  }
  const uint16_t bound = acceptor.local_endpoint().port();
  impl_->accept_pause.emplace(*impl_->contexts[0]);
  // Asio makes each io_context's reactor (an epoll descriptor and an
  // eventfd) when its first socket is made: made now, not when descriptors
  // may have run out (it throws then).
  for (auto& context : impl_->contexts) tcp::socket warm(*context);

  DoAccept();
  for (auto& context : impl_->contexts) {
    impl_->work.push_back(net::make_work_guard(*context));
    threads_.emplace_back([&context] { context->run(); });
  }
  return bound;
}

void HttpServer::DoAccept() {
  net::io_context& context = *impl_->contexts[impl_->next++ % impl_->contexts.size()];
  impl_->acceptor->async_accept(context, [this](beast::error_code ec, tcp::socket socket) {
    if (stopping_.load() || ec == net::error::operation_aborted) return;  // closed by Stop
    if (ec) {
      // Never give up on accepting: the connections already open go on,
      // and accepting starts again after a pause (10 ms doubling to 1 s)
      // in which some descriptors may have been closed.
      if (ec.message() != impl_->last_accept_error) {
        impl_->last_accept_error = ec.message();
        std::fprintf(stderr, "tally http: cannot accept a connection (%s); %zu open; trying again\n",
                     impl_->last_accept_error.c_str(), connections_.load());
      }
      impl_->pause = std::clamp(impl_->pause * 2, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
      impl_->accept_pause->expires_after(impl_->pause);
      impl_->accept_pause->async_wait([this](beast::error_code waited) {
        if (!waited && !stopping_.load()) DoAccept();
      });
      return;
    }
    if (!impl_->last_accept_error.empty()) {
      std::fprintf(stderr, "tally http: accepting connections again (%zu open)\n", connections_.load() + 1);
      impl_->last_accept_error.clear();
    }
    impl_->pause = std::chrono::milliseconds(0);
    if (connections_.load() >= options_.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);  // over the cap: refused at once
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      auto session = std::make_shared<Session>(*this, std::move(socket));
      {
        MutexLock lock(&impl_->sessions_mu);
        impl_->sessions.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
        impl_->sessions.push_back(session);
      }
      session->Start();
    }
    DoAccept();
  });
}

void HttpServer::Stop(std::chrono::milliseconds grace) {
  if (threads_.empty()) return;
  stopping_ = true;
  net::post(*impl_->contexts[0], [this] {
    beast::error_code ec;
    if (impl_->acceptor) impl_->acceptor->close(ec);
    if (impl_->accept_pause) impl_->accept_pause->cancel();
  });
  {
    MutexLock lock(&impl_->sessions_mu);
    for (auto& weak : impl_->sessions) {
      if (auto session = weak.lock()) session->CloseIfIdle();
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (connections_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl_->work.clear();
  for (auto& context : impl_->contexts) context->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace tally::server
