// Decide for relationships: a partner asks to serve a customer, the
// customer's side accepts, a partner (or the customer) ends one.
#include "engine/domain/decide_parts.h"

namespace tally::domain::decide {

Result<Decision> DecideRequestRelationship(const CustomerState& s, const RequestRelationship& c,
                                           const CommandMeta& meta, const DecideContext& ctx) {
  if (ctx.instance == Instance::kUsGov) {
    return E(ErrorCode::kMultipartnerNotAvailable,
             "relationship requests are not available in the usgov instance");
  }
  if (!s.exists) return E(ErrorCode::kCustomerNotFound, "customer '" + c.customer_id + "' not found");
  if (s.partners.count(meta.partner_id)) {
    return E(ErrorCode::kRelationshipExists, "this partner already serves the customer");
  }
  for (const auto& [id, inv] : s.invitations) {
    if (inv.partner_id == meta.partner_id) {
      Decision d = Start(s);  // asking again returns the pending invitation
      d.invitation_id = id;
      return d;
    }
  }
  Decision d = Start(s);
  d.invitation_id = ctx.ids->NewId();
  EventWriter w(meta, s.customer_id, *ctx.ids);
  w.Add(ev::Payload::RelationshipRequested, [&](Fbb& fbb) {
    return ev::CreateRelationshipRequestedDirect(fbb, d.invitation_id.c_str(), meta.partner_id.c_str()).Union();
  });
  d.events = w.Take();
  return d;
}

Result<Decision> DecideAcceptRelationship(const CustomerState& s, const AcceptRelationship& c,
                                          const CommandMeta& meta, const DecideContext& ctx) {
  if (ctx.instance == Instance::kUsGov) {
    return E(ErrorCode::kMultipartnerNotAvailable, "multipartner is not available in the usgov instance");
  }
  if (!s.exists) return E(ErrorCode::kCustomerNotFound, "customer '" + c.customer_id + "' not found");
  if (c.by_serving_partner) {
    TALLY_RETURN_IF_ERROR(CheckServed(s, c.customer_id, meta));
    TALLY_RETURN_IF_ERROR(CheckPartnerOfRecord(s, meta, "accept another partner"));
  }
  auto inv = s.invitations.find(c.invitation_id);
  if (inv == s.invitations.end()) {
    return E(ErrorCode::kInvitationNotFound, "invitation '" + c.invitation_id + "' not found");
  }
  Decision d = Start(s);
  d.invitation_id = c.invitation_id;
  EventWriter w(meta, s.customer_id, *ctx.ids);
  w.Add(ev::Payload::RelationshipAccepted, [&](Fbb& fbb) {
    return ev::CreateRelationshipAcceptedDirect(fbb, c.invitation_id.c_str(), inv->second.partner_id.c_str())
        .Union();
  });
  d.events = w.Take();
  return d;
}

Result<Decision> DecideRemoveRelationship(const CustomerState& s, const RemoveRelationship& c,
                                          const CommandMeta& meta, const DecideContext& ctx) {
  if (!c.by_customer) TALLY_RETURN_IF_ERROR(CheckServed(s, c.customer_id, meta));
  if (!s.exists) return E(ErrorCode::kCustomerNotFound, "customer '" + c.customer_id + "' not found");
  if (!c.by_customer && c.partner_id != meta.partner_id) {
    return E(ErrorCode::kCustomerNotFound, "a partner can only end its own relationship");
  }
  if (s.partners.count(c.partner_id) == 0) {
    return E(ErrorCode::kNotFound, "partner '" + c.partner_id + "' has no relationship with this customer");
  }
  for (const auto& [id, sub] : s.subscriptions) {
    if (sub.partner_id == c.partner_id && sub.status == SubscriptionStatus::kActive) {
      return E(ErrorCode::kActiveSubscriptionsRemain,
               "subscription '" + id + "' is active: suspend or cancel it first");
    }
  }
  if (s.partners.size() == 1) {
    return E(ErrorCode::kLastRelationship, "a customer keeps at least one partner");
  }
  // The partner of record leaves last: its billing profile and invitations
  // would otherwise have no owner.
  if (s.partners.at(c.partner_id).invitation_id.empty()) {
    return E(ErrorCode::kPartnerOfRecordLeavesLast,
             "the partner of record ends its relationship only after the other partners have ended theirs");
  }
  Decision d = Start(s);
  EventWriter w(meta, s.customer_id, *ctx.ids);
  w.Add(ev::Payload::RelationshipRemoved, [&](Fbb& fbb) {
    return ev::CreateRelationshipRemovedDirect(fbb, c.partner_id.c_str(), c.by_customer ? "customer" : "partner")
        .Union();
  });
  d.events = w.Take();
  return d;
}

}  // namespace tally::domain::decide
