#include "projections/projection.h"

#include "projections/customer/customer.h"
#include "projections/license/license.h"
#include "projections/relationship/relationship.h"

namespace tally::projections {

std::unique_ptr<Projection> MakeProjection(const std::string& model, ProjectionStore& store,
                                           std::shared_ptr<const Copy> copy, const personal::KeyRing* keys) {
  if (model == "customer") return std::make_unique<CustomerProjection>(store, std::move(copy), keys);
  if (model == "license") return std::make_unique<LicenseProjection>(store, std::move(copy));
  if (model == "relationship") return std::make_unique<RelationshipProjection>(store, std::move(copy));
  return nullptr;
}

}  // namespace tally::projections
