// The billing read model: what each partner is charged for each
// subscription it sells, as rated line items (rating.h has the rules),
// computed from the events alone.
//
// Rows (in the model's copy; values encoded with row_codec.h):
//   "s" customer 00 subscription -> SubscriptionBilling (what rating
//        remembers between events)
//   "l" partner 00 customer 00 subscription 00 start "c"
//        -> LineItem: the cycle charge of the period starting on `start`
//           (16 hex digits of microseconds since the epoch), rewritten when
//           the quantity changes, deleted by a cancellation
//   "l" partner 00 customer 00 subscription 00 start "e" position seq
//        -> LineItem: a charge or credit of the event at `position` (16 hex
//           digits) and its place among that event's lines (4 hex digits)
// So one partner's lines are one key range, and within a subscription they
// are in the order of the days they charge.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/event_log.h"
#include "projections/billing/rating.h"
#include "projections/projection.h"

namespace tally::projections {

class BillingProjection final : public Projection {
 public:
  BillingProjection(ProjectionStore& store, std::shared_ptr<const Copy> copy);
  Status Apply(uint64_t position, const events::Envelope& event) override;
  std::optional<std::string_view> CustomerOfRow(std::string_view key, std::string_view value) const override;

 private:
  Status FlushRows(rocksdb::WriteBatch& batch) override { return states_.Flush(batch); }
  void DiscardRows() override { states_.Clear(); }
  // Lines are written blind (never read back while applying): the last
  // write of a key in a batch wins.
  void Write(const billing::Rated& rated);
  RowCache<billing::SubscriptionBilling> states_;
};

// The key of a line (see the rows above).
std::string LineKey(const billing::LineItem& line);

// An amount in minor units as the API writes money: major units, a number
// (600 -> 6, 929 -> 9.29), as Partner Center does; exact for currencies of
// two decimals.
nlohmann::json MajorUnits(int64_t minor);

// A line as Partner Center's unbilled reconciliation line item
// (objectType OneTimeInvoiceLineItem): amounts in major units, and the
// same in minor units under `minorUnits`; dates as the first and last day
// (00:00 UTC); `days`/`periodDays` and `position` are tally's own.
nlohmann::json LineItemJson(const billing::LineItem& line);

// Queries on the active copy; any thread.
class BillingReader {
 public:
  explicit BillingReader(const ProjectionStore& store) : store_(store) {}

  struct Filter {
    std::string partner_id;   // required
    std::string customer_id;  // empty: every customer of the partner
    int64_t from_us = INT64_MIN;  // lines whose charge starts in [from_us, to_us)
    int64_t to_us = INT64_MAX;
  };
  // The lines `filter` selects, in key order (customer, subscription, day),
  // starting after the line whose key is `after` (a previous page's last),
  // until `fn` returns false.
  Status ForEach(const Filter& filter, std::string_view after,
                 const std::function<bool(std::string_view key, const billing::LineItem&)>& fn) const;
  // Every partner's lines for one customer whose charge starts in
  // [from_us, to_us), subscription by subscription.
  Status ForEachOfCustomer(std::string_view customer_id, int64_t from_us, int64_t to_us,
                           const std::function<void(const billing::LineItem&)>& fn) const;

 private:
  const ProjectionStore& store_;
};

// As of a moment, for auditors: the lines the billing model held for
// `customer_id` once the customer's events recorded until `at_us` were
// applied (the same projection, on a scratch copy made in `scratch_dir`,
// an empty or missing folder, removed after), in key order; and the
// position of the last event applied.
struct BillingAsOf {
  std::vector<billing::LineItem> lines;
  uint64_t last_position = 0;
};
Result<BillingAsOf> BillingLinesAsOf(const EventLog& log, const std::string& customer_id, int64_t at_us,
                                     const std::string& scratch_dir);

}  // namespace tally::projections
