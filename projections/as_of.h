// Point-in-time queries for auditors: one customer's state rebuilt from its
// stream up to a moment ("how many E3 licenses did Contoso have on 1 March?").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/domain/customer_state.h"
#include "engine/event_log.h"
#include "events/events_generated.h"

namespace tally::projections {

// Parses "YYYY-MM-DD" (the end of that day, UTC: 23:59:59.999999) or
// "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" into microseconds since the Unix epoch.
Result<int64_t> ParseUtcTime(std::string_view text);
// "YYYY-MM-DDTHH:MM:SS.ffffffZ".
std::string FormatUtcTime(int64_t us);

struct AsOf {
  domain::CustomerState state;  // state.exists is false if the customer did not exist yet
  uint64_t events = 0;          // events of the stream applied
  uint64_t last_position = 0;   // the last applied event's global position
};

// A customer id, or the id of the customer owning a domain
// ("contoso.onmicrosoft.com"; kCustomerNotFound if nobody does).
Result<std::string> ResolveCustomer(const EventLog& log, std::string_view customer);

// Calls `fn` with each event of `customer_id`'s stream recorded until
// `at_us`, in order, stopping at its first error; kCustomerNotFound for a
// customer without events.
Status ForEachEventUntil(const EventLog& log, const std::string& customer_id, int64_t at_us,
                         const std::function<Status(uint64_t position, const events::Envelope& event)>& fn);

// `customer` is a customer id or its domain ("contoso.onmicrosoft.com").
// kCustomerNotFound if no such customer exists now.
Result<AsOf> CustomerAsOf(const EventLog& log, std::string_view customer, int64_t at_us);

// The answer as JSON: profile, partners, subscriptions with their status and
// quantity then, and per partner and offer the totals (as the license
// model's subscribed SKUs).
nlohmann::json AsOfJson(const AsOf& as_of, int64_t at_us);

}  // namespace tally::projections
