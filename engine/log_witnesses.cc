#include "engine/log_witnesses.h"

#include <algorithm>

#include "engine/chain_verifier.h"
#include "events/codec.h"

namespace tally {

Result<WitnessReport> CheckAgainstWitnesses(const EventLog& log, const std::optional<HeadMarkEntry>& mark,
                                            const std::vector<Witness>& witnesses, uint64_t tail_without_mark) {
  WitnessReport report;
  const uint64_t head = log.Head();
  report.head = head;
  auto found = [&](LogDamage d) {
    log.damage().Report(d);
    report.damage.push_back(std::move(d));
  };
  const std::string ends = "the log ends at " + std::to_string(head);
  // 1. Where the log ended, and what it held there, as the writer recorded.
  uint64_t anchor = 0;  // the last position vouched for
  if (mark && mark->position > head) {
    found({head + 1, mark->position, "head mark",
           "missing: positions up to " + std::to_string(mark->position) + " were made durable, but " + ends});
  } else if (mark && mark->position > 0) {
    auto stored = log.HashAt(mark->position);
    if (!stored.ok() && stored.error().code() != ErrorCode::kNotFound &&
        stored.error().code() != ErrorCode::kCorruption) {
      return stored.error();
    }
    if (!stored.ok()) {
      found({mark->position, mark->position, "head mark", "cannot be read: " + stored.error().message()});
    } else if (*stored != mark->hash) {
      found({mark->position, mark->position, "head mark",
             "differs: its chain hash " + ToHex(*stored) + " is not the " + ToHex(mark->hash) +
                 " recorded when it was written"});
    } else {
      anchor = mark->position;
      report.anchor = "head mark";
    }
  }
  // 2. Positions others applied or published.
  for (const Witness& w : witnesses) {
    if (w.position > head) {
      found({head + 1, w.position, w.name, "missing: it holds position " + std::to_string(w.position) + " but " + ends});
      continue;
    }
    if (w.event_id.empty() || w.position == 0) continue;
    auto stored = log.Read(w.position, 1);  // a chain-checked read
    if (!stored.ok()) {
      if (stored.error().code() != ErrorCode::kLogDamaged) return stored.error();
      found({w.position, w.position, w.name, "cannot be read: " + stored.error().message()});
      continue;
    }
    if (stored->empty()) continue;
    auto env = events::VerifyEnvelope(stored->front().envelope);
    const std::string id = env.ok() ? std::string(events::View((*env)->event_id())) : "(not an envelope)";
    if (id != w.event_id) {
      found({w.position, w.position, w.name, "differs: it holds event " + w.event_id + ", the log " + id});
    }
  }
  // 3. The chain from the last vouched-for position to the head.
  if (head == 0) report.anchor = "an empty log";
  if (head > 0) {
    const uint64_t from = anchor > 0 ? std::min(anchor + 1, head) : (head > tail_without_mark ? head - tail_without_mark + 1 : 1);
    if (report.anchor.empty()) report.anchor = from == 1 ? "the log's start" : "no witness (the last positions only)";
    auto verified = VerifyChain(log, from, head);
    if (!verified.ok()) return verified.error();
    report.verified_from = from;
    if (!verified->ok()) found({verified->first_bad, verified->first_bad, "chain", verified->reason});
  }
  return report;
}

}  // namespace tally
