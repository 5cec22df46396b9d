// Fuzz target: request parsing. Arbitrary bytes go through what a request
// meets before any command runs: Beast's HTTP parser with tallyd's limits,
// the target's path and query decoding, If-Match, the body's JSON with its
// limits, and every body-to-command conversion. Nothing may crash, hang or
// trip a sanitizer, and every rejection must be a 4xx code.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tools/tallyd/server/json_input.h"
#include "tools/tallyd/server/request.h"

namespace {

namespace http = boost::beast::http;
using tally::ErrorCode;

// Seeds an empty corpus folder with requests of every kind the API takes.
void SeedCorpus(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec) || !fs::is_empty(dir, ec)) return;
  const std::string address =
      R"({"firstName":"Anna","lastName":"Smith","addressLine1":"1 Main St","city":"Redmond","state":"WA",)"
      R"("postalCode":"98052","country":"US","phoneNumber":"4255550100"})";
  const std::string billing = R"({"email":"a@b.com","culture":"en-US","language":"en","companyName":"C",)"
                              R"("defaultAddress":)" + address + "}";
  const std::string bodies[] = {
      R"({"companyProfile":{"domain":"contoso.onmicrosoft.com","companyName":"Contoso"},"billingProfile":)" +
          billing + R"(,"lineItems":[{"offerId":"x","quantity":10,"friendlyName":"Basic"}]})",
      billing,
      R"({"lineItems":[{"offerId":"x","quantity":2,"billingCycle":"monthly"}]})",
      R"({"LineItems":[{"OfferId":"x","Quantity":1,"ParentSubscriptionId":"p"}]})",
      R"({"quantity":8,"status":"suspended","friendlyName":"Team","autoRenewEnabled":false})",
  };
  const char* targets[] = {"/v1/customers", "/v1/customers/c/profiles/billing", "/v1/customers/c/orders",
                           "/v1/customers/c/orders/o?minPosition=3", "/v1/customers/c/subscriptions/s%20x?size=5&a"};
  for (int i = 0; i < 5; ++i) {
    std::ofstream(dir + "/seed-" + std::to_string(i), std::ios::binary)
        << "POST " << targets[i] << " HTTP/1.1\r\nHost: x\r\nIf-Match: W/\"4\"\r\nContent-Type: application/json\r\n"
        << "Content-Length: " << bodies[i].size() << "\r\n\r\n"
        << bodies[i];
  }
}

void Check(const tally::Error& e) {
  const int status = tally::HttpStatus(e.code());
  if (status < 400 || status >= 500) {
    std::fprintf(stderr, "a rejection that is not a 4xx: %d %s\n", status, e.ToString().c_str());
    std::abort();
  }
}

template <typename R>
void Expect4xxOnError(const R& r) {
  if (!r.ok()) Check(r.error());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  for (int i = 1; i < *argc; ++i) {
    if ((*argv)[i][0] != '-') SeedCorpus((*argv)[i]);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  parser.header_limit(16 << 10);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!parser.is_header_done()) return 0;
  const auto& request = parser.get();
  const auto target = request.target();
  Expect4xxOnError(tally::server::ParseTarget(std::string_view(target.data(), target.size())));
  if (auto it = request.find(http::field::if_match); it != request.end()) {
    Expect4xxOnError(tally::server::ParseIfMatch(std::string_view(it->value().data(), it->value().size())));
  }
  if (!parser.is_done()) return 0;
  auto body = tally::server::ParseBody(request.body());
  if (!body.ok()) {
    Check(body.error());
    return 0;
  }
  Expect4xxOnError(tally::server::AddCustomerFromJson(*body));
  Expect4xxOnError(tally::server::BillingFromJson(*body));
  Expect4xxOnError(tally::server::AgreementFromJson(*body));
  auto order = tally::server::OrderFromJson(*body);
  Expect4xxOnError(order);
  if (order.ok()) Expect4xxOnError(tally::server::NewOrderLines(*order));
  Expect4xxOnError(tally::server::SubscriptionPatchFromJson(*body));
  return 0;
}
