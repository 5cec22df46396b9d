// tallyctl charges: one customer's billing lines (the billing read model)
// for a billing clerk, as a table or CSV.
#include "tools/tallyctl/charges.h"

#include <stdlib.h>

#include <cstdio>
#include <vector>

#include "engine/domain/terms.h"
#include "projections/as_of.h"
#include "projections/billing/billing.h"
#include "projections/store.h"
#include "tools/tallyctl/audit.h"

namespace tally {
namespace {

// Minor units as a decimal of two places ("-16.26").
std::string Money(int64_t minor) {
  const uint64_t abs = minor < 0 ? 0 - static_cast<uint64_t>(minor) : static_cast<uint64_t>(minor);
  char text[32];
  std::snprintf(text, sizeof text, "%s%llu.%02llu", minor < 0 ? "-" : "", static_cast<unsigned long long>(abs / 100),
                static_cast<unsigned long long>(abs % 100));
  return text;
}

std::string Day(int64_t us) { return projections::FormatUtcTime(us).substr(0, 10); }

// A bare date is that whole day; a date-time is that instant.
Result<int64_t> Bound(const std::string& text, bool start) {
  auto at = projections::ParseUtcTime(text);
  if (!at.ok()) return at.error();
  if (text.size() == 10) return start ? *at - domain::kDayMicros + 1 : *at + 1;  // ParseUtcTime: the day's end
  return start ? *at : *at + 1;
}

}  // namespace

int ChargesCmd(const std::string& data, const std::string& customer, const std::string& from, const std::string& to,
               const std::string& as_of, bool csv) {
  auto from_us = Bound(from, true);
  auto to_us = Bound(to, false);
  auto as_of_us = as_of.empty() ? Result<int64_t>(0) : projections::ParseUtcTime(as_of);
  for (const auto* r : {&from_us, &to_us, &as_of_us}) {
    if (!r->ok()) {
      std::fprintf(stderr, "tallyctl charges: %s\n", r->error().ToString().c_str());
      return 2;
    }
  }
  auto log = OpenOrDie(data);
  auto id = projections::ResolveCustomer(*log, customer);
  if (!id.ok()) {
    std::fprintf(stderr, "tallyctl charges: %s\n", id.error().ToString().c_str());
    return 2;
  }
  std::vector<projections::billing::LineItem> lines;
  unsigned long long position = 0;
  if (!as_of.empty()) {
    // The customer's events recorded until then, applied to a scratch copy.
    char scratch[] = "/tmp/tallyctl-charges-XXXXXX";
    if (mkdtemp(scratch) == nullptr) {
      std::fprintf(stderr, "tallyctl charges: cannot make a scratch folder in /tmp\n");
      return 2;
    }
    auto then = projections::BillingLinesAsOf(*log, *id, *as_of_us, scratch);
    if (!then.ok()) {
      std::fprintf(stderr, "tallyctl charges: %s\n", then.error().ToString().c_str());
      return 2;
    }
    for (auto& l : then->lines) {
      if (l.charge_start_us >= *from_us && l.charge_start_us < *to_us) lines.push_back(std::move(l));
    }
    position = then->last_position;
  } else {
    auto store = OpenStoreOrDie(data, /*read_only=*/true);
    auto checkpoint = store->ReadCheckpoint(*store->Active("billing"));
    if (!checkpoint.ok()) {
      std::fprintf(stderr, "tallyctl charges: %s\n", checkpoint.error().ToString().c_str());
      return 2;
    }
    position = checkpoint->position;
    const Status read = projections::BillingReader(*store).ForEachOfCustomer(
        *id, *from_us, *to_us, [&](const projections::billing::LineItem& l) { lines.push_back(l); });
    if (!read.ok()) {
      std::fprintf(stderr, "tallyctl charges: %s\n", read.error().ToString().c_str());
      return 2;
    }
  }
  if (csv) {
    std::printf("partnerId,customerId,subscriptionId,productId,chargeType,chargeStartDate,chargeEndDate,unitPrice,"
                "effectiveUnitPrice,quantity,days,periodDays,subtotal,currency,termDuration,billingCycle,"
                "subscriptionStartDate,subscriptionEndDate,position,asOfPosition\n");
    for (const auto& l : lines) {
      std::printf("%s,%s,%s,%s,%s,%s,%s,%s,%s,%lld,%lld,%lld,%s,%s,%s,%s,%s,%s,%llu,%llu\n", l.partner_id.c_str(),
                  l.customer_id.c_str(), l.subscription_id.c_str(), l.offer_id.c_str(), l.charge_type.c_str(),
                  Day(l.charge_start_us).c_str(), Day(l.charge_end_us).c_str(), Money(l.unit_price).c_str(),
                  Money(l.effective_unit_price).c_str(), static_cast<long long>(l.quantity),
                  static_cast<long long>(l.days), static_cast<long long>(l.period_days), Money(l.subtotal).c_str(),
                  l.currency.c_str(), l.term_duration.c_str(), l.billing_cycle.c_str(),
                  Day(l.subscription_start_us).c_str(), Day(l.subscription_end_us).c_str(),
                  static_cast<unsigned long long>(l.position), position);
    }
    return 0;
  }
  std::printf("charges of customer %s starting %s to %s, as of log position %llu (%s)\n", id->c_str(),
              projections::FormatUtcTime(*from_us).c_str(), projections::FormatUtcTime(*to_us - 1).c_str(), position,
              as_of.empty() ? "the billing model's"
                            : ("its last event recorded by " + projections::FormatUtcTime(*as_of_us)).c_str());
  std::printf("%-36s  %-15s  %-10s  %-10s  %6s  %5s  %10s  %12s  %s\n", "subscription", "charge", "from", "through",
              "seats", "days", "unit", "subtotal", "plan");
  int64_t total = 0;
  for (const auto& l : lines) {
    std::printf("%-36s  %-15s  %-10s  %-10s  %6lld  %2lld/%-2lld  %10s  %12s  %s %s\n", l.subscription_id.c_str(),
                l.charge_type.c_str(), Day(l.charge_start_us).c_str(), Day(l.charge_end_us).c_str(),
                static_cast<long long>(l.quantity), static_cast<long long>(l.days),
                static_cast<long long>(l.period_days), Money(l.unit_price).c_str(), Money(l.subtotal).c_str(),
                l.term_duration.c_str(), l.billing_cycle.c_str());
    total += l.subtotal;
  }
  std::printf("%zu line(s), total %s %s\n", lines.size(), Money(total).c_str(),
              lines.empty() ? "" : lines.front().currency.c_str());
  return 0;
}

}  // namespace tally
