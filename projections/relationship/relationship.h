// The relationship read model: per customer, its partners (the reseller of
// record, other resellers) and pending invitations with when they were
// made; per partner, its customers and pending invitations.
//
// Rows (in the model's copy; values encoded with row_codec.h):
//   "c" customer             -> CustomerRelationships
//   "p" partner 00 customer  -> PartnerCustomer
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "projections/customer/customer.h"
#include "projections/projection.h"

namespace tally::projections {

struct PartnerLink {
  std::string partner_id;
  std::string role;           // "reseller_of_record" or "reseller"
  std::string invitation_id;  // the accepted invitation; empty for the reseller of record
  int64_t since_us = 0;
  bool operator==(const PartnerLink&) const = default;
};

struct PendingInvitation {
  std::string invitation_id;
  std::string partner_id;
  int64_t requested_us = 0;  // its age is now minus this
  bool operator==(const PendingInvitation&) const = default;
};

struct CustomerRelationships {
  std::string customer_id;
  std::vector<PartnerLink> partners;        // in the order they joined
  std::vector<PendingInvitation> pending;   // in the order they were made

  std::string Encode() const;
  static bool Decode(std::string_view bytes, CustomerRelationships* row);
  bool operator==(const CustomerRelationships&) const = default;
};

// One customer as one partner sees the relationship.
struct PartnerCustomer {
  std::string customer_id;
  std::string state;          // "reseller_of_record", "reseller" or "pending"
  std::string invitation_id;  // empty for the reseller of record
  int64_t since_us = 0;       // joined, or (pending) invited

  std::string Encode() const;
  static bool Decode(std::string_view bytes, PartnerCustomer* row);
  bool operator==(const PartnerCustomer&) const = default;
};

class RelationshipProjection final : public Projection {
 public:
  RelationshipProjection(ProjectionStore& store, std::shared_ptr<const Copy> copy);
  Status Apply(uint64_t position, const events::Envelope& event) override;
  std::optional<std::string_view> CustomerOfRow(std::string_view key, std::string_view value) const override {
    if (key.empty()) return std::nullopt;
    if (key[0] == 'c') return SplitKey(key).first;   // "c" customer
    if (key[0] == 'p') return SplitKey(key).second;  // "p" partner 00 customer
    return std::nullopt;
  }

 private:
  Status FlushRows(rocksdb::WriteBatch& batch) override { return rows_.Flush(batch); }
  void DiscardRows() override { rows_.Clear(); }
  RowCache<CustomerRelationships> rows_;
};

// Queries on the active copy; any thread.
class RelationshipReader {
 public:
  explicit RelationshipReader(const ProjectionStore& store) : store_(store) {}

  Result<std::optional<CustomerRelationships>> ForCustomer(std::string_view customer_id) const;
  // The partner's customers (and pending invitations), in customer id order.
  Result<Page<PartnerCustomer>> ForPartner(std::string_view partner_id, size_t size,
                                           std::string_view continuation) const;

 private:
  const ProjectionStore& store_;
};

}  // namespace tally::projections
