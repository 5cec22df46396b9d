// Every row of a read model's active copy, for comparing models in tests.
#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "projections/store.h"

namespace tally::testing {

using Rows = std::vector<std::pair<std::string, std::string>>;

// Keys starting with `skip_prefix` (when not empty) are left out.
inline Rows DumpActive(const projections::ProjectionStore& store, const std::string& model,
                       const std::string& skip_prefix = "") {
  Rows rows;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(rocksdb::ReadOptions(), store.Active(model)->cf()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!skip_prefix.empty() && it->key().starts_with(skip_prefix)) continue;
    rows.emplace_back(it->key().ToString(), it->value().ToString());
  }
  return rows;
}

}  // namespace tally::testing
