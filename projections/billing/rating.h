// Rating: what a subscription's events charge, in the shape of Partner
// Center's new-commerce unbilled reconciliation line items. Pure functions
// of a subscription's billing state and one event; the billing read model
// (billing.h) stores what they produce, and events/TOPIC.md ("Billing from
// the topic") states the same rules for consumers in other languages.
//
// The rules, in integer minor units of the subscription's currency:
// - A term is cut into billing periods by its billing cycle (a P1Y term
//   billed monthly has 12), each beginning on the term's start date plus a
//   whole number of cycles (the month's last day where that day does not
//   exist); a period's days are the days from its start to the next one's.
// - The first period of a term is charged whole at the purchase (`new`) or
//   the renewal (`renew`): unit price x quantity. Each later period is a
//   `cycleCharge` of unit price x the quantity at its start; those of the
//   current term are written ahead, dated, and rewritten when the quantity
//   changes (a reader shows the ones that have begun).
// - Seats added on day d of a period of N days (d = 0 on its first day) are
//   charged for N - d days (`addQuantity`).
// - Seats removed inside their 168-hour window (`removeQuantity`), and
//   every seat still inside its window at a cancellation (`cancelImmediate`),
//   are credited the days of the current period not used: the days charged
//   for them in it minus the whole 24-hour days since their charge in it
//   began (the purchase or increase that added them, or the period's start).
//   So a cancellation at hour 23 is a full credit, at day 6 a credit of all
//   but 6 days. Seats outside their window are not credited; a cancellation
//   drops the cycle charges still to come.
// - Daily proration and rounding: per subscription and period, the seat-days
//   charged so far S (net of credits) stand for unit price x S / N, rounded
//   half away from zero to the minor unit; a line's subtotal is what it adds
//   to that rounded amount. So a period's lines sum to its exact amount
//   rounded once, whatever the number of changes. `effectiveUnitPrice` is
//   unit price x days / N rounded the same way (informational; the subtotal
//   is not computed from it).
// - Suspension does not stop billing; expiry, disabling and deletion come
//   after the term's last period and charge nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tally::projections::billing {

inline constexpr std::string_view kNew = "new";
inline constexpr std::string_view kAddQuantity = "addQuantity";
inline constexpr std::string_view kRemoveQuantity = "removeQuantity";
inline constexpr std::string_view kCancelImmediate = "cancelImmediate";
inline constexpr std::string_view kRenew = "renew";
inline constexpr std::string_view kCycleCharge = "cycleCharge";

struct LineItem {
  std::string partner_id;
  std::string customer_id;
  std::string subscription_id;
  std::string offer_id;
  std::string charge_type;
  int64_t charge_start_us = 0;  // 00:00 UTC of the first day charged or credited
  int64_t charge_end_us = 0;    // 00:00 UTC of the last such day (inclusive)
  int64_t unit_price = 0;       // per seat per billing period
  int64_t effective_unit_price = 0;
  int64_t quantity = 0;         // seats; negative for a credit
  int64_t days = 0;             // days charged (or credited) of the period
  int64_t period_days = 0;
  int64_t subtotal = 0;         // negative for a credit
  std::string currency;
  std::string term_duration;    // "P1Y"
  std::string billing_cycle;    // "monthly"
  int64_t subscription_start_us = 0;  // the term's first day, 00:00 UTC
  int64_t subscription_end_us = 0;    // the term's last day, 00:00 UTC
  uint64_t position = 0;        // the event it came from
  uint32_t seq = 0;             // its place among that event's lines

  std::string Encode() const;
  static bool Decode(std::string_view bytes, LineItem* line);
  bool operator==(const LineItem&) const = default;
};

// Seats added at one moment, and so credited by one rule.
struct Batch {
  int32_t quantity = 0;
  int64_t added_at_us = 0;
  bool operator==(const Batch&) const = default;
};

// What rating needs to remember of one subscription.
struct SubscriptionBilling {
  std::string partner_id;
  std::string customer_id;
  std::string subscription_id;
  std::string offer_id;
  std::string term_duration;
  std::string billing_cycle;
  std::string currency;
  int64_t unit_price = 0;
  int64_t term_start_us = 0;  // the instant the term began
  int32_t quantity = 0;
  bool cancelled = false;
  std::vector<Batch> batches;  // oldest first; they sum to quantity
  int32_t acc_period = -1;     // the period acc_seat_days counts
  int64_t acc_seat_days = 0;   // seat-days charged in it so far, net of credits

  std::string Encode() const;
  static bool Decode(std::string_view bytes, SubscriptionBilling* row);
  bool operator==(const SubscriptionBilling&) const = default;
};

// One billing period of a term.
struct Period {
  int index = 0;
  int64_t start_day_us = 0;  // 00:00 UTC of its first day
  int64_t next_day_us = 0;   // 00:00 UTC of the next period's first day
  int64_t days = 0;
  int64_t start_us = 0;      // when its charge begins: the term's start instant for the first, else start_day_us
};

// The number of periods of a term billed on `cycle` (at least 1).
int PeriodCount(std::string_view term, std::string_view cycle);
Period PeriodOf(const SubscriptionBilling& s, int index);
// The period in which `at_us` falls (the first before the term, the last after it).
Period PeriodAt(const SubscriptionBilling& s, int64_t at_us);

// unit x seat_days / days, rounded half away from zero.
int64_t Prorate(int64_t unit_price, int64_t seat_days, int64_t days);

// What one event does to a subscription's lines: lines to write (new ones,
// and cycle charges rewritten), and cycle charges to delete (by their
// period's start day).
struct Rated {
  std::vector<LineItem> lines;
  std::vector<int64_t> dropped_cycles;
};

// `s` holds partner, customer, subscription, offer, term, cycle, currency,
// unit price and quantity; its term begins at `term_start_us`. Charges the
// first period (`new` or `renew`) and writes the term's cycle charges.
Rated StartTerm(SubscriptionBilling& s, std::string_view charge_type, int64_t term_start_us, uint64_t position);
// The quantity changed to `to` at `at_us`.
Rated ChangeQuantity(SubscriptionBilling& s, int32_t to, int64_t at_us, uint64_t position);
// Cancelled at `at_us`.
Rated Cancel(SubscriptionBilling& s, int64_t at_us, uint64_t position);

}  // namespace tally::projections::billing
