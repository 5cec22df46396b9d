// Executes domain commands against the event log: loads the customer's
// state (cached, or rebuilt from its stream), decides, appends, and evolves
// the cached state with the appended events.
//
// This is the synchronous form: one append (one fsync) per command. Running
// the same steps inside the group-commit writer's staging thread, so many
// commands share one fsync, is not done yet (README, "Status").
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/domain/decide.h"
#include "engine/event_log.h"

namespace tally {

// What a command's response names. Never holds a secret: it is stored under
// the request id and returned again on a retry.
struct CommandOutcome {
  std::string customer_id;
  std::string order_id;
  std::vector<std::string> subscription_ids;
  std::string invitation_id;
  std::string admin_user_name;
  uint64_t first_position = 0;  // 0 when nothing was appended
  uint64_t last_position = 0;
  uint64_t version = 0;         // the customer's version (etag) after the command
  bool replayed = false;        // a retry of an applied request: nothing appended

  std::string Encode() const;
  static Result<CommandOutcome> Decode(std::string_view bytes);
};

// Thread-compatible: one thread at a time (the writer's). `log`, `catalog`
// and `ids` must outlive the processor.
class CommandProcessor {
 public:
  CommandProcessor(EventLog& log, const domain::Catalog& catalog, domain::Instance instance,
                   domain::IdSource& ids);

  // Request ids are per partner: two partners may send the same
  // MS-RequestId. A retry (same partner, id and command) returns the first
  // outcome; the same id with another command is kRequestIdReused.
  Result<CommandOutcome> Execute(const domain::Command& command, const domain::CommandMeta& meta);

  // The customer's current state (loaded from the log if not cached).
  Result<const domain::CustomerState*> State(const std::string& customer_id);

 private:
  EventLog& log_;
  domain::DecideContext context_;
  std::unordered_map<std::string, domain::CustomerState> cache_;
};

// The customer a command targets ("" for AddCustomer).
const std::string& TargetCustomer(const domain::Command& command);

}  // namespace tally
