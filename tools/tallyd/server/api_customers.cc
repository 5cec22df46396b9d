// The customer-facing resources of the API: customers, orders,
// subscriptions and relationships (routing and the rest: api.cc).
#include <algorithm>
#include <charconv>

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
  size_t size = 100;
  if (auto it = call.query.find("size"); it != call.query.end()) {
    auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), size);
    if (ec != std::errc() || end != it->second.data() + it->second.size() || size < 1 || size > 500) {
      return call.Error(ErrorCode::kInvalidQuery, "size must be a whole number from 1 to 500");
    }
  }
  // The token comes in the query, or (as the Partner Center SDK sends it)
  // in an MS-ContinuationToken header.
  std::string continuation = call.query.count("continuation") ? call.query["continuation"] : "";
  if (auto header = call.request.find("MS-ContinuationToken"); continuation.empty() && header != call.request.end()) {
    continuation = std::string(SV(header->value()));
  }
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
    row.domain = sent.domain_prefix + ".onmicrosoft.com";
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
  if (call.path.size() == 5) {  // profiles/billing
    if (call.method() != http::verb::patch) return call.Error(ErrorCode::kMethodNotAllowed, "PATCH only");
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
  if (call.path.size() == 4 && call.method() == http::verb::post) {
    auto body = Body(call);
    if (!body) return;
    auto parsed = OrderFromJson(*body);
    if (!parsed.ok()) return call.Error(parsed.error());
    auto sent = *parsed;
    Run(call, domain::CreateOrder{id, std::move(*parsed)}, [sent](const CommandOutcome& o, const Call& c) {
      json lines = json::array();
      for (size_t i = 0; i < o.subscription_ids.size() && i < sent.size(); ++i) {
        lines.push_back({{"lineItemNumber", i}, {"offerId", sent[i].offer_id}, {"quantity", sent[i].quantity},
                         {"subscriptionId", o.subscription_ids[i]}});
      }
      Response r = c.Make(http::status::created,
                          {{"id", o.order_id}, {"customerId", o.customer_id}, {"lineItems", lines},
                           {"position", o.last_position}});
      r.set(http::field::etag, Etag(o.version));
      r.set(http::field::location, "/v1/customers/" + o.customer_id + "/orders/" + o.order_id);
      return r;
    });
    return;
  }
  if (call.path.size() == 5 && call.method() == http::verb::patch) {  // an add-on line
    auto body = Body(call);
    if (!body) return;
    auto item = AddOnFromJson(*body);
    if (!item.ok()) return call.Error(item.error());
    const auto sent = *item;
    Run(call, domain::AddAddOn{id, call.path[4], std::move(*item)}, [sent](const CommandOutcome& o, const Call& c) {
      json line = {{"offerId", sent.offer_id}, {"quantity", sent.quantity},
                   {"parentSubscriptionId", sent.parent_subscription_id},
                   {"subscriptionId", o.subscription_ids.empty() ? "" : o.subscription_ids[0]}};
      return c.Make(http::status::ok, {{"id", o.order_id}, {"customerId", o.customer_id},
                                       {"lineItems", json::array({line})}, {"position", o.last_position}});
    });
    return;
  }
  if (call.method() == http::verb::get) return AfterReads(call, id, [this, id](Call& call) { ListOrders(call, id); });
  call.Error(ErrorCode::kMethodNotAllowed, "POST, PATCH (add-on) or GET");
}

void Api::ListOrders(Call& call, const std::string& id) {
  if (!VisibleCustomer(call, *ctx_.store, id)) return;
  auto subs = projections::LicenseReader(*ctx_.store).List(id, call.partner.id);
  if (!subs.ok()) return call.Error(subs.error());
  std::map<std::string, json> orders;
  for (const auto& s : *subs) {
    json& order = orders[s.order_id];
    if (order.is_null()) order = {{"id", s.order_id}, {"lineItems", json::array()}};
    json line = {{"offerId", s.offer_id}, {"quantity", s.quantity}, {"subscriptionId", s.id}};
    if (!s.parent_id.empty()) line["parentSubscriptionId"] = s.parent_id;
    order["lineItems"].push_back(line);
  }
  if (call.path.size() == 5) {
    auto it = orders.find(call.path[4]);
    if (it == orders.end()) return call.Error(ErrorCode::kNotFound, "no such order");
    return call.Answer(call.Make(http::status::ok, it->second));
  }
  json items = json::array();
  for (auto& [oid, order] : orders) items.push_back(order);
  return call.Answer(call.Make(http::status::ok, {{"totalCount", items.size()}, {"items", items}}));
}

void Api::Subscriptions(Call& call) {
  const std::string id = call.path[2];
  const auto& p = call.path;
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
      WriteSubscription(w, **sub, *ctx_.catalog);
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
  if (call.method() != http::verb::get) return call.Error(ErrorCode::kMethodNotAllowed, "GET or PATCH");
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
    auto subscription = [this](JsonWriter& w, const projections::SubscriptionRow& s) {
      WriteSubscription(w, s, *ctx_.catalog);
    };
    return call.Answer(call.MakeText(http::status::ok, ItemsText(*subs, subscription)));
  }
  if (p.size() == 5) {
    auto sub = licenses.Get(id, call.partner.id, p[4]);
    if (!sub.ok()) return call.Error(sub.error());
    if (!sub->has_value()) return call.Error(ErrorCode::kSubscriptionNotFound, "no such subscription");
    std::string text;
    JsonWriter w(text);
    WriteSubscription(w, **sub, *ctx_.catalog);
    Response r = call.MakeText(http::status::ok, std::move(text));
    if (auto v = CustomerVersion(id); v.ok()) r.set(http::field::etag, Etag(*v));
    return call.Answer(std::move(r));
  }
  call.Error(ErrorCode::kRouteNotFound, "no such endpoint");
}

void Api::Relationships(Call& call) {
  const std::string id = call.path[2];
  const auto& p = call.path;
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
  if (p[3] == "partners" && p.size() == 4 && call.method() == http::verb::get) {
    return AfterReads(call, id, [this, id](Call& call) { ListPartners(call, id); });
  }
  call.Error(ErrorCode::kMethodNotAllowed, "no such method on this endpoint");
}

void Api::ListPartners(Call& call, const std::string& id) {
  auto rel = projections::RelationshipReader(*ctx_.store).ForCustomer(id);
  if (!rel.ok()) return call.Error(rel.error());
  const bool related = rel->has_value() && std::any_of((*rel)->partners.begin(), (*rel)->partners.end(),
                                                       [&](const auto& l) { return l.partner_id == call.partner.id; });
  if (!related) return call.Error(ErrorCode::kCustomerNotFound, "no such customer");
  json items = json::array();
  for (const auto& l : (*rel)->partners) {
    items.push_back({{"partnerId", l.partner_id}, {"role", l.role}, {"since", projections::FormatUtcTime(l.since_us)}});
  }
  return call.Answer(call.Make(http::status::ok, {{"totalCount", items.size()}, {"items", items}}));
}

}  // namespace tally::server
