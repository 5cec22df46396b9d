// The customer-facing resources of the API: customers, orders,
// subscriptions and relationships (routing and the rest: api.cc).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "engine/domain/password.h"
#include "tools/tallyd/server/api_call.h"
#include "tools/tallyd/server/responses.h"
#include "events/uuid.h"
#include "projections/as_of.h"
#include "projections/customer/customer.h"
#include "projections/license/license.h"
#include "projections/relationship/relationship.h"

namespace tally::server {
namespace {

// The answer to a change of a customer or a subscription: where it went,
// and the customer's new version as the ETag.
template <typename CallT>
Response Changed(const CommandOutcome& o, const CallT& c) {
  Response r = c.Make(http::status::ok, {{"customerId", o.customer_id}, {"position", o.last_position}});
  r.set(http::field::etag, Etag(o.version));
  return r;
}

}  // namespace

void Api::Customers(Call& call) {
  if (call.method() == http::verb::get) return AfterReads(call, "", [this](Call& call) { ListCustomers(call); });
  if (call.method() != http::verb::post) return call.Error(ErrorCode::kMethodNotAllowed, "GET or POST");
  AddCustomer(call);
}

void Api::ListCustomers(Call& call) {
  auto page_size = PageSize(call, 100);
  if (!page_size.ok()) return call.Error(page_size.error());
  const size_t size = *page_size;
  const std::string continuation = Continuation(call);
  if (continuation.size() > 64) return call.Error(ErrorCode::kInvalidQuery, "malformed continuation");
  projections::CustomerReader reader(*ctx_.store);
  auto customer = [&call](JsonWriter& w, const projections::CustomerRow& row) {
    WriteCustomer(w, row, call.partner.id);
  };
  if (auto it = call.query.find("companyName"); it != call.query.end()) {
    auto rows = reader.SearchByCompanyPrefix(call.partner.id, it->second, size);
    if (!rows.ok()) return call.Error(rows.error());
    return call.Answer(call.MakeText(http::status::ok, ItemsText(*rows, customer)));
  }
  auto page = reader.ListForPartner(call.partner.id, size, continuation);
  if (!page.ok()) return call.Error(page.error());
  return call.Answer(call.MakeText(http::status::ok, ItemsText(page->items, customer, page->continuation,
                                                                "/v1/customers?size=" + std::to_string(size))));
}

void Api::AddCustomer(Call& call) {
  auto body = Body(call);
  if (!body) return;
  auto parsed = AddCustomerFromJson(*body);
  if (!parsed.ok()) return call.Error(parsed.error());
  domain::AddCustomer add = std::move(*parsed);
  const domain::AddCustomer sent = add;
  Run(call, std::move(add), [this, sent](const CommandOutcome& o, const Call& c) {
    projections::CustomerRow row;
    row.id = o.customer_id;
    row.domain = sent.domain_prefix + "." + sent.domain_suffix;
    row.company_name = sent.company_name;
    row.registration_number = sent.registration_number;
    row.instance = std::string(domain::InstanceName(ctx_.instance));
    row.admin_user_name = o.admin_user_name;
    row.email = sent.billing.email;
    row.culture = sent.billing.culture;
    row.language = sent.billing.language;
    row.billing_company_name = sent.billing.company_name;
    const auto& a = sent.billing.default_address;
    row.address = {a.first_name, a.last_name, a.address_line1, a.address_line2, a.address_line3,
                   a.city,       a.state,     a.postal_code,   a.country,       a.phone_number};
    row.partners = {{c.partner.id, "reseller_of_record", 0}};
    // The password exists only in this response; a retry of the same
    // request cannot show it again.
    std::string password;
    if (!o.replayed) {
      auto generated = domain::GenerateAdminPassword();
      if (generated.ok()) password = std::move(*generated);
    }
    std::string text;
    JsonWriter w(text);
    BeginCustomer(w, row, c.partner.id, password, /*times=*/false);
    if (!o.order_id.empty()) {
      w.Key("orders").BeginArray().BeginObject().Field("id", o.order_id).Key("lineItems").BeginArray();
      for (size_t i = 0; i < o.subscription_ids.size(); ++i) {
        w.BeginObject()
            .Field("subscriptionId", o.subscription_ids[i])
            .Field("offerId", sent.line_items[i].offer_id)
            .Field("quantity", sent.line_items[i].quantity)
            .EndObject();
      }
      w.EndArray().EndObject().EndArray();
    }
    w.Field("position", o.last_position).EndObject();
    Response r = c.MakeText(http::status::created, std::move(text));
    r.set(http::field::etag, Etag(o.version));
    r.set(http::field::location, "/v1/customers/" + o.customer_id);
    return r;
  });
}

void Api::Customer(Call& call) {
  const std::string id = call.path[2];
  if (call.path.size() == 5 && call.method() == http::verb::get) {  // profiles/billing or profiles/company
    return AfterReads(call, id, [this, id](Call& call) {
      auto row = VisibleCustomer(call, *ctx_.store, id);
      if (!row) return;
      std::string text;
      JsonWriter w(text);
      WriteCustomer(w, *row, call.partner.id);
      json profile = json::parse(text)[call.path[4] + "Profile"];
      Response r = call.Make(http::status::ok, profile);
      if (auto v = CustomerVersion(id); v.ok()) r.set(http::field::etag, Etag(*v));
      call.Answer(std::move(r));
    });
  }
  if (call.path.size() == 5) {
    // Partner Center replaces the billing profile with PUT; PATCH is taken too.
    if (call.path[4] != "billing" || (call.method() != http::verb::put && call.method() != http::verb::patch)) {
      return call.Error(ErrorCode::kMethodNotAllowed, call.path[4] == "billing" ? "GET, PUT or PATCH" : "GET only");
    }
    auto body = Body(call);
    if (!body) return;
    auto b = BillingFromJson(*body);
    if (!b.ok()) return call.Error(b.error());
    auto expected = IfMatch(call.request);
    if (!expected.ok()) return call.Error(expected.error());
    Run(call, domain::UpdateBillingProfile{id, *b, *expected}, Changed<Call>);
    return;
  }
  if (call.method() != http::verb::get) return call.Error(ErrorCode::kMethodNotAllowed, "GET only");
  AfterReads(call, id, [this, id](Call& call) {
    auto row = VisibleCustomer(call, *ctx_.store, id);
    if (!row) return;
    std::string text;
    JsonWriter w(text);
    WriteCustomer(w, *row, call.partner.id);
    Response r = call.MakeText(http::status::ok, std::move(text));
    if (auto v = CustomerVersion(id); v.ok()) r.set(http::field::etag, Etag(*v));
    call.Answer(std::move(r));
  });
}

void Api::Orders(Call& call) {
  const std::string id = call.path[2];
  const auto& p = call.path;
  if (p.size() > 5) return call.Error(ErrorCode::kRouteNotFound, "no such endpoint");
  if (p.size() == 4 && call.method() == http::verb::post) return CreateOrder(call, id);
  if (p.size() == 5 && call.method() == http::verb::patch) return PatchOrder(call, id, p[4]);
  if (call.method() == http::verb::get) return AfterReads(call, id, [this, id](Call& call) { ListOrders(call, id); });
  call.Error(ErrorCode::kMethodNotAllowed, p.size() == 4 ? "GET or POST" : "GET or PATCH (an add-on line)");
}

namespace {

// What an Order body says of its ids and currency, against the path's
// customer and order (empty for a new one) and the catalog's currency. GUIDs
// compare in any case: Partner Center's samples write them in capitals.
Status CheckOrderHeader(const OrderInput& order, const std::string& customer_id, const std::string& order_id,
                        const std::string& currency) {
  if (order.reference_customer_id && !EqualsIgnoreCase(*order.reference_customer_id, customer_id)) {
    return Error(ErrorCode::kInvalidField, "referenceCustomerId '" + order.reference_customer_id->substr(0, 64) +
                                               "' is not the customer in the path (" + customer_id + ")");
  }
  if (!order_id.empty() && order.id && !EqualsIgnoreCase(*order.id, order_id)) {
    return Error(ErrorCode::kReadOnlyField,
                 "id cannot change: it is " + order_id + ", the body says " + order.id->substr(0, 64));
  }
  if (order.currency_code && !EqualsIgnoreCase(*order.currency_code, currency)) {
    return Error(ErrorCode::kUnsupportedCurrency, "currencyCode '" + order.currency_code->substr(0, 16) +
                                               "': this catalog's prices are in " + currency);
  }
  return OkStatus();
}

// The lines of a fallback answer (the read models did not show the write
// in time): what the request and the outcome say.
json FallbackOrder(const std::string& customer_id, const std::string& order_id, const std::vector<domain::LineItem>& items,
                   const std::vector<std::string>& subscription_ids, uint64_t position) {
  json lines = json::array();
  for (size_t i = 0; i < items.size() && i < subscription_ids.size(); ++i) {
    lines.push_back({{"offerId", items[i].offer_id}, {"quantity", items[i].quantity},
                     {"friendlyName", items[i].friendly_name}, {"billingCycle", items[i].billing_cycle},
                     {"subscriptionId", subscription_ids[i]}});
    if (!items[i].parent_subscription_id.empty()) lines.back()["parentSubscriptionId"] = items[i].parent_subscription_id;
  }
  return {{"id", order_id},
          {"referenceCustomerId", customer_id},
          {"lineItems", lines},
          {"status", "completed"},
          {"links", {{"self", LinkJson("/v1/customers/" + customer_id + "/orders/" + order_id)}}},
          {"attributes", {{"objectType", "Order"}}},
          {"position", position}};
}

}  // namespace

void Api::CreateOrder(Call& call, const std::string& customer_id) {
  auto body = Body(call);
  if (!body) return;
  auto order = OrderFromJson(*body);
  if (!order.ok()) return call.Error(order.error());
  if (Status s = CheckOrderHeader(*order, customer_id, "", ctx_.catalog->currency()); !s.ok()) return call.Error(s.error());
  auto items = NewOrderLines(*order);
  if (!items.ok()) return call.Error(items.error());
  const std::vector<domain::LineItem> sent = *items;
  RunThen(call, domain::CreateOrder{customer_id, std::move(*items)}, [this, sent](const CommandOutcome& o, Call& c) {
    RespondOrder(c, o.customer_id, o.order_id, http::status::created,
                 FallbackOrder(o.customer_id, o.order_id, sent, o.subscription_ids, o.last_position));
  });
}

void Api::PatchOrder(Call& call, const std::string& customer_id, const std::string& order_id) {
  auto body = Body(call);
  if (!body) return;
  auto order = OrderFromJson(*body);
  if (!order.ok()) return call.Error(order.error());
  if (Status s = CheckOrderHeader(*order, customer_id, order_id, ctx_.catalog->currency()); !s.ok()) {
    return call.Error(s.error());
  }
  // Lines with a subscriptionId are the order's own, sent back; those
  // without are the add-ons bought, all together or none.
  std::vector<domain::LineItem> items;
  for (const OrderLineInput& line : order->lines) {
    if (!line.subscription_id.empty()) continue;
    items.push_back(line.item);
    if (items.back().billing_cycle.empty()) {
      items.back().billing_cycle = order->billing_cycle.empty() ? "monthly" : order->billing_cycle;
    }
  }
  if (items.empty()) {
    return call.Error(ErrorCode::kInvalidLineItems,
                      "no new line (one without subscriptionId): a PATCH of an order buys add-ons");
  }
  auto buy = [this, customer_id, order_id, items](Call& call) {
    RunThen(call, domain::AddAddOn{customer_id, order_id, items}, [this, items](const CommandOutcome& o, Call& c) {
      RespondOrder(c, o.customer_id, o.order_id, http::status::ok,
                   FallbackOrder(o.customer_id, o.order_id, items, o.subscription_ids, o.last_position));
    });
  };
  if (order->lines.size() == items.size() && order->read_only.empty()) return buy(call);
  // A whole order sent back: what it says of the order and its lines must be
  // what is stored (as GET shows it, once the caller's last write is there).
  AfterReads(call, customer_id, [this, customer_id, order_id, order = std::move(*order), buy](Call& call) {
    auto subs = projections::LicenseReader(*ctx_.store).List(customer_id, call.partner.id);
    if (!subs.ok()) return call.Error(subs.error());
    const auto lines = OrderLines(*subs, order_id);
    if (lines.empty()) return call.Error(ErrorCode::kNotFound, "order '" + order_id + "' not found");
    const json stored = OrderJson(lines, ctx_.catalog->currency());
    for (const auto& [field, sent] : order.read_only) {
      if (stored.contains(field) && sent != stored[field]) {
        return call.Error(ErrorCode::kReadOnlyField, field + " cannot change: it is " + stored[field].dump() +
                                                         ", the body says " + sent.dump().substr(0, 200));
      }
    }
    for (size_t i = 0; i < order.lines.size(); ++i) {
      const OrderLineInput& line = order.lines[i];
      if (line.subscription_id.empty()) continue;
      const std::string path = "lineItems[" + std::to_string(i) + "]";
      const json* now = nullptr;
      for (const auto& l : stored["lineItems"]) {
        if (EqualsIgnoreCase(l["subscriptionId"].get_ref<const std::string&>(), line.subscription_id)) now = &l;
      }
      if (now == nullptr) {
        return call.Error(ErrorCode::kReadOnlyField, path + ".subscriptionId '" + line.subscription_id.substr(0, 64) +
                                                         "' is not a line of order " + order_id);
      }
      for (const auto& [field, sent] : line.sent.items()) {
        if (field == "links" || field == "attributes" || field == "subscriptionId" || !now->contains(field)) continue;
        if (sent.is_null() || sent == (*now)[field]) continue;
        return call.Error(ErrorCode::kReadOnlyField,
                          path + "." + field + " cannot change in an order: it is " + (*now)[field].dump() +
                              ", the body says " + sent.dump().substr(0, 200) +
                              (field == "quantity" || field == "friendlyName" ? " (PATCH the subscription to change it)"
                                                                               : ""));
      }
    }
    buy(call);
  });
}

void Api::RespondOrder(Call& call, const std::string& customer_id, const std::string& order_id, http::status status,
                       json fallback) {
  AfterReads(call, customer_id, [this, customer_id, order_id, status, fallback = std::move(fallback)](Call& c) {
    auto subs = projections::LicenseReader(*ctx_.store).List(customer_id, c.partner.id);
    const auto lines = subs.ok() ? OrderLines(*subs, order_id) : std::vector<const projections::SubscriptionRow*>();
    json body = fallback;
    if (!lines.empty()) {
      body = OrderJson(lines, ctx_.catalog->currency());
      body["position"] = fallback["position"];
    }
    Response r = c.Make(status, body);
    if (auto v = CustomerVersion(customer_id); v.ok()) r.set(http::field::etag, Etag(*v));
    if (status == http::status::created) r.set(http::field::location, "/v1/customers/" + customer_id + "/orders/" + order_id);
    c.Answer(std::move(r));
  });
}

void Api::ListOrders(Call& call, const std::string& id) {
  if (!VisibleCustomer(call, *ctx_.store, id)) return;
  auto subs = projections::LicenseReader(*ctx_.store).List(id, call.partner.id);
  if (!subs.ok()) return call.Error(subs.error());
  if (call.path.size() == 5) {
    const auto lines = OrderLines(*subs, call.path[4]);
    if (lines.empty()) return call.Error(ErrorCode::kNotFound, "no such order");
    return call.Answer(call.Make(http::status::ok, OrderJson(lines, ctx_.catalog->currency())));
  }
  // Orders in the order they were placed (that of their first line), each
  // with its lines as bought: one pass over the subscriptions in purchase
  // order.
  std::sort(subs->begin(), subs->end(), BoughtBefore);
  std::vector<std::vector<const projections::SubscriptionRow*>> orders;
  std::map<std::string_view, size_t> index;  // order id -> orders[i]
  for (const auto& s : *subs) {
    auto [it, added] = index.emplace(s.order_id, orders.size());
    if (added) orders.emplace_back();
    orders[it->second].push_back(&s);
  }
  json items = json::array();
  for (const auto& lines : orders) items.push_back(OrderJson(lines, ctx_.catalog->currency()));
  return call.Answer(call.Make(http::status::ok, CollectionJson(std::move(items))));
}

void Api::Subscriptions(Call& call) {
  const std::string id = call.path[2];
  const auto& p = call.path;
  const bool known = p[3] == "subscribedskus" ? p.size() == 4
                                              : p.size() == 4 || p.size() == 5 || (p.size() == 6 && p[5] == "addons");
  if (!known) return call.Error(ErrorCode::kRouteNotFound, "no such endpoint");
  if (p.size() == 5 && call.method() == http::verb::patch) {
    auto body = Body(call);
    if (!body) return;
    auto patch = SubscriptionPatchFromJson(*body);
    if (!patch.ok()) return call.Error(patch.error());
    domain::UpdateSubscription u = std::move(patch->change);
    u.customer_id = id;
    u.subscription_id = p[4];
    auto expected = IfMatch(call.request);
    if (!expected.ok()) return call.Error(expected.error());
    u.expected_version = *expected;
    if (patch->read_only.empty()) return Run(call, std::move(u), Changed<Call>);
    // A whole resource sent back: its read-only fields must be what is
    // stored (as GET shows it, once the caller's last write is there).
    AfterReads(call, id, [this, id, u = std::move(u), read_only = std::move(patch->read_only)](Call& call) mutable {
      auto sub = projections::LicenseReader(*ctx_.store).Get(id, call.partner.id, u.subscription_id);
      if (!sub.ok()) return call.Error(sub.error());
      if (!sub->has_value()) return call.Error(ErrorCode::kSubscriptionNotFound, "no such subscription");
      std::string text;
      JsonWriter w(text);
      WriteSubscription(w, **sub, *ctx_.catalog, ctx_.log->NowMicros());
      const json stored = json::parse(text);
      for (const auto& [field, sent] : read_only) {
        const json& now = stored.contains(field) ? stored[field] : json();
        if (sent != now) {
          return call.Error(ErrorCode::kReadOnlyField, field + " cannot change: it is " + now.dump() +
                                                           ", the body says " + sent.dump().substr(0, 200));
        }
      }
      Run(call, std::move(u), Changed<Call>);
    });
    return;
  }
  if (call.method() != http::verb::get) {
    return call.Error(ErrorCode::kMethodNotAllowed, p.size() == 5 ? "GET or PATCH" : "GET only");
  }
  AfterReads(call, id, [this, id](Call& call) { ReadSubscriptions(call, id); });
}

void Api::ReadSubscriptions(Call& call, const std::string& id) {
  const auto& p = call.path;
  if (!VisibleCustomer(call, *ctx_.store, id)) return;
  projections::LicenseReader licenses(*ctx_.store);
  if (p[3] == "subscribedskus" && p.size() == 4) {
    auto totals = licenses.Totals(id, call.partner.id);
    if (!totals.ok()) return call.Error(totals.error());
    json items = json::array();
    for (const auto& t : totals->offers) {
      const domain::Offer* offer = ctx_.catalog->Find(t.offer_id);
      items.push_back({{"offerId", t.offer_id}, {"offerName", offer ? offer->name : ""},
                       {"activeUnits", t.active_units}, {"suspendedUnits", t.suspended_units},
                       {"addOnUnits", t.add_on_units}, {"subscriptions", t.subscriptions}});
    }
    return call.Answer(call.Make(http::status::ok, {{"totalCount", items.size()}, {"items", items}}));
  }
  if (p.size() == 4 || (p.size() == 6 && p[5] == "addons")) {
    auto subs = licenses.List(id, call.partner.id, p.size() == 6 ? std::string_view(p[4]) : std::string_view());
    if (!subs.ok()) return call.Error(subs.error());
    // In the order they were bought; paged when the caller asks (?size=N),
    // the token in the query or the MS-ContinuationToken header.
    std::sort(subs->begin(), subs->end(), BoughtBefore);
    auto size = PageSize(call, subs->size());
    if (!size.ok()) return call.Error(size.error());
    const std::string token = Continuation(call);
    size_t from = 0;
    if (!token.empty()) {
      auto it = std::find_if(subs->begin(), subs->end(), [&](const auto& s) { return s.id == token; });
      if (it == subs->end()) return call.Error(ErrorCode::kInvalidQuery, "malformed continuation");
      from = static_cast<size_t>(it - subs->begin()) + 1;
    }
    const size_t to = std::min(subs->size(), from + *size);
    std::vector<projections::SubscriptionRow> page(std::make_move_iterator(subs->begin() + from),
                                                   std::make_move_iterator(subs->begin() + to));
    const std::string next = to < subs->size() ? page.back().id : std::string();
    std::string base = "/v1/customers/" + id + "/subscriptions";
    if (p.size() == 6) base += "/" + p[4] + "/addons";
    auto subscription = [this](JsonWriter& w, const projections::SubscriptionRow& s) {
      WriteSubscription(w, s, *ctx_.catalog, ctx_.log->NowMicros());
    };
    return call.Answer(call.MakeText(http::status::ok,
                                     ItemsText(page, subscription, next, base + "?size=" + std::to_string(*size))));
  }
  if (p.size() == 5) {
    auto sub = licenses.Get(id, call.partner.id, p[4]);
    if (!sub.ok()) return call.Error(sub.error());
    if (!sub->has_value()) return call.Error(ErrorCode::kSubscriptionNotFound, "no such subscription");
    std::string text;
    JsonWriter w(text);
    WriteSubscription(w, **sub, *ctx_.catalog, ctx_.log->NowMicros());
    Response r = call.MakeText(http::status::ok, std::move(text));
    if (auto v = CustomerVersion(id); v.ok()) r.set(http::field::etag, Etag(*v));
    return call.Answer(std::move(r));
  }
  call.Error(ErrorCode::kRouteNotFound, "no such endpoint");
}

void Api::Relationships(Call& call) {
  const std::string id = call.path[2];
  const auto& p = call.path;
  const bool known = p.size() == 4 || (p.size() == 6 && p[3] == "relationshiprequests" && p[5] == "acceptance");
  if (!known) return call.Error(ErrorCode::kRouteNotFound, "no such endpoint");
  if (p[3] == "relationshiprequests" && p.size() == 4 && call.method() == http::verb::post) {
    return Run(call, domain::RequestRelationship{id}, [](const CommandOutcome& o, const Call& c) {
      return c.Make(http::status::created, {{"customerId", o.customer_id}, {"invitationId", o.invitation_id},
                                            {"position", o.last_position}});
    });
  }
  if (p[3] == "relationshiprequests" && p.size() == 6 && p[5] == "acceptance" && call.method() == http::verb::post) {
    return Run(call, domain::AcceptRelationship{id, p[4], true}, [](const CommandOutcome& o, const Call& c) {
      return c.Make(http::status::ok, {{"customerId", o.customer_id}, {"position", o.last_position}});
    });
  }
  if (p[3] == "relationship" && p.size() == 4 && call.method() == http::verb::delete_) {
    return Run(call, domain::RemoveRelationship{id, call.partner.id, false},
               [](const CommandOutcome& o, const Call& c) {
                 return c.Make(http::status::ok, {{"customerId", o.customer_id}, {"position", o.last_position}});
               });
  }
  if ((p[3] == "partners" || p[3] == "relationshiprequests") && p.size() == 4 && call.method() == http::verb::get) {
    const bool invitations = p[3] == "relationshiprequests";
    return AfterReads(call, id, [this, id, invitations](Call& call) { ListPartners(call, id, invitations); });
  }
  call.Error(ErrorCode::kMethodNotAllowed, "no such method on this endpoint");
}

void Api::ListPartners(Call& call, const std::string& id, bool invitations) {
  auto rel = projections::RelationshipReader(*ctx_.store).ForCustomer(id);
  if (!rel.ok()) return call.Error(rel.error());
  const bool related = rel->has_value() && std::any_of((*rel)->partners.begin(), (*rel)->partners.end(),
                                                       [&](const auto& l) { return l.partner_id == call.partner.id; });
  if (!related) return call.Error(ErrorCode::kCustomerNotFound, "no such customer");
  json items = json::array();
  if (invitations) {  // the pending ones; an accepted invitation is a partner
    for (const auto& i : (*rel)->pending) {
      items.push_back({{"invitationId", i.invitation_id}, {"partnerId", i.partner_id},
                       {"requestedAt", projections::FormatUtcTime(i.requested_us)}});
    }
    return call.Answer(call.Make(http::status::ok, {{"totalCount", items.size()}, {"items", items}}));
  }
  for (const auto& l : (*rel)->partners) {
    items.push_back({{"partnerId", l.partner_id}, {"role", l.role}, {"since", projections::FormatUtcTime(l.since_us)}});
  }
  return call.Answer(call.Make(http::status::ok, {{"totalCount", items.size()}, {"items", items}}));
}

namespace {

// ?agreementType=: MicrosoftCustomerAgreement, MicrosoftCloudAgreement or
// * (any case); Partner Center's default is MicrosoftCloudAgreement.
Result<std::string> AgreementType(const std::map<std::string, std::string>& query) {
  auto it = query.find("agreementType");
  if (it == query.end()) return std::string("MicrosoftCloudAgreement");
  for (const char* known : {"MicrosoftCustomerAgreement", "MicrosoftCloudAgreement", "*"}) {
    if (EqualsIgnoreCase(it->second, known)) return std::string(known);
  }
  return Error(ErrorCode::kInvalidQuery,
               "agreementType must be MicrosoftCustomerAgreement, MicrosoftCloudAgreement or *");
}

bool TypeMatches(const std::string& wanted, const std::string& type) { return wanted == "*" || wanted == type; }

Error NoAgreementsInUsGov() {
  return Error(ErrorCode::kAgreementNotAvailable, "customer agreements are part of the global instance only, not usgov");
}

}  // namespace

void Api::AgreementMetadata(Call& call) {
  if (call.method() != http::verb::get) return call.Error(ErrorCode::kMethodNotAllowed, "GET only");
  if (ctx_.instance == domain::Instance::kUsGov) return call.Error(NoAgreementsInUsGov());
  auto type = AgreementType(call.query);
  if (!type.ok()) return call.Error(type.error());
  json items = json::array();
  if (TypeMatches(*type, domain::kCustomerAgreementType)) items.push_back(AgreementMetadataJson());
  call.Answer(call.Make(http::status::ok, CollectionJson(std::move(items))));
}

void Api::Agreements(Call& call) {
  const std::string id = call.path[2];
  if (ctx_.instance == domain::Instance::kUsGov) return call.Error(NoAgreementsInUsGov());
  if (call.method() == http::verb::post) {
    auto body = Body(call);
    if (!body) return;
    auto agreement = AgreementFromJson(*body);
    if (!agreement.ok()) return call.Error(agreement.error());
    const domain::AgreementInput sent = *agreement;
    return Run(call, domain::ConfirmAgreement{id, std::move(*agreement)}, [id, sent](const CommandOutcome& o, const Call& c) {
      const projections::CustomerAgreement confirmed{sent.template_id, sent.type,       sent.date_agreed_us,
                                                     c.partner.id,     0,               sent.first_name,
                                                     sent.last_name,   sent.email,      sent.phone_number};
      Response r = c.Make(http::status::created, AgreementJson(confirmed));
      r.set(http::field::location, "/v1/customers/" + id + "/agreements");
      return r;
    });
  }
  if (call.method() != http::verb::get) return call.Error(ErrorCode::kMethodNotAllowed, "GET or POST");
  auto type = AgreementType(call.query);
  if (!type.ok()) return call.Error(type.error());
  AfterReads(call, id, [this, id, type = *type](Call& call) {
    auto row = VisibleCustomer(call, *ctx_.store, id);
    if (!row) return;
    json items = json::array();
    for (const auto& a : row->agreements) {
      if (TypeMatches(type, a.type)) items.push_back(AgreementJson(a));
    }
    call.Answer(call.Make(http::status::ok, CollectionJson(std::move(items))));
  });
}

}  // namespace tally::server
