// Decide: the partner-center rules. A pure function of the customer's state,
// a command and the catalog: it returns the events to append, or the typed
// error that rejects the command. No I/O; ids come from an IdSource.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/domain/catalog.h"
#include "engine/domain/commands.h"
#include "engine/domain/customer_state.h"
#include "engine/domain/ids.h"
#include "engine/domain/terms.h"
#include "engine/event_log.h"

namespace tally::domain {

struct DecideContext {
  const Catalog* catalog = nullptr;  // not owned
  Instance instance = Instance::kGlobal;
  IdSource* ids = nullptr;           // not owned
  // The time of the decision (the log's clock): prices in force, and the
  // 168-hour windows.
  int64_t now_us = 0;
};

// A line's term: its own, else its billing cycle's length.
std::string EffectiveTerm(const LineItem& item);

// What a command decided: events for the customer's stream, the version
// they were decided against (the log re-checks it), unique claims, and the
// ids the response names.
struct Decision {
  std::string customer_id;
  std::string stream_id;
  uint64_t expected_version = kNoStream;
  std::vector<UniqueClaim> claims;
  // A new customer's personal-data key, or its destruction (ForgetCustomer).
  std::vector<KeyChange> key_changes;
  std::vector<std::string> events;  // envelopes from events::FinishEnvelope
  std::string order_id;
  std::vector<std::string> subscription_ids;
  std::string invitation_id;
  std::string admin_user_name;
};

// Limits on a command's size.
inline constexpr size_t kMaxLineItems = 50;
inline constexpr size_t kMaxFriendlyName = 128;

// `state` is the customer's current state (empty for AddCustomer). A
// rejection is an error with a domain code (engine/base/error_code.h) and
// no events. A command that changes nothing decides zero events.
Result<Decision> Decide(const CustomerState& state, const Command& command,
                        const CommandMeta& meta, const DecideContext& context);

// "customer-<id>".
std::string CustomerStreamId(const std::string& customer_id);

// "domain/<domain>": the unique key that reserves a customer's domain.
std::string DomainKey(const std::string& domain);

}  // namespace tally::domain
