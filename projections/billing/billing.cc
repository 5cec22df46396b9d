#include "projections/billing/billing.h"

#include <rocksdb/db.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "engine/rocksdb_error.h"
#include "events/codec.h"
#include "projections/as_of.h"
#include "projections/row_codec.h"

namespace tally::projections {
namespace {

using events::View;

constexpr size_t kMaxCachedStates = 50'000;

Error NotApplicable(const events::Envelope& e, std::string_view why) {
  return Error(ErrorCode::kCorruption, "billing model: " + std::string(events::EventTypeName(e.payload_type())) +
                                           " for customer " + std::string(View(e.customer_id())) + ": " +
                                           std::string(why));
}

// "l" partner 00 customer 00 subscription 00: one subscription's lines.
std::string SubscriptionPrefix(std::string_view partner, std::string_view customer, std::string_view subscription) {
  std::string k = Key('l', partner, customer);
  k.push_back('\0');
  k.append(subscription);
  k.push_back('\0');
  return k;
}

std::string CycleKey(std::string_view partner, std::string_view customer, std::string_view subscription,
                     int64_t start_day_us) {
  return SubscriptionPrefix(partner, customer, subscription) + KeyHex(start_day_us, 16) + "c";
}

}  // namespace

std::string LineKey(const billing::LineItem& l) {
  if (l.charge_type == billing::kCycleCharge) {
    return CycleKey(l.partner_id, l.customer_id, l.subscription_id, l.charge_start_us);
  }
  return SubscriptionPrefix(l.partner_id, l.customer_id, l.subscription_id) +
         KeyHex(l.charge_start_us, 16) + "e" + KeyHex(static_cast<int64_t>(l.position), 16) + KeyHex(l.seq, 4);
}

BillingProjection::BillingProjection(ProjectionStore& store, std::shared_ptr<const Copy> copy)
    : Projection(store, std::move(copy)), states_(store, *copy_, kMaxCachedStates) {}

std::optional<std::string_view> BillingProjection::CustomerOfRow(std::string_view key, std::string_view) const {
  if (key.empty()) return std::nullopt;
  if (key[0] == 's') return SplitKey(key).first;  // "s" customer 00 subscription
  if (key[0] != 'l') return std::nullopt;
  const std::string_view rest = SplitKey(key).second;  // customer 00 subscription 00 ...
  return rest.substr(0, rest.find('\0'));
}

void BillingProjection::Write(const billing::Rated& rated) {
  for (const billing::LineItem& line : rated.lines) BlindPut(LineKey(line), line.Encode());
}

Status BillingProjection::Apply(uint64_t position, const events::Envelope& e) {
  using events::Payload;
  const std::string_view customer_id = View(e.customer_id());
  const int64_t at = e.recorded_at_us();
  switch (e.payload_type()) {
    case Payload::SubscriptionCreated: {
      const auto* p = e.payload_as_SubscriptionCreated();
      auto* entry = states_.Fresh(ScratchKey('s', customer_id, View(p->subscription_id())));
      if (entry->exists) return NotApplicable(e, "the subscription exists already");
      billing::SubscriptionBilling& s = entry->row;
      s = billing::SubscriptionBilling{};
      s.partner_id = View(p->partner_id());
      s.customer_id = customer_id;
      s.subscription_id = View(p->subscription_id());
      s.offer_id = View(p->offer_id());
      s.term_duration = p->term_duration() != nullptr && p->term_duration()->size() > 0 ? View(p->term_duration()) : "P1M";
      s.billing_cycle = p->billing_cycle() != nullptr && p->billing_cycle()->size() > 0 ? View(p->billing_cycle()) : "monthly";
      s.currency = View(p->currency());
      s.unit_price = p->unit_price();
      s.quantity = p->quantity();
      entry->exists = true;
      states_.MarkDirty(entry);
      Write(billing::StartTerm(s, billing::kNew, at, position));
      return OkStatus();
    }
    case Payload::SubscriptionQuantityChanged:
    case Payload::SubscriptionCancelled:
    case Payload::SubscriptionRenewed:
      break;
    default:
      return OkStatus();  // charges nothing
  }
  const flatbuffers::String* subscription_id =
      e.payload_type() == Payload::SubscriptionQuantityChanged ? e.payload_as_SubscriptionQuantityChanged()->subscription_id()
      : e.payload_type() == Payload::SubscriptionCancelled     ? e.payload_as_SubscriptionCancelled()->subscription_id()
                                                               : e.payload_as_SubscriptionRenewed()->subscription_id();
  auto got = states_.Get(ScratchKey('s', customer_id, View(subscription_id)));
  if (!got.ok()) return got.error();
  auto* entry = *got;
  if (!entry->exists) return NotApplicable(e, "no subscription " + std::string(View(subscription_id)));
  billing::SubscriptionBilling& s = entry->row;
  states_.MarkDirty(entry);
  if (e.payload_type() == Payload::SubscriptionQuantityChanged) {
    Write(billing::ChangeQuantity(s, e.payload_as_SubscriptionQuantityChanged()->quantity(), at, position));
  } else if (e.payload_type() == Payload::SubscriptionCancelled) {
    const billing::Rated rated = billing::Cancel(s, at, position);
    Write(rated);
    for (int64_t start : rated.dropped_cycles) BlindDelete(CycleKey(s.partner_id, s.customer_id, s.subscription_id, start));
  } else {
    const auto* p = e.payload_as_SubscriptionRenewed();
    s.term_duration = View(p->term_duration());
    s.billing_cycle = View(p->billing_cycle());
    s.unit_price = p->unit_price();
    s.currency = View(p->currency());
    s.quantity = p->quantity();
    if (p->offer_id() != nullptr && p->offer_id()->size() > 0) s.offer_id = View(p->offer_id());  // an upgrade
    Write(billing::StartTerm(s, billing::kRenew, p->term_start_us(), position));
  }
  return OkStatus();
}

nlohmann::json MajorUnits(int64_t minor) {
  // Whole units stay integers; cents are exact in a double of this size.
  if (minor % 100 == 0) return minor / 100;
  return static_cast<double>(minor) / 100.0;
}

nlohmann::json LineItemJson(const billing::LineItem& l) {
  // quantity x days / periodDays to six decimals, as Partner Center's
  // billableQuantity is a fraction of seats.
  const int64_t micro = billing::Prorate(l.quantity * 1'000'000, l.days, l.period_days);
  return {{"partnerId", l.partner_id},
          {"customerId", l.customer_id},
          {"subscriptionId", l.subscription_id},
          {"productId", l.offer_id},
          {"chargeType", l.charge_type},
          {"chargeStartDate", FormatUtcTime(l.charge_start_us)},
          {"chargeEndDate", FormatUtcTime(l.charge_end_us)},
          {"unitPrice", MajorUnits(l.unit_price)},
          {"effectiveUnitPrice", MajorUnits(l.effective_unit_price)},
          {"quantity", l.quantity},
          {"billableQuantity", static_cast<double>(micro) / 1e6},
          {"subtotal", MajorUnits(l.subtotal)},
          {"taxTotal", 0},
          {"total", MajorUnits(l.subtotal)},
          {"currency", l.currency},
          {"termAndBillingCycle", l.term_duration + " " + l.billing_cycle},
          {"termDuration", l.term_duration},
          {"billingCycle", l.billing_cycle},
          {"subscriptionStartDate", FormatUtcTime(l.subscription_start_us)},
          {"subscriptionEndDate", FormatUtcTime(l.subscription_end_us)},
          {"days", l.days},
          {"periodDays", l.period_days},
          {"minorUnits", {{"unitPrice", l.unit_price}, {"effectiveUnitPrice", l.effective_unit_price},
                          {"subtotal", l.subtotal}}},
          {"position", l.position},
          {"attributes", {{"objectType", "OneTimeInvoiceLineItem"}}}};
}

Status BillingReader::ForEach(const Filter& filter, std::string_view after,
                              const std::function<bool(std::string_view, const billing::LineItem&)>& fn) const {
  auto copy = store_.Active("billing");
  std::string prefix = Key('l', filter.partner_id, "");
  if (!filter.customer_id.empty()) {
    prefix.append(filter.customer_id);
    prefix.push_back('\0');
  }
  std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(rocksdb::ReadOptions(), copy->cf()));
  if (!after.empty() && after.starts_with(prefix)) {
    it->Seek(rocksdb::Slice(after.data(), after.size()));
    if (it->Valid() && it->key().ToStringView() == after) it->Next();
  } else {
    it->Seek(prefix);
  }
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    billing::LineItem line;
    if (!billing::LineItem::Decode(it->value().ToStringView(), &line)) {
      return Error(ErrorCode::kCorruption, "malformed billing line");
    }
    if (line.charge_start_us < filter.from_us || line.charge_start_us >= filter.to_us) continue;
    if (!fn(it->key().ToStringView(), line)) break;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "listing billing lines");
  return OkStatus();
}

