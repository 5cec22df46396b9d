#include "projections/license/license.h"

#include <rocksdb/db.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "engine/rocksdb_error.h"
#include "events/codec.h"
#include "projections/row_codec.h"

namespace tally::projections {
namespace {

using events::View;

constexpr size_t kMaxCachedSubscriptions = 200'000;
constexpr size_t kMaxCachedTotals = 100'000;

Error NotApplicable(const events::Envelope& e, std::string_view why) {
  return Error(ErrorCode::kCorruption, "license model: " + std::string(events::EventTypeName(e.payload_type())) +
                                           " for customer " + std::string(View(e.customer_id())) + ": " +
                                           std::string(why));
}

const flatbuffers::String* SubscriptionIdOf(const events::Envelope& e) {
  using events::Payload;
  switch (e.payload_type()) {
    case Payload::SubscriptionQuantityChanged: return e.payload_as_SubscriptionQuantityChanged()->subscription_id();
    case Payload::SubscriptionSuspended: return e.payload_as_SubscriptionSuspended()->subscription_id();
    case Payload::SubscriptionReactivated: return e.payload_as_SubscriptionReactivated()->subscription_id();
    case Payload::SubscriptionCancelled: return e.payload_as_SubscriptionCancelled()->subscription_id();
    case Payload::SubscriptionRenamed: return e.payload_as_SubscriptionRenamed()->subscription_id();
    case Payload::SubscriptionAutoRenewChanged: return e.payload_as_SubscriptionAutoRenewChanged()->subscription_id();
    case Payload::SubscriptionRenewed: return e.payload_as_SubscriptionRenewed()->subscription_id();
    case Payload::SubscriptionExpired: return e.payload_as_SubscriptionExpired()->subscription_id();
    case Payload::SubscriptionDisabled: return e.payload_as_SubscriptionDisabled()->subscription_id();
    case Payload::SubscriptionDeleted: return e.payload_as_SubscriptionDeleted()->subscription_id();
    case Payload::SubscriptionNextTermScheduled: return e.payload_as_SubscriptionNextTermScheduled()->subscription_id();
    case Payload::SubscriptionNextTermCleared: return e.payload_as_SubscriptionNextTermCleared()->subscription_id();
    default: return nullptr;
  }
}

}  // namespace

std::string SubscriptionRow::Encode() const {
  RowWriter w;
  w.Str(id).Str(customer_id).Str(partner_id).Str(order_id).Str(offer_id).Str(friendly_name)
      .I64(quantity).Str(status).Str(parent_id).Str(billing_cycle).Bool(auto_renew)
      .I64(created_us).I64(updated_us).U64(created_position);
  w.Str(term_duration).I64(unit_price).Str(currency).I64(term_start_us).I64(status_since_us);
  w.I64(next_quantity).Str(next_term_duration).Str(next_billing_cycle).U64(seats.size());
  for (const auto& s : seats) w.I64(s.quantity).I64(s.added_at_us);
  w.Str(next_offer_id);
  return w.Finish();
}

bool SubscriptionRow::Decode(std::string_view bytes, SubscriptionRow* row) {
  RowReader r(bytes);
  r.Str(row->id), r.Str(row->customer_id), r.Str(row->partner_id), r.Str(row->order_id),
      r.Str(row->offer_id), r.Str(row->friendly_name), r.I32(row->quantity), r.Str(row->status),
      r.Str(row->parent_id), r.Str(row->billing_cycle), r.Bool(row->auto_renew), r.I64(row->created_us),
      r.I64(row->updated_us);
  // Rows written by older versions end earlier: after updated_us (before
  // created_position was kept) or after created_position (before terms).
  row->created_position = 0;
  row->term_duration.clear();
  row->unit_price = 0;
  row->currency.clear();
  row->term_start_us = 0;
  row->status_since_us = 0;
  row->next_quantity = 0;
  row->next_term_duration.clear();
  row->next_billing_cycle.clear();
  row->next_offer_id.clear();
  row->seats.clear();
  if (r.done()) return true;
  r.U64(row->created_position);
  if (r.done()) return true;
  uint64_t n = 0;
  r.Str(row->term_duration), r.I64(row->unit_price), r.Str(row->currency), r.I64(row->term_start_us),
      r.I64(row->status_since_us), r.I64(row->next_quantity), r.Str(row->next_term_duration),
      r.Str(row->next_billing_cycle), r.Count(n);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    int64_t quantity = 0, at = 0;
    r.I64(quantity), r.I64(at);
    if (quantity < 0 || quantity > INT32_MAX) return false;
    row->seats.push_back(domain::Seats{static_cast<int32_t>(quantity), at});
  }
  if (r.done()) return true;  // written before upgrades
  r.Str(row->next_offer_id);
  return r.done();
}

