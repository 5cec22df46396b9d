// Inside the API (api.cc, api_customers.cc): one request being handled,
// and the helpers every handler uses. Not part of the server's interface.
#pragma once

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "projections/customer/customer.h"
#include "tools/tallyd/server/api.h"
#include "tools/tallyd/server/json_input.h"
#include "tools/tallyd/server/metrics.h"
#include "tools/tallyd/server/request.h"

namespace tally::server {

using nlohmann::json;

// MS-RequestId, MS-CorrelationId, If-Match, ...: Beast's string_view as std's.
inline std::string_view SV(boost::beast::string_view s) { return {s.data(), s.size()}; }

// One request being handled.
struct Api::Call {
  Request request;
  Respond respond;
  Post post;  // resumes work on the connection's I/O thread
  std::vector<std::string> path;             // decoded segments
  std::map<std::string, std::string> query;  // decoded
  Partner partner;
  std::string request_id, correlation_id;
  ApiMetrics* metrics = nullptr;  // records the answer, when set
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  http::verb method() const { return request.method(); }

  Response Make(http::status status, const json& body) const {
    return MakeText(status, request.method() != http::verb::head ? body.dump() : std::string());
  }
  // `body`: JSON text (JsonWriter's).
  Response MakeText(http::status status, std::string body) const {
    Response r(status, request.version());
    r.set(http::field::server, "tally");
    r.set(http::field::content_type, "application/json");
    if (!correlation_id.empty()) r.set("MS-CorrelationId", correlation_id);
    if (!request_id.empty()) r.set("MS-RequestId", request_id);
    if (request.method() != http::verb::head) r.body() = std::move(body);
    return r;
  }
  Response Fail(ErrorCode code, const std::string& message) const {
    Response r = Make(static_cast<http::status>(HttpStatus(code)),
                      json{{"code", static_cast<int32_t>(code)}, {"description", message}, {"data", json::array()},
                           {"source", "tally"}});
    // RFC 9110 11.6.1: a 401 names the scheme it wants.
    if (code == ErrorCode::kUnauthorized) r.set(http::field::www_authenticate, "Bearer");
    return r;
  }
  void Answer(Response r) {
    if (metrics != nullptr) {
      const auto verb = request.method();
      metrics->RecordRequest(verb == http::verb::unknown ? "other" : SV(http::to_string(verb)), r.result_int(),
                             std::chrono::steady_clock::now() - start);
    }
    respond(std::move(r));
  }
  void Error(ErrorCode code, const std::string& message) { Answer(Fail(code, message)); }
  void Error(const tally::Error& e) { Error(e.code(), e.message()); }
};


// The body as JSON, or answers the error and returns nullopt.
template <typename CallT>
inline std::optional<json> Body(CallT& call) {
  auto type = call.request.find(http::field::content_type);
  if (type != call.request.end()) {
    if (Status media = CheckJsonMediaType(SV(type->value())); !media.ok()) {
      call.Error(media.error());
      return std::nullopt;
    }
  }
  auto body = ParseBody(call.request.body());
  if (!body.ok()) {
    call.Error(body.error());
    return std::nullopt;
  }
  return std::move(*body);
}

// If-Match, when present.
inline Result<std::optional<uint64_t>> IfMatch(const Request& request) {
  auto it = request.find(http::field::if_match);
  if (it == request.end()) return ParseIfMatch(std::nullopt);
  return ParseIfMatch(SV(it->value()));
}

inline std::string Etag(uint64_t version) { return "\"" + std::to_string(version) + "\""; }

// The customer `id` as the calling partner may see it; otherwise answers
// (404 for a customer that is not theirs, as for one that does not exist)
// and returns nullopt. (A template, as Body is: Api::Call is private.)
template <typename CallT>
std::optional<projections::CustomerRow> VisibleCustomer(CallT& call, projections::ProjectionStore& store,
                                                        const std::string& id) {
  auto row = projections::CustomerReader(store).Get(id);
  if (!row.ok()) {
    call.Error(row.error());
    return std::nullopt;
  }
  if (!row->has_value() || !(*row)->RelatedTo(call.partner.id)) {
    call.Error(ErrorCode::kCustomerNotFound, "no such customer");
    return std::nullopt;
  }
  return std::move(**row);
}

// ?size=N (1-500); `all` when absent.
template <typename CallT>
Result<size_t> PageSize(const CallT& call, size_t all) {
  auto it = call.query.find("size");
  if (it == call.query.end()) return std::max<size_t>(all, 1);
  size_t size = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), size);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || size < 1 || size > 500) {
    return Error(ErrorCode::kInvalidQuery, "size must be a whole number from 1 to 500");
  }
  return size;
}

// The continuation token in the query or (as the Partner Center SDK sends
// it) in an MS-ContinuationToken header.
template <typename CallT>
std::string Continuation(const CallT& call) {
  if (auto it = call.query.find("continuation"); it != call.query.end() && !it->second.empty()) return it->second;
  if (auto header = call.request.find("MS-ContinuationToken"); header != call.request.end()) {
    return std::string(SV(header->value()));
  }
  return "";
}


}  // namespace tally::server
