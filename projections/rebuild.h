// Blue/green rebuild of read models: a fresh copy of each model is built
// from position 1 beside the live one (queries keep reading the live copy),
// caught up with the log, then made the active copy atomically.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "projections/runner.h"

namespace tally::projections {

struct RebuildOptions {
  // Events per write while building (the fresh copy is written without the
  // WAL and flushed before it becomes active).
  size_t batch_events = 65536;
  // Events folded in the models' memory before their rows are loaded as
  // sorted table files (RunnerOptions::bulk_events); 0 (the default) writes
  // every batch through the memtable. Measured on 5M events (README,
  // Benchmarks): 1M folds make the rebuild 1.3-2x faster but take its peak
  // RSS from ~1 GiB to ~2.4 GiB; folds small enough to stay near 1 GiB are
  // slower than the memtable (each load is one more overlapping table file
  // that every cache miss probes). For offline rebuilds with memory to spare.
  size_t bulk_events = 0;
  // Called after each batch: the position the new copies have reached and
  // the log's head.
  std::function<void(uint64_t position, uint64_t head)> progress;
};

// Rebuilds `models` from `source` into `store`. With `live` (the runner
// serving these models, running or not), the hand-over goes through
// live->Replace so that the live tail never stops for longer than the last
// few events take; without it (a stopped data folder), the new copies are
// activated directly. On failure the new copies are dropped and the live
// ones stay as they were.
Status Rebuild(EventSource& source, ProjectionStore& store, const std::vector<std::string>& models,
               ProjectionRunner* live, const RebuildOptions& options = {});

}  // namespace tally::projections