void TotalsRow::Add(std::string_view offer_id, std::string_view status, int64_t quantity, bool add_on,
                    int sign) {
  if (status != "active" && status != "suspended") return;
  auto it = std::lower_bound(offers.begin(), offers.end(), offer_id,
                             [](const OfferTotals& t, std::string_view id) { return t.offer_id < id; });
  if (it == offers.end() || it->offer_id != offer_id) {
    it = offers.insert(it, OfferTotals{std::string(offer_id)});
  }
  if (status == "active") {
    it->active_units += sign * quantity;
    if (add_on) it->add_on_units += sign * quantity;
  } else {
    it->suspended_units += sign * quantity;
  }
  it->subscriptions += sign;
  if (it->subscriptions == 0 && it->active_units == 0 && it->suspended_units == 0 && it->add_on_units == 0) {
    offers.erase(it);
  }
}

std::string TotalsRow::Encode() const {
  RowWriter w;
  w.U64(offers.size());
  for (const auto& o : offers) {
    w.Str(o.offer_id).I64(o.active_units).I64(o.suspended_units).I64(o.add_on_units).I64(o.subscriptions);
  }
  return w.Finish();
}

bool TotalsRow::Decode(std::string_view bytes, TotalsRow* row) {
  RowReader r(bytes);
  uint64_t n = 0;
  if (!r.Count(n)) return false;
  row->offers.resize(n);
  for (auto& o : row->offers) {
    r.Str(o.offer_id), r.I64(o.active_units), r.I64(o.suspended_units), r.I64(o.add_on_units),
        r.I64(o.subscriptions);
  }
  return r.done();
}

TotalsRow TotalsOf(const domain::CustomerState& state, std::string_view partner_id) {
  TotalsRow totals;
  for (const auto& [id, sub] : state.subscriptions) {
    if (sub.partner_id != partner_id) continue;
    totals.Add(sub.offer_id, StatusName(sub.status), sub.quantity, !sub.parent_id.empty(), +1);
  }
  return totals;
}

namespace {

// A due time in the due list's keys: 16 hex digits, so that key order is
// time order.
std::string DueHex(int64_t due_us) { return KeyHex(due_us, 16); }

}  // namespace

std::optional<std::string> DueKey(const SubscriptionRow& row) {
  const domain::NextStep next = domain::NextLifecycleStep(row.status, row.term_duration, row.term_start_us,
                                                          row.auto_renew, row.status_since_us);
  if (next.step == domain::LifecycleStep::kNone) return std::nullopt;
  std::string key = Key('u', DueHex(next.due_us), row.customer_id);
  key.push_back('\0');
  key.append(row.id);
  return key;
}

Status LicenseProjection::CheckDueList() {
  if (due_list_checked_) return OkStatus();
  due_list_checked_ = true;
  auto marker = store_.Get(*copy_, kDueListKey);
  if (!marker.ok()) return marker.error();
  if (marker->has_value()) return OkStatus();
  std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(rocksdb::ReadOptions(), copy_->cf()));
  it->Seek("s");
  const bool empty = !(it->Valid() && it->key().starts_with("s"));
  if (!it->status().ok()) return FromRocks(it->status(), "looking for subscription rows");
  if (empty) BlindPut(std::string(kDueListKey), "");  // every subscription it will hold enters the due list
  return OkStatus();
}

void LicenseProjection::MoveDue(const std::optional<std::string>& before, const SubscriptionRow& row) {
  std::optional<std::string> after = DueKey(row);
  if (before == after) return;
  if (before) BlindDelete(*before);
  if (after) BlindPut(std::move(*after), "");
}

LicenseProjection::LicenseProjection(ProjectionStore& store, std::shared_ptr<const Copy> copy)
    : Projection(store, std::move(copy)),
      subscriptions_(store, *copy_, kMaxCachedSubscriptions),
      totals_(store, *copy_, kMaxCachedTotals) {}

