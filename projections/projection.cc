#include "projections/projection.h"

#include <rocksdb/db.h>

#include "engine/rocksdb_error.h"

#include "projections/billing/billing.h"
#include "projections/customer/customer.h"
#include "projections/license/license.h"
#include "projections/relationship/relationship.h"

namespace tally::projections {

Result<size_t> Projection::DropCustomers(const std::function<bool(std::string_view)>& drop,
                                         rocksdb::WriteBatch& batch) {
  Discard();
  size_t dropped = 0;
  std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(rocksdb::ReadOptions(), copy_->cf()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const auto customer = CustomerOfRow(it->key().ToStringView(), it->value().ToStringView());
    if (customer && drop(*customer)) {
      const rocksdb::Status s = batch.Delete(copy_->cf(), it->key());
      if (!s.ok()) return FromRocks(s, "staging a row's deletion");
      ++dropped;
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scanning the " + name() + " model");
  return dropped;
}

std::unique_ptr<Projection> MakeProjection(const std::string& model, ProjectionStore& store,
                                           std::shared_ptr<const Copy> copy, const personal::KeyRing* keys) {
  if (model == "customer") return std::make_unique<CustomerProjection>(store, std::move(copy), keys);
  if (model == "license") return std::make_unique<LicenseProjection>(store, std::move(copy));
  if (model == "relationship") return std::make_unique<RelationshipProjection>(store, std::move(copy));
  if (model == "billing") return std::make_unique<BillingProjection>(store, std::move(copy));
  return nullptr;
}

}  // namespace tally::projections
