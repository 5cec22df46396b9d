// The start-up check of an event log against its witnesses: what else
// remembers where the log ended and what it held. The head mark (written
// after every commit: the highest durable position and its chain hash),
// each read model's checkpoint (a model never applies a position the log
// has not made durable), the Kafka topic's last committed positions with
// their event ids. Then the chain from the last position a witness vouches
// for to the head is verified. tallyd runs it before it serves writes;
// tallyctl verify runs it too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/event_log.h"
#include "engine/head_mark.h"

namespace tally {

// A position something outside the log saw, and (when known) the event id
// it saw there.
struct Witness {
  std::string name;  // "read model customer", "kafka topic tally.events partition 3"
  uint64_t position = 0;
  std::string event_id;  // empty: not known
};

struct WitnessReport {
  uint64_t head = 0;
  std::vector<LogDamage> damage;  // empty: the log agrees with every witness
  uint64_t verified_from = 0;     // the chain checked over [verified_from, head] (0: nothing)
  std::string anchor;             // what vouched for verified_from - 1
};

// Checks `log` against `mark` and `witnesses`, then verifies the chain
// from the mark's position (or, with no usable mark, the last
// `tail_without_mark` positions) to the head. Every finding is also
// reported to log.damage(). An error: the log could not be read (I/O).
Result<WitnessReport> CheckAgainstWitnesses(const EventLog& log, const std::optional<HeadMarkEntry>& mark,
                                            const std::vector<Witness>& witnesses,
                                            uint64_t tail_without_mark = 65536);

}  // namespace tally
