// A real event log (with a manual clock) behind a CommandProcessor, and a
// real projection store with the three read models fed by a runner.
#pragma once

#include <gtest/gtest.h>

#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/clock.h"
#include "projections/projection.h"
#include "projections/runner.h"
#include "tests/engine/domain/domain_fixture.h"

namespace tally::testing {

using Rows = std::vector<std::pair<std::string, std::string>>;

// Every row of a copy, checkpoint included, in key order.
inline Rows DumpRows(const projections::ProjectionStore& store, const projections::Copy& copy) {
  Rows rows;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(rocksdb::ReadOptions(), copy.cf()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) rows.emplace_back(it->key().ToString(), it->value().ToString());
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return rows;
}

class ProjectionFixture : public DomainFixture {
 protected:
  void SetUp() override {
    auto catalog = domain::Catalog::Load(TALLY_OFFERS_JSON);
    ASSERT_TRUE(catalog.ok()) << catalog.error().ToString();
    catalog_ = std::make_unique<domain::Catalog>(std::move(*catalog));
    RocksDbEventLogOptions options;
    options.clock = &clock_;
    auto log = RocksDbEventLog::Open(dir_.Sub("log"), options);
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    log_ = std::move(*log);
    processor_ = std::make_unique<CommandProcessor>(*log_, *catalog_, domain::Instance::kGlobal, ids_);
    source_ = std::make_unique<projections::LogEventSource>(*log_);
    OpenStore();
  }

  void TearDown() override { CloseStore(); }

  void CloseStore() {
    runner_.reset();
    store_.reset();
  }

  void OpenStore(projections::RunnerOptions options = {}) {
    CloseStore();
    auto store = projections::ProjectionStore::Open(dir_.Sub("projections"), projections::ModelNames());
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    store_ = std::move(*store);
    runner_ = std::make_unique<projections::ProjectionRunner>(*source_, *store_, options);
    for (const auto& model : projections::ModelNames()) {
      ASSERT_TRUE(runner_->Add(projections::MakeProjection(model, *store_, store_->Active(model), source_->Keys())).ok());
    }
  }

  void CatchUp() {
    Status s = runner_->CatchUp(UINT64_MAX);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
  }

  Rows Dump(const std::string& model) { return DumpRows(*store_, *store_->Active(model)); }

  ManualClock clock_{1'772'323'200'000'000};  // 2026-03-01T00:00:00Z
  std::unique_ptr<projections::LogEventSource> source_;
  std::unique_ptr<projections::ProjectionStore> store_;
  std::unique_ptr<projections::ProjectionRunner> runner_;
};

}  // namespace tally::testing
