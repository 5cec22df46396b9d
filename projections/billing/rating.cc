#include "projections/billing/rating.h"

#include <algorithm>

#include "engine/domain/catalog.h"
#include "engine/domain/terms.h"
#include "projections/row_codec.h"

namespace tally::projections::billing {
namespace {

using domain::kDayMicros;

int64_t DayOf(int64_t us) { return (us >= 0 ? us : us - (kDayMicros - 1)) / kDayMicros * kDayMicros; }

int CycleMonthsOr1(std::string_view cycle) {
  const int m = domain::CycleMonths(cycle);
  return m == 0 ? 1 : m;
}

LineItem Line(const SubscriptionBilling& s, std::string_view type, const Period& p, uint64_t position) {
  LineItem l;
  l.partner_id = s.partner_id;
  l.customer_id = s.customer_id;
  l.subscription_id = s.subscription_id;
  l.offer_id = s.offer_id;
  l.charge_type = type;
  l.charge_start_us = p.start_day_us;
  l.charge_end_us = p.next_day_us - kDayMicros;
  l.unit_price = s.unit_price;
  l.period_days = p.days;
  l.currency = s.currency;
  l.term_duration = s.term_duration;
  l.billing_cycle = s.billing_cycle;
  l.subscription_start_us = DayOf(s.term_start_us);
  l.subscription_end_us = domain::CommitmentEndDay(s.term_start_us, s.term_duration);
  l.position = position;
  return l;
}

// The seat-days charged in period `p` before any change in it: the quantity
// at its start, whole.
void OpenPeriod(SubscriptionBilling& s, const Period& p) {
  if (s.acc_period == p.index) return;
  s.acc_period = p.index;
  s.acc_seat_days = int64_t{s.quantity} * p.days;
}

// Adds `seat_days` (negative: a credit) to the period's count; the line's
// subtotal is what that adds to the period's rounded amount.
void Charge(SubscriptionBilling& s, const Period& p, int64_t quantity, int64_t days, LineItem& l) {
  const int64_t before = Prorate(s.unit_price, s.acc_seat_days, p.days);
  s.acc_seat_days += quantity * days;
  l.quantity = quantity;
  l.days = days;
  l.effective_unit_price = Prorate(s.unit_price, days, p.days);
  l.subtotal = Prorate(s.unit_price, s.acc_seat_days, p.days) - before;
}

// Cycle charges of the periods after `from` with today's quantity.
void WriteCycles(const SubscriptionBilling& s, int from, uint64_t position, Rated& r) {
  const int count = PeriodCount(s.term_duration, s.billing_cycle);
  for (int i = from + 1; i < count; ++i) {
    const Period p = PeriodOf(s, i);
    LineItem l = Line(s, kCycleCharge, p, position);
    l.quantity = s.quantity;
    l.days = p.days;
    l.effective_unit_price = s.unit_price;
    l.subtotal = s.unit_price * s.quantity;
    r.lines.push_back(std::move(l));
  }
}

// Removes `count` seats, newest first, at `at_us` in period `p`: each batch
// still inside its window is credited the days of `p` it had not used.
void RemoveSeats(SubscriptionBilling& s, int32_t count, std::string_view type, const Period& p, int64_t at_us,
                 uint64_t position, Rated& r) {
  while (count > 0 && !s.batches.empty()) {
    Batch& b = s.batches.back();
    const int32_t take = std::min(count, b.quantity);
    const bool added_in_period = b.added_at_us >= p.start_us;
    const int64_t charge_began = added_in_period ? b.added_at_us : p.start_us;
    const int64_t charged = added_in_period ? p.days - (DayOf(b.added_at_us) - p.start_day_us) / kDayMicros : p.days;
    const int64_t used = at_us > charge_began ? (at_us - charge_began) / kDayMicros : 0;
    const int64_t credit = std::clamp<int64_t>(charged - used, 0, p.days);
    if (at_us < b.added_at_us + domain::kWindowMicros && credit > 0) {
      LineItem l = Line(s, type, p, position);
      l.charge_start_us = p.next_day_us - credit * kDayMicros;
      Charge(s, p, -int64_t{take}, credit, l);
      l.seq = static_cast<uint32_t>(r.lines.size());
      r.lines.push_back(std::move(l));
    }
    b.quantity -= take;
    count -= take;
    s.quantity -= take;
    if (b.quantity == 0) s.batches.pop_back();
  }
}

}  // namespace

int PeriodCount(std::string_view term, std::string_view cycle) {
  const int term_months = domain::TermMonths(term);
  return std::max(1, term_months / CycleMonthsOr1(cycle));
}

Period PeriodOf(const SubscriptionBilling& s, int index) {
  const int months = CycleMonthsOr1(s.billing_cycle);
  Period p;
  p.index = index;
  p.start_day_us = index == 0 ? DayOf(s.term_start_us) : domain::AddMonthsDay(s.term_start_us, index * months);
  p.next_day_us = domain::AddMonthsDay(s.term_start_us, (index + 1) * months);
  p.days = (p.next_day_us - p.start_day_us) / kDayMicros;
  p.start_us = index == 0 ? s.term_start_us : p.start_day_us;
  return p;
}

Period PeriodAt(const SubscriptionBilling& s, int64_t at_us) {
  const int count = PeriodCount(s.term_duration, s.billing_cycle);
  for (int i = 0; i < count; ++i) {
    const Period p = PeriodOf(s, i);
    if (at_us < p.next_day_us) return p;
  }
  return PeriodOf(s, count - 1);
}

int64_t Prorate(int64_t unit_price, int64_t seat_days, int64_t days) {
  if (days <= 0) return 0;
  const __int128 num = static_cast<__int128>(unit_price) * seat_days;
  const __int128 whole = num / days, rest = num % days;
  __int128 rounded = whole;
  if (2 * (rest < 0 ? -rest : rest) >= days) rounded += num < 0 ? -1 : 1;
  return static_cast<int64_t>(rounded);
}

Rated StartTerm(SubscriptionBilling& s, std::string_view charge_type, int64_t term_start_us, uint64_t position) {
  Rated r;
  s.term_start_us = term_start_us;
  s.cancelled = false;
  s.batches = {Batch{s.quantity, term_start_us}};
  const Period first = PeriodOf(s, 0);
  s.acc_period = 0;
  s.acc_seat_days = 0;
  LineItem l = Line(s, charge_type, first, position);
  Charge(s, first, s.quantity, first.days, l);
  r.lines.push_back(std::move(l));
  WriteCycles(s, 0, position, r);
  return r;
}

Rated ChangeQuantity(SubscriptionBilling& s, int32_t to, int64_t at_us, uint64_t position) {
  Rated r;
  if (s.cancelled || to == s.quantity) return r;
  const Period p = PeriodAt(s, at_us);
  OpenPeriod(s, p);
  if (to > s.quantity) {
    const int64_t added = to - s.quantity;
    const int64_t day = std::clamp<int64_t>((DayOf(at_us) - p.start_day_us) / kDayMicros, 0, p.days);
    if (day < p.days) {  // else: after the term's last day (its renewal pending): nothing left to charge
      LineItem l = Line(s, kAddQuantity, p, position);
      l.charge_start_us = p.start_day_us + day * kDayMicros;
      Charge(s, p, added, p.days - day, l);
      r.lines.push_back(std::move(l));
    }
    s.batches.push_back(Batch{static_cast<int32_t>(added), at_us});
    s.quantity = to;
  } else {
    RemoveSeats(s, s.quantity - to, kRemoveQuantity, p, at_us, position, r);
  }
  WriteCycles(s, p.index, position, r);
  return r;
}

Rated Cancel(SubscriptionBilling& s, int64_t at_us, uint64_t position) {
  Rated r;
  if (s.cancelled) return r;
  const Period p = PeriodAt(s, at_us);
  OpenPeriod(s, p);
  RemoveSeats(s, s.quantity, kCancelImmediate, p, at_us, position, r);
  s.cancelled = true;
  const int count = PeriodCount(s.term_duration, s.billing_cycle);
  for (int i = p.index + 1; i < count; ++i) r.dropped_cycles.push_back(PeriodOf(s, i).start_day_us);
  return r;
}

std::string LineItem::Encode() const {
  RowWriter w;
  w.Str(partner_id).Str(customer_id).Str(subscription_id).Str(offer_id).Str(charge_type);
  w.I64(charge_start_us).I64(charge_end_us).I64(unit_price).I64(effective_unit_price).I64(quantity);
  w.I64(days).I64(period_days).I64(subtotal).Str(currency).Str(term_duration).Str(billing_cycle);
  w.I64(subscription_start_us).I64(subscription_end_us).U64(position).U64(seq);
  return w.Finish();
}

bool LineItem::Decode(std::string_view bytes, LineItem* l) {
  RowReader r(bytes);
  uint64_t seq = 0;
  r.Str(l->partner_id), r.Str(l->customer_id), r.Str(l->subscription_id), r.Str(l->offer_id),
      r.Str(l->charge_type), r.I64(l->charge_start_us), r.I64(l->charge_end_us), r.I64(l->unit_price),
      r.I64(l->effective_unit_price), r.I64(l->quantity), r.I64(l->days), r.I64(l->period_days),
      r.I64(l->subtotal), r.Str(l->currency), r.Str(l->term_duration), r.Str(l->billing_cycle),
      r.I64(l->subscription_start_us), r.I64(l->subscription_end_us), r.U64(l->position), r.U64(seq);
  l->seq = static_cast<uint32_t>(seq);
  return r.done();
}

std::string SubscriptionBilling::Encode() const {
  RowWriter w;
  w.Str(partner_id).Str(customer_id).Str(subscription_id).Str(offer_id).Str(term_duration).Str(billing_cycle);
  w.Str(currency).I64(unit_price).I64(term_start_us).I64(quantity).Bool(cancelled).I64(acc_period);
  w.I64(acc_seat_days).U64(batches.size());
  for (const Batch& b : batches) w.I64(b.quantity).I64(b.added_at_us);
  return w.Finish();
}

bool SubscriptionBilling::Decode(std::string_view bytes, SubscriptionBilling* s) {
  RowReader r(bytes);
  int64_t acc_period = 0;
  uint64_t n = 0;
  r.Str(s->partner_id), r.Str(s->customer_id), r.Str(s->subscription_id), r.Str(s->offer_id),
      r.Str(s->term_duration), r.Str(s->billing_cycle), r.Str(s->currency), r.I64(s->unit_price),
      r.I64(s->term_start_us), r.I32(s->quantity), r.Bool(s->cancelled), r.I64(acc_period),
      r.I64(s->acc_seat_days), r.Count(n);
  s->acc_period = static_cast<int32_t>(acc_period);
  s->batches.clear();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    int64_t quantity = 0, at = 0;
    r.I64(quantity), r.I64(at);
    if (quantity < 0 || quantity > INT32_MAX) return false;
    s->batches.push_back(Batch{static_cast<int32_t>(quantity), at});
  }
  return r.done();
}

}  // namespace tally::projections::billing
