// Executes domain commands against the event log: loads the customer's
// state (cached, or rebuilt from its stream), decides, appends, and evolves
// the cached state with the appended events.
//
// Two forms: Execute appends synchronously (one fsync per command: tools,
// tests); Task makes a WriteTask for the GroupCommitWriter, whose staging
// thread decides commands one after another against the cached state and
// lets many of them share one fsync.
#pragma once

#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <atomic>
#include <functional>

#include "engine/domain/decide.h"
#include "engine/event_log.h"
#include "engine/group_commit_writer.h"

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

// Thread-compatible: Execute, State and the tasks' staging steps run on one
// thread at a time (with a writer: its staging thread). `log`, `catalog` and
// `ids` must outlive the processor and its tasks.
class CommandProcessor {
 public:
  using Callback = std::function<void(Result<CommandOutcome>)>;

  // Customers' states kept in memory by default (see max_cached_customers).
  static constexpr size_t kDefaultMaxCachedCustomers = 100'000;

  // `max_cached_customers` bounds the states kept in memory between
  // commands: beyond it the least recently used are dropped and read from
  // the log again when next needed. A state whose latest events are not
  // durable yet, or whose command is being decided, is kept until they are.
  CommandProcessor(EventLog& log, const domain::Catalog& catalog, domain::Instance instance,
                   domain::IdSource& ids, size_t max_cached_customers = kDefaultMaxCachedCustomers);

  // Request ids are per partner: two partners may send the same
  // MS-RequestId. A retry (same partner, id and command) returns the first
  // outcome; the same id with another command is kRequestIdReused.
  Result<CommandOutcome> Execute(const domain::Command& command, const domain::CommandMeta& meta);

  // A task for GroupCommitWriter::Submit; `done` runs on the writer's
  // commit thread once the command is durable or rejected.
  std::unique_ptr<WriteTask> Task(domain::Command command, domain::CommandMeta meta, Callback done);

  // CheckDomainAvailability: whether "<prefix>.onmicrosoft.com" (any case)
  // is free, from the log's unique index (durable claims only). A malformed
  // domain is kInvalidDomainPrefix. Any thread (reads only the log).
  Result<bool> IsDomainAvailable(std::string_view domain) const;

  // The customer's current state (loaded from the log if not cached). The
  // pointer is valid until the next command or State call.
  Result<const domain::CustomerState*> State(const std::string& customer_id);

  // States in memory now (at most max_cached_customers, plus those kept
  // because their events are not durable yet), and states read from the
  // log since start (cache misses). Any thread.
  size_t cached_customers() const { return cached_.load(std::memory_order_relaxed); }
  uint64_t customers_loaded() const { return loaded_.load(std::memory_order_relaxed); }

 private:
  friend class CommandTask;
  // A decided command: either finished already (`early`: a replay or a
  // change that changes nothing) or a request to append.
  struct Decided {
    std::optional<CommandOutcome> early;
    AppendRequest request;
    CommandOutcome outcome;
    std::string customer_id;
    bool new_customer = false;  // the command creates the customer
  };
  // `fingerprint`: Fingerprint(command, meta), needed only with a request
  // id (tasks compute it on the submitting thread, off the staging thread).
  Result<Decided> DecideCommand(const domain::Command& command, const domain::CommandMeta& meta,
                                const std::string& fingerprint);
  // After staging (or appending): map log errors, decode replays, evolve
  // the cache with `request`'s stamped events (the request as the log
  // staged it: decided.request itself, or what it was moved into).
  Result<CommandOutcome> AfterAppend(Decided& decided, const AppendRequest& request,
                                     const Result<AppendOutcome>& appended);

  // A cached state and what keeps it from being dropped.
  struct Cached {
    domain::CustomerState state;
    uint64_t staged_to = 0;  // last position appended for it here (0: none since loaded)
    uint32_t deciding = 0;   // decided commands not yet through AfterAppend
    std::list<std::string>::iterator lru;
  };
  Cached* Find(const std::string& customer_id);
  Cached& Insert(const std::string& customer_id, domain::CustomerState state);
  // Drops least recently used states beyond max_cached_, never the most
  // recent one, one with a command being decided, or one whose events the
  // log has not made durable (reading it back would miss them).
  void DropOverflow();
  void DropAll();

  EventLog& log_;
  domain::DecideContext context_;
  const size_t max_cached_;
  std::unordered_map<std::string, Cached> cache_;
  std::list<std::string> lru_;  // customer ids, most recently used first
  std::atomic<size_t> cached_{0};    // cache_.size(), for other threads
  std::atomic<uint64_t> loaded_{0};
  // Set by a failed commit (commit thread): the cache may hold states that
  // never became durable; it is dropped before the next decision.
  std::atomic<bool> cache_poisoned_{false};
};

// The customer a command targets ("" for AddCustomer).
const std::string& TargetCustomer(const domain::Command& command);

}  // namespace tally
