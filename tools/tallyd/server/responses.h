// The API's response bodies: customers, subscriptions and offers in the
// Partner Center shapes, and the list envelope around them. Written as
// JSON text with JsonWriter (no JSON tree for the hot reads).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "engine/domain/catalog.h"
#include "tools/tallyd/server/json_writer.h"
#include "projections/customer/customer.h"
#include "projections/license/license.h"

namespace tally::server {

// A customer as `partner` sees it, without the closing brace (the create
// response adds to it). `password`: only in the create response;
// `times`: false there too (the read model has not seen the customer yet).
void BeginCustomer(JsonWriter& w, const projections::CustomerRow& c, std::string_view partner,
                   std::string_view password = {}, bool times = true);

// The whole customer object (BeginCustomer and its closing brace).
void WriteCustomer(JsonWriter& w, const projections::CustomerRow& c, std::string_view partner);

// A Partner Center Link: "name": {"uri": uri, "method": "GET", "headers": []}.
void WriteLink(JsonWriter& w, std::string_view name, std::string_view uri);
nlohmann::json LinkJson(const std::string& uri);

// A subscription, with its offer's name from `catalog`.
// `now_us`: the time refundableQuantity is as of.
void WriteSubscription(JsonWriter& w, const projections::SubscriptionRow& s, const domain::Catalog& catalog,
                       int64_t now_us);

// Purchase order: by the position of the SubscriptionCreated, then id.
bool BoughtBefore(const projections::SubscriptionRow& a, const projections::SubscriptionRow& b);

// The lines of order `order_id` among a customer's subscriptions, in the
// order they were bought (empty: no such order).
std::vector<const projections::SubscriptionRow*> OrderLines(const std::vector<projections::SubscriptionRow>& subs,
                                                            std::string_view order_id);
// The Order resource (order-resources.md) of non-empty `lines`: lines
// numbered from 0 as bought, billingCycle "none" when they differ,
// creationDate that of the first line, status "completed".
nlohmann::json OrderJson(const std::vector<const projections::SubscriptionRow*>& lines, const std::string& currency);

// {"totalCount": n, "items": [...]} with each item written by `item`.
template <typename Rows, typename WriteItem>
// `next_uri`: where the next page is (with `continuation`), for
// `links.next` as the Partner Center SDK follows it: the token in an
// MS-ContinuationToken header.
std::string ItemsText(const Rows& rows, WriteItem item, std::string_view continuation = {},
                      std::string_view next_uri = {}) {
  std::string text;
  JsonWriter w(text);
  w.BeginObject().Field("totalCount", static_cast<uint64_t>(rows.size())).Key("items").BeginArray();
  for (const auto& row : rows) item(w, row);
  w.EndArray();
  if (!continuation.empty()) {
    w.Field("continuationToken", continuation);
    if (!next_uri.empty()) {
      w.Key("links").BeginObject().Key("next").BeginObject().Field("uri", next_uri).Field("method", "GET");
      w.Key("headers").BeginArray().BeginObject().Field("key", "MS-ContinuationToken").Field("value", continuation);
      w.EndObject().EndArray().EndObject().EndObject();
    }
  }
  w.EndObject();
  return text;
}

// An offer of the catalog (GET /v1/offers: small, not a hot path), with
// its prices in force at `now_us` and those that start later.
nlohmann::json OfferJson(const domain::Offer& o, const std::string& currency, int64_t now_us);

// A whole list as Partner Center sends one: {"totalCount", "items",
// "attributes": {"objectType": "Collection"}} (unpaged lists, built as JSON).
nlohmann::json CollectionJson(nlohmann::json items);

// Partner Center's Agreement resource (a confirmed acceptance).
nlohmann::json AgreementJson(const projections::CustomerAgreement& a);
// GET /v1/agreements: the AgreementMetaData of the Microsoft Customer
// Agreement this service offers.
nlohmann::json AgreementMetadataJson();

}  // namespace tally::server
