// How many HTTP connections tallyd may hold: each one is a file descriptor,
// and the event log, the read models (RocksDB keeps its table files open),
// Kafka's sockets and the control socket need theirs too.
#pragma once

#include <cstddef>
#include <string>

namespace tally {

struct ConnectionBudget {
  size_t max_connections = 0;
  std::string note;  // one line for the start-up output
};

// Raises the soft RLIMIT_NOFILE to the hard limit, then returns at most
// `requested` connections, keeping `reserve` descriptors beyond those open
// now for the log, the read models and Kafka (at least 16 connections; the
// note then asks for a higher limit). Call once the stores are open.
ConnectionBudget BudgetConnections(size_t requested, size_t reserve = 256);

}  // namespace tally
