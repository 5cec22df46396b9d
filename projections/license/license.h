// The license read model: every subscription of every customer (with the
// partner that sells it), and per customer and partner, per offer, the
// totals a billing system wants: what Partner Center shows as subscribed
// SKUs.
//
// Rows (in the model's copy; values encoded with row_codec.h):
//   "s" customer 00 subscription -> SubscriptionRow
//   "t" customer 00 partner      -> TotalsRow (offers with units or subscriptions)
//   "u" due 00 customer 00 subscription -> "" (the due list: each subscription
//        with a lifecycle step to come, by when; due as 16 hex digits of
//        microseconds since the epoch, so that key order is time order)
//   FF FF "due-list"             -> "" (the copy's own key, like its checkpoint:
//        it was built with the due list from its first event; copies built
//        before have no due list)
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/domain/customer_state.h"
#include "projections/projection.h"

namespace tally::projections {

struct SubscriptionRow {
  std::string id;
  std::string customer_id;
  std::string partner_id;
  std::string order_id;
  std::string offer_id;
  std::string friendly_name;
  int32_t quantity = 0;
  std::string status = "active";  // "active", "suspended" or "deleted"
  std::string parent_id;          // add-ons only
  std::string billing_cycle;
  bool auto_renew = true;
  int64_t created_us = 0;
  int64_t updated_us = 0;
  // The log position of its SubscriptionCreated: orders the lines of one
  // order as they were bought. 0 in rows written before it was kept (a
  // rebuild fills it in).
  uint64_t created_position = 0;
  // New commerce (empty/0 in rows written before it was kept, until a
  // rebuild): the plan, the price, when the term began, and the seats by
  // when they were added (for refundableQuantity).
  std::string term_duration;
  int64_t unit_price = 0;
  std::string currency;
  int64_t term_start_us = 0;
  std::vector<domain::Seats> seats;  // oldest first
  int64_t status_since_us = 0;       // expired, disabled, deleted by the lifecycle: from when
  // Scheduled changes for the next renewal (next_quantity 0: none).
  int64_t next_quantity = 0;
  std::string next_term_duration, next_billing_cycle;
  std::string next_offer_id;  // an upgrade; empty: the same offer

  std::string Encode() const;
  static bool Decode(std::string_view bytes, SubscriptionRow* row);
  bool operator==(const SubscriptionRow&) const = default;
};

// One offer's totals for one customer and partner. Cancelled subscriptions
// count for nothing.
struct OfferTotals {
  std::string offer_id;
  int64_t active_units = 0;     // units of active subscriptions
  int64_t suspended_units = 0;  // units of suspended subscriptions
  int64_t add_on_units = 0;     // of the active units, those held as add-ons of another subscription
  int64_t subscriptions = 0;    // active or suspended subscriptions
  bool operator==(const OfferTotals&) const = default;
};

struct TotalsRow {
  std::vector<OfferTotals> offers;  // by offer id; offers with nothing left are removed

  // Adds (sign +1) or removes (sign -1) what one subscription contributes.
  void Add(std::string_view offer_id, std::string_view status, int64_t quantity, bool add_on, int sign);
  std::string Encode() const;
  static bool Decode(std::string_view bytes, TotalsRow* row);
  bool operator==(const TotalsRow&) const = default;
};

// The totals of one partner's subscriptions in `state` (for as-of queries,
// and to check the model against the domain's own state).
TotalsRow TotalsOf(const domain::CustomerState& state, std::string_view partner_id);

// Present in a license copy that holds the due list.
inline constexpr std::string_view kDueListKey = "\xff\xff" "due-list";

// The due-list key of `row`'s next lifecycle step; nullopt when none is to
// come (deleted).
std::optional<std::string> DueKey(const SubscriptionRow& row);

class LicenseProjection final : public Projection {
 public:
  LicenseProjection(ProjectionStore& store, std::shared_ptr<const Copy> copy);
  Status Apply(uint64_t position, const events::Envelope& event) override;
  std::optional<std::string_view> CustomerOfRow(std::string_view key, std::string_view value) const override {
    if (key.empty()) return std::nullopt;
    if (key[0] == 'u') {  // "u" due 00 customer 00 subscription
      const std::string_view rest = SplitKey(key).second;
      return rest.substr(0, rest.find('\0'));
    }
    // "s" customer 00 subscription, "t" customer 00 partner
    if (key[0] != 's' && key[0] != 't') return std::nullopt;
    return SplitKey(key).first;
  }

 private:
  Status FlushRows(rocksdb::WriteBatch& batch) override {
    TALLY_RETURN_IF_ERROR(subscriptions_.Flush(batch));
    return totals_.Flush(batch);
  }
  void DiscardRows() override {
    subscriptions_.Clear();
    totals_.Clear();
    due_list_checked_ = false;  // its marker, if any, was discarded too
  }
  // Marks a copy that starts empty as one with a due list (kDueListKey).
  Status CheckDueList();
  // Moves `row`'s entry in the due list from where `before` had it.
  void MoveDue(const std::optional<std::string>& before, const SubscriptionRow& row);
  bool due_list_checked_ = false;
  RowCache<SubscriptionRow> subscriptions_;
  RowCache<TotalsRow> totals_;
};

// Queries on the active copy; any thread. A partner sees only the
// subscriptions it sells.
class LicenseReader {
 public:
  explicit LicenseReader(const ProjectionStore& store) : store_(store) {}

  Result<std::optional<SubscriptionRow>> Get(std::string_view customer_id, std::string_view partner_id,
                                             std::string_view subscription_id) const;
  // The partner's subscriptions of a customer, in subscription id order;
  // with `parent_id` set, only the add-ons of that subscription.
  Result<std::vector<SubscriptionRow>> List(std::string_view customer_id, std::string_view partner_id,
                                            std::string_view parent_id = {}) const;
  // Every subscription of every customer, in key order; `fn` returns false
  // to stop.
  Status ForEach(const std::function<bool(const SubscriptionRow&)>& fn) const;
  // The lifecycle scheduler's pass: every subscription whose next step is
  // due at or before `until_us`, earliest first (the due list), until `fn`
  // returns false. false (and nothing called) when the copy has no due list
  // (built before it existed: a rebuild of the license model makes one).
  Result<bool> ForEachDue(int64_t until_us,
                          const std::function<bool(std::string_view customer_id, std::string_view subscription_id,
                                                   int64_t due_us)>& fn) const;
  // Subscribed SKUs: the partner's totals per offer for a customer.
  Result<TotalsRow> Totals(std::string_view customer_id, std::string_view partner_id) const;

 private:
  // The subscription rows whose keys start with `prefix`, in key order, until fn returns false.
  Status Scan(const std::string& prefix, const std::function<bool(const SubscriptionRow&)>& fn) const;

  const ProjectionStore& store_;
};

}  // namespace tally::projections