Status LicenseProjection::Apply(uint64_t position, const events::Envelope& e) {
  using events::Payload;
  TALLY_RETURN_IF_ERROR(CheckDueList());
  const std::string_view customer_id = View(e.customer_id());
  const int64_t at = e.recorded_at_us();
  auto totals_of = [&](const SubscriptionRow& row) -> Result<TotalsRow*> {
    auto t = totals_.Get(ScratchKey('t', customer_id, row.partner_id));
    if (!t.ok()) return t.error();
    (*t)->exists = true;
    totals_.MarkDirty(*t);
    return &(*t)->row;
  };

  if (e.payload_type() == Payload::SubscriptionCreated) {
    const auto* p = e.payload_as_SubscriptionCreated();
    auto* entry = subscriptions_.Fresh(ScratchKey('s', customer_id, View(p->subscription_id())));
    if (entry->exists) return NotApplicable(e, "the subscription exists already");
    SubscriptionRow& row = entry->row;
    row = SubscriptionRow{};
    row.id = View(p->subscription_id());
    row.customer_id = customer_id;
    row.partner_id = View(p->partner_id());
    row.order_id = View(p->order_id());
    row.offer_id = View(p->offer_id());
    row.friendly_name = View(p->friendly_name());
    row.quantity = p->quantity();
    row.parent_id = View(p->parent_subscription_id());
    row.billing_cycle = View(p->billing_cycle());
    row.auto_renew = p->auto_renew();
    row.created_us = row.updated_us = at;
    row.created_position = position;
    row.term_duration = p->term_duration() != nullptr && p->term_duration()->size() > 0 ? View(p->term_duration()) : "P1M";
    row.unit_price = p->unit_price();
    row.currency = View(p->currency());
    row.term_start_us = at;
    row.seats = {{row.quantity, at}};
    entry->exists = true;
    subscriptions_.MarkDirty(entry);
    auto totals = totals_of(row);
    if (!totals.ok()) return totals.error();
    (*totals)->Add(row.offer_id, row.status, row.quantity, !row.parent_id.empty(), +1);
    MoveDue(std::nullopt, row);
    return OkStatus();
  }

  const flatbuffers::String* subscription_id = SubscriptionIdOf(e);
  if (subscription_id == nullptr) return OkStatus();  // not a subscription event
  auto got = subscriptions_.Get(ScratchKey('s', customer_id, View(subscription_id)));
  if (!got.ok()) return got.error();
  auto* entry = *got;
  if (!entry->exists) return NotApplicable(e, "no subscription " + std::string(View(subscription_id)));
  SubscriptionRow& row = entry->row;
  subscriptions_.MarkDirty(entry);
  row.updated_us = at;
  const std::optional<std::string> due_before = DueKey(row);
  const bool counts = e.payload_type() != Payload::SubscriptionRenamed &&
                      e.payload_type() != Payload::SubscriptionAutoRenewChanged;
  TotalsRow* totals = nullptr;
  if (counts) {
    auto t = totals_of(row);
    if (!t.ok()) return t.error();
    totals = *t;
    totals->Add(row.offer_id, row.status, row.quantity, !row.parent_id.empty(), -1);
  }
  switch (e.payload_type()) {
    case Payload::SubscriptionQuantityChanged: {
      const int32_t to = e.payload_as_SubscriptionQuantityChanged()->quantity();
      domain::ChangeSeats(row.seats, row.quantity, to, at);
      row.quantity = to;
      break;
    }
    case Payload::SubscriptionSuspended: row.status = "suspended"; break;
    case Payload::SubscriptionReactivated: row.status = "active"; break;
    case Payload::SubscriptionCancelled: row.status = "deleted"; break;
    case Payload::SubscriptionRenamed:
      row.friendly_name = View(e.payload_as_SubscriptionRenamed()->friendly_name());
      break;
    case Payload::SubscriptionAutoRenewChanged:
      row.auto_renew = e.payload_as_SubscriptionAutoRenewChanged()->auto_renew();
      break;
    case Payload::SubscriptionRenewed: {
      const auto* p = e.payload_as_SubscriptionRenewed();
      row.term_start_us = p->term_start_us();
      row.term_duration = View(p->term_duration());
      row.billing_cycle = View(p->billing_cycle());
      row.unit_price = p->unit_price();
      row.currency = View(p->currency());
      row.quantity = p->quantity();
      row.seats = {domain::Seats{row.quantity, row.term_start_us}};
      if (p->offer_id() != nullptr && p->offer_id()->size() > 0) row.offer_id = View(p->offer_id());  // an upgrade
      row.next_quantity = 0;
      row.next_term_duration.clear();
      row.next_billing_cycle.clear();
      row.next_offer_id.clear();
      break;
    }
    case Payload::SubscriptionNextTermScheduled: {
      const auto* p = e.payload_as_SubscriptionNextTermScheduled();
      row.next_quantity = p->quantity();
      row.next_term_duration = View(p->term_duration());
      row.next_billing_cycle = View(p->billing_cycle());
      row.next_offer_id = View(p->offer_id());
      break;
    }
    case Payload::SubscriptionNextTermCleared:
      row.next_quantity = 0;
      row.next_term_duration.clear();
      row.next_billing_cycle.clear();
      row.next_offer_id.clear();
      break;
    case Payload::SubscriptionExpired:
      row.status = "expired";
      row.status_since_us = e.payload_as_SubscriptionExpired()->at_us();
      break;
    case Payload::SubscriptionDisabled:
      row.status = "disabled";
      row.status_since_us = e.payload_as_SubscriptionDisabled()->at_us();
      row.auto_renew = false;
      break;
    case Payload::SubscriptionDeleted:
      row.status = "deleted";
      row.status_since_us = e.payload_as_SubscriptionDeleted()->at_us();
      break;
    default:
      break;
  }
  if (totals != nullptr) totals->Add(row.offer_id, row.status, row.quantity, !row.parent_id.empty(), +1);
  MoveDue(due_before, row);
  return OkStatus();
}

