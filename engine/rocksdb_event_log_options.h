// The RocksDB settings of an event log folder: its database options and its
// column families (names and options) in the order the log opens them.
// Shared by RocksDbEventLog and by tally-bench's same-entries baseline, so
// that the baseline writes through the same storage settings.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <cstddef>
#include <vector>

namespace tally {

struct EventLogStorageOptions {
  rocksdb::DBOptions db;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
};

// Opening flags (create_if_missing, ...) are left to the caller.
EventLogStorageOptions MakeEventLogStorageOptions(size_t block_cache_bytes);

}  // namespace tally
