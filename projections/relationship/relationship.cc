#include "projections/relationship/relationship.h"

#include <rocksdb/db.h>

#include <algorithm>

#include "engine/rocksdb_error.h"
#include "events/codec.h"
#include "projections/row_codec.h"

namespace tally::projections {
namespace {

using events::View;

constexpr size_t kMaxCachedRows = 100'000;

Error NotApplicable(const events::Envelope& e, std::string_view why) {
  return Error(ErrorCode::kCorruption, "relationship model: " +
                                           std::string(events::EventTypeName(e.payload_type())) +
                                           " for customer " + std::string(View(e.customer_id())) + ": " +
                                           std::string(why));
}

}  // namespace

std::string CustomerRelationships::Encode() const {
  RowWriter w;
  w.Str(customer_id).U64(partners.size());
  for (const auto& p : partners) w.Str(p.partner_id).Str(p.role).Str(p.invitation_id).I64(p.since_us);
  w.U64(pending.size());
  for (const auto& i : pending) w.Str(i.invitation_id).Str(i.partner_id).I64(i.requested_us);
  return w.Finish();
}

bool CustomerRelationships::Decode(std::string_view bytes, CustomerRelationships* row) {
  RowReader r(bytes);
  uint64_t n = 0;
  r.Str(row->customer_id);
  if (!r.Count(n)) return false;
  row->partners.resize(n);
  for (auto& p : row->partners) r.Str(p.partner_id), r.Str(p.role), r.Str(p.invitation_id), r.I64(p.since_us);
  if (!r.Count(n)) return false;
  row->pending.resize(n);
  for (auto& i : row->pending) r.Str(i.invitation_id), r.Str(i.partner_id), r.I64(i.requested_us);
  return r.done();
}

std::string PartnerCustomer::Encode() const {
  return RowWriter().Str(customer_id).Str(state).Str(invitation_id).I64(since_us).Finish();
}

bool PartnerCustomer::Decode(std::string_view bytes, PartnerCustomer* row) {
  RowReader r(bytes);
  r.Str(row->customer_id), r.Str(row->state), r.Str(row->invitation_id), r.I64(row->since_us);
  return r.done();
}

RelationshipProjection::RelationshipProjection(ProjectionStore& store, std::shared_ptr<const Copy> copy)
    : Projection(store, std::move(copy)), rows_(store, *copy_, kMaxCachedRows) {}

Status RelationshipProjection::Apply(uint64_t /*position*/, const events::Envelope& e) {
  using events::Payload;
  const std::string_view customer_id = View(e.customer_id());
  const int64_t at = e.recorded_at_us();
  RowCache<CustomerRelationships>::Entry* entry = nullptr;
  switch (e.payload_type()) {
    case Payload::CustomerCreated:
      entry = rows_.Fresh(ScratchKey('c', customer_id));
      if (entry->exists) return NotApplicable(e, "the customer exists already");
      entry->row = CustomerRelationships{std::string(customer_id), {}, {}};
      entry->exists = true;
      rows_.MarkDirty(entry);
      return OkStatus();
    case Payload::RelationshipEstablished:
    case Payload::RelationshipRequested:
    case Payload::RelationshipAccepted:
    case Payload::RelationshipRemoved: {
      auto got = rows_.Get(ScratchKey('c', customer_id));
      if (!got.ok()) return got.error();
      entry = *got;
      if (!entry->exists) return NotApplicable(e, "no such customer in the model");
      rows_.MarkDirty(entry);
      break;
    }
    default:
      return OkStatus();
  }
  CustomerRelationships& row = entry->row;
  auto join = [&](std::string_view partner_id, std::string_view invitation_id) {
    std::erase_if(row.partners, [&](const PartnerLink& p) { return p.partner_id == partner_id; });
    PartnerLink link{std::string(partner_id), invitation_id.empty() ? "reseller_of_record" : "reseller",
                     std::string(invitation_id), at};
    BlindPut(Key('p', partner_id, customer_id),
             PartnerCustomer{std::string(customer_id), link.role, link.invitation_id, at}.Encode());
    row.partners.push_back(std::move(link));
  };
  switch (e.payload_type()) {
    case Payload::RelationshipEstablished: {
      const auto* p = e.payload_as_RelationshipEstablished();
      join(View(p->partner_id()), View(p->invitation_id()));
      break;
    }
    case Payload::RelationshipRequested: {
      const auto* p = e.payload_as_RelationshipRequested();
      row.pending.push_back({std::string(View(p->invitation_id())), std::string(View(p->partner_id())), at});
      BlindPut(Key('p', View(p->partner_id()), customer_id),
               PartnerCustomer{std::string(customer_id), "pending", std::string(View(p->invitation_id())), at}.Encode());
      break;
    }
    case Payload::RelationshipAccepted: {
      const auto* p = e.payload_as_RelationshipAccepted();
      const std::string_view invitation = View(p->invitation_id());
      const size_t before = row.pending.size();
      std::erase_if(row.pending, [&](const PendingInvitation& i) { return i.invitation_id == invitation; });
      if (row.pending.size() == before) return NotApplicable(e, "no pending invitation " + std::string(invitation));
      join(View(p->partner_id()), invitation);
      break;
    }
    case Payload::RelationshipRemoved: {
      const std::string_view partner_id = View(e.payload_as_RelationshipRemoved()->partner_id());
      std::erase_if(row.partners, [&](const PartnerLink& p) { return p.partner_id == partner_id; });
      BlindDelete(Key('p', partner_id, customer_id));
      break;
    }
    default:
      break;
  }
  return OkStatus();
}

Result<std::optional<CustomerRelationships>> RelationshipReader::ForCustomer(std::string_view customer_id) const {
  auto copy = store_.Active("relationship");
  auto value = store_.Get(*copy, Key('c', customer_id));
  if (!value.ok()) return value.error();
  if (!value->has_value()) return std::optional<CustomerRelationships>();
  CustomerRelationships row;
  if (!CustomerRelationships::Decode(**value, &row)) {
    return Error(ErrorCode::kCorruption, "malformed relationship row");
  }
  return std::optional<CustomerRelationships>(std::move(row));
}

Result<Page<PartnerCustomer>> RelationshipReader::ForPartner(std::string_view partner_id, size_t size,
                                                            std::string_view continuation) const {
  auto copy = store_.Active("relationship");
  const std::string prefix = Key('p', partner_id, "");
  std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(rocksdb::ReadOptions(), copy->cf()));
  Page<PartnerCustomer> page;
  const std::string after = prefix + std::string(continuation);
  it->Seek(continuation.empty() ? prefix : after);
  if (!continuation.empty() && it->Valid() && it->key().ToStringView() == after) it->Next();
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (page.items.size() == size) {
      page.continuation = page.items.back().customer_id;
      break;
    }
    PartnerCustomer row;
    if (!PartnerCustomer::Decode(it->value().ToStringView(), &row)) {
      return Error(ErrorCode::kCorruption, "malformed partner relationship row");
    }
    page.items.push_back(std::move(row));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "listing a partner's customers");
  return page;
}

}  // namespace tally::projections