Result<std::optional<SubscriptionRow>> LicenseReader::Get(std::string_view customer_id,
                                                          std::string_view partner_id,
                                                          std::string_view subscription_id) const {
  auto copy = store_.Active("license");
  auto value = store_.Get(*copy, Key('s', customer_id, subscription_id));
  if (!value.ok()) return value.error();
  if (!value->has_value()) return std::optional<SubscriptionRow>();
  SubscriptionRow row;
  if (!SubscriptionRow::Decode(**value, &row)) return Error(ErrorCode::kCorruption, "malformed subscription row");
  if (row.partner_id != partner_id) return std::optional<SubscriptionRow>();
  return std::optional<SubscriptionRow>(std::move(row));
}

Result<std::vector<SubscriptionRow>> LicenseReader::List(std::string_view customer_id,
                                                         std::string_view partner_id,
                                                         std::string_view parent_id) const {
  std::vector<SubscriptionRow> out;
  const Status scanned = Scan(Key('s', customer_id, ""), [&](const SubscriptionRow& row) {
    if (row.partner_id == partner_id && (parent_id.empty() || row.parent_id == parent_id)) out.push_back(row);
    return true;
  });
  if (!scanned.ok()) return scanned.error();
  return out;
}

Status LicenseReader::ForEach(const std::function<bool(const SubscriptionRow&)>& fn) const {
  return Scan(std::string(1, 's'), fn);
}

Result<bool> LicenseReader::ForEachDue(
    int64_t until_us,
    const std::function<bool(std::string_view, std::string_view, int64_t)>& fn) const {
  auto copy = store_.Active("license");
  auto marker = store_.Get(*copy, kDueListKey);
  if (!marker.ok()) return marker.error();
  if (!marker->has_value()) return false;
  const std::string until = DueHex(until_us);
  std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(rocksdb::ReadOptions(), copy->cf()));
  for (it->Seek("u"); it->Valid() && it->key().starts_with("u"); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    const auto [due, rest] = SplitKey(key);
    if (due.size() != 16) return Error(ErrorCode::kCorruption, "malformed due-list key");
    if (due > until) break;
    if (rest.find('\0') == std::string_view::npos) return Error(ErrorCode::kCorruption, "malformed due-list key");
    int64_t due_us = 0;
    std::from_chars(due.data(), due.data() + due.size(), due_us, 16);
    const std::string_view customer = rest.substr(0, rest.find('\0'));
    const std::string_view subscription = rest.substr(customer.size() + 1);
    if (!fn(customer, subscription, due_us)) break;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the due list");
  return true;
}

Status LicenseReader::Scan(const std::string& prefix, const std::function<bool(const SubscriptionRow&)>& fn) const {
  auto copy = store_.Active("license");
  std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(rocksdb::ReadOptions(), copy->cf()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    SubscriptionRow row;
    if (!SubscriptionRow::Decode(it->value().ToStringView(), &row)) {
      return Error(ErrorCode::kCorruption, "malformed subscription row");
    }
    if (!fn(row)) break;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "listing subscriptions");
  return OkStatus();
}

Result<TotalsRow> LicenseReader::Totals(std::string_view customer_id, std::string_view partner_id) const {
  auto copy = store_.Active("license");
  auto value = store_.Get(*copy, Key('t', customer_id, partner_id));
  if (!value.ok()) return value.error();
  TotalsRow row;
  if (value->has_value() && !TotalsRow::Decode(**value, &row)) {
    return Error(ErrorCode::kCorruption, "malformed totals row");
  }
  return row;
}

}  // namespace tally::projections