Status BillingReader::ForEachOfCustomer(std::string_view customer_id, int64_t from_us, int64_t to_us,
                                        const std::function<void(const billing::LineItem&)>& fn) const {
  // The customer's subscriptions ("s" rows) say whose lines to read.
  auto copy = store_.Active("billing");
  const std::string prefix = Key('s', customer_id, "");
  std::vector<std::string> partners;
  std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(rocksdb::ReadOptions(), copy->cf()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    billing::SubscriptionBilling s;
    if (!billing::SubscriptionBilling::Decode(it->value().ToStringView(), &s)) {
      return Error(ErrorCode::kCorruption, "malformed billing subscription row");
    }
    if (std::find(partners.begin(), partners.end(), s.partner_id) == partners.end()) partners.push_back(s.partner_id);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "listing billing subscriptions");
  for (const std::string& partner : partners) {
    Filter filter{partner, std::string(customer_id), from_us, to_us};
    TALLY_RETURN_IF_ERROR(ForEach(filter, "", [&](std::string_view, const billing::LineItem& line) {
      fn(line);
      return true;
    }));
  }
  return OkStatus();
}

Result<BillingAsOf> BillingLinesAsOf(const EventLog& log, const std::string& customer_id, int64_t at_us,
                                     const std::string& scratch_dir) {
  struct Scratch {  // removed however this returns
    std::string dir;
    ~Scratch() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } scratch{scratch_dir};
  BillingAsOf out;
  {
    auto store = ProjectionStore::Open(scratch_dir, {"billing"});
    if (!store.ok()) return store.error();
    BillingProjection projection(**store, (*store)->Active("billing"));
    TALLY_RETURN_IF_ERROR(ForEachEventUntil(log, customer_id, at_us, [&](uint64_t position, const events::Envelope& e) {
      out.last_position = position;
      return projection.Apply(position, e);
    }));
    rocksdb::WriteBatch batch;
    TALLY_RETURN_IF_ERROR(projection.Flush(batch));
    const rocksdb::Status written = (*store)->db()->Write(rocksdb::WriteOptions(), &batch);
    if (!written.ok()) return FromRocks(written, "writing the scratch billing copy");
    TALLY_RETURN_IF_ERROR(BillingReader(**store).ForEachOfCustomer(
        customer_id, INT64_MIN, INT64_MAX, [&](const billing::LineItem& l) { out.lines.push_back(l); }));
  }
  return out;
}

}  // namespace tally::projections
