// The parts of Decide (decide.h), one file per concept: customers
// (decide_customer.cc), subscriptions with their terms, windows and
// lifecycle (decide_subscription.cc), relationships (decide_relationship.cc);
// the checks they share and the dispatch by command in decide.cc. Internal
// to the domain library: callers use Decide.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/domain/decide.h"
#include "events/codec.h"

namespace tally::domain::decide {

namespace ev = tally::events;
using Fbb = flatbuffers::FlatBufferBuilder;

// Builds the envelopes of one decision, all on the customer's stream.
class EventWriter {
 public:
  EventWriter(const CommandMeta& meta, const std::string& customer_id, IdSource& ids)
      : meta_(meta), customer_id_(customer_id), stream_(CustomerStreamId(customer_id)), ids_(ids) {}

  template <typename Build>
  void Add(ev::Payload type, Build build) {
    Fbb fbb(512);
    flatbuffers::Offset<void> payload = build(fbb);
    const std::string event_id = ids_.NewId();
    ev::EnvelopeFields f;
    f.stream_id = stream_;
    f.event_id = event_id;
    f.request_id = meta_.request_id;
    f.correlation_id = meta_.correlation_id;
    f.partner_id = meta_.partner_id;
    f.customer_id = customer_id_;
    events_.push_back(ev::FinishEnvelope(fbb, f, type, payload));
  }
  std::vector<std::string> Take() { return std::move(events_); }

 private:
  const CommandMeta& meta_;
  const std::string& customer_id_;
  const std::string stream_;
  IdSource& ids_;
  std::vector<std::string> events_;
};

inline Error E(ErrorCode code, std::string message) { return Error(code, std::move(message)); }

// --- shared checks (decide.cc) ----------------------------------------------

// The acting partner must serve the customer; otherwise it does not exist
// for them (404, no existence leak).
Status CheckServed(const CustomerState& state, const std::string& customer_id, const CommandMeta& meta);
// Partner Center: the customer's company and billing profile, and who else
// serves the customer, are the partner of record's (the partner that
// created the customer); an invited reseller sells its own subscriptions.
Status CheckPartnerOfRecord(const CustomerState& state, const CommandMeta& meta, std::string_view what);
// If-Match against the customer's version.
Status CheckEtag(const CustomerState& state, const std::optional<uint64_t>& expected);
// A decision on the customer's stream at its current version.
Decision Start(const CustomerState& state);

// --- customers (decide_customer.cc) -----------------------------------------

Result<Decision> DecideAddCustomer(const AddCustomer& c, const CommandMeta& meta, const DecideContext& ctx);
Result<Decision> DecideUpdateBillingProfile(const CustomerState& s, const UpdateBillingProfile& c,
                                            const CommandMeta& meta, const DecideContext& ctx);
Result<Decision> DecideForgetCustomer(const CustomerState& s, const ForgetCustomer& c, const CommandMeta& meta,
                                      const DecideContext& ctx);
Result<Decision> DecideConfirmAgreement(const CustomerState& s, const ConfirmAgreement& c, const CommandMeta& meta,
                                        const DecideContext& ctx);
// In the global instance, buying needs the customer's acceptance of the
// Microsoft Customer Agreement (13605, 403).
Status CheckAgreementAccepted(const CustomerState& state, const DecideContext& ctx);

// --- subscriptions (decide_subscription.cc) ---------------------------------

// Checks each line against the catalog and, for add-ons, its parent;
// returns the offers in line order.
Result<std::vector<const Offer*>> CheckLineItems(const std::vector<LineItem>& items, bool allow_empty,
                                                 const CustomerState& state, const CommandMeta& meta,
                                                 const DecideContext& ctx);
// Appends one SubscriptionCreated per (checked) line, with the plan and
// price in force now; records the ids in `d`.
void CreateSubscriptions(EventWriter& w, const std::vector<LineItem>& items,
                         const std::vector<const Offer*>& offers, const std::string& order_id,
                         const CommandMeta& meta, const DecideContext& ctx, Decision& d);
Result<Decision> DecideCreateOrder(const CustomerState& s, const CreateOrder& c, const CommandMeta& meta,
                                   const DecideContext& ctx);
Result<Decision> DecideAddAddOn(const CustomerState& s, const AddAddOn& c, const CommandMeta& meta,
                                const DecideContext& ctx);
Result<Decision> DecideUpdateSubscription(const CustomerState& s, const UpdateSubscription& c,
                                          const CommandMeta& meta, const DecideContext& ctx);
Result<Decision> DecideAdvanceSubscription(const CustomerState& s, const AdvanceSubscription& c,
                                           const CommandMeta& meta, const DecideContext& ctx);

// --- relationships (decide_relationship.cc) ---------------------------------

Result<Decision> DecideRequestRelationship(const CustomerState& s, const RequestRelationship& c,
                                           const CommandMeta& meta, const DecideContext& ctx);
Result<Decision> DecideAcceptRelationship(const CustomerState& s, const AcceptRelationship& c,
                                          const CommandMeta& meta, const DecideContext& ctx);
Result<Decision> DecideRemoveRelationship(const CustomerState& s, const RemoveRelationship& c,
                                          const CommandMeta& meta, const DecideContext& ctx);

}  // namespace tally::domain::decide
