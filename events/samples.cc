#include "events/samples.h"

#include "events/uuid.h"

namespace tally::events {
namespace {

EnvelopeFields Fields(const std::string& stream, const std::string& event_id,
                      const std::string& request_id, const std::string& customer_id) {
  EnvelopeFields f;
  f.stream_id = stream;
  f.event_id = event_id;
  f.request_id = request_id;
  f.correlation_id = request_id;
  f.partner_id = "partner-0001";
  f.customer_id = customer_id;
  return f;
}

}  // namespace

std::string SampleEvents::Uuid() {
  const uint64_t a = rng_();
  return FormatUuidV4(a, rng_());
}

std::string SampleEvents::CustomerCreated(const std::string& customer_id,
                                          const std::string& request_id) {
  flatbuffers::FlatBufferBuilder fbb(512);
  const std::string prefix = "contoso" + customer_id.substr(0, 8);
  // No sealed personal data: sealing needs the customer's key in a key
  // store (engine/personal), which sample logs do not have.
  auto address = CreateAddressDirect(fbb, "Redmond", "WA", "98052", "US");
  auto profile = CreateBillingProfileDirect(fbb, "en-US", "en", "Contoso Ltd", address);
  const std::string domain = prefix + ".onmicrosoft.com";
  const std::string admin = "admin@" + domain;
  auto payload = CreateCustomerCreatedDirect(fbb, customer_id.c_str(), domain.c_str(),
                                             "Contoso Ltd", "", "global", profile, admin.c_str());
  const std::string stream = CustomerStream(customer_id);
  const std::string event_id = Uuid();
  return FinishEnvelope(fbb, Fields(stream, event_id, request_id, customer_id),
                        Payload::CustomerCreated, payload.Union());
}

std::string SampleEvents::SubscriptionCreated(const std::string& customer_id,
                                              const std::string& request_id, int32_t quantity) {
  flatbuffers::FlatBufferBuilder fbb(512);
  const std::string sub = Uuid(), order = Uuid();
  auto payload = CreateSubscriptionCreatedDirect(
      fbb, sub.c_str(), order.c_str(), "CFQ7TTC0LH18:0001", "Microsoft 365 Business Basic",
      quantity, "", "monthly", true, "partner-0001");
  const std::string stream = CustomerStream(customer_id);
  const std::string event_id = Uuid();
  return FinishEnvelope(fbb, Fields(stream, event_id, request_id, customer_id),
                        Payload::SubscriptionCreated, payload.Union());
}

std::string SampleEvents::OfType(Payload type, const std::string& customer_id) {
  const std::string request_id = Uuid();
  if (type == Payload::CustomerCreated) return CustomerCreated(customer_id, request_id);
  if (type == Payload::SubscriptionCreated) return SubscriptionCreated(customer_id, request_id, 5);
  flatbuffers::FlatBufferBuilder fbb(256);
  const std::string id = Uuid();
  flatbuffers::Offset<void> payload;
  switch (type) {
    case Payload::BillingProfileUpdated: {
      auto address = CreateAddressDirect(fbb, "Arlington", "VA", "22202", "US");
      payload = CreateBillingProfileUpdated(fbb, CreateBillingProfileDirect(fbb, "en-US", "en", "Contoso Ltd", address))
                    .Union();
      break;
    }
    case Payload::RelationshipEstablished:
      payload = CreateRelationshipEstablishedDirect(fbb, "partner-0002", RelationshipKind::Reseller,
                                                    id.c_str())
                    .Union();
      break;
    case Payload::RelationshipRequested:
      payload = CreateRelationshipRequestedDirect(fbb, id.c_str(), "partner-0002").Union();
      break;
    case Payload::RelationshipAccepted:
      payload = CreateRelationshipAcceptedDirect(fbb, id.c_str(), "partner-0002").Union();
      break;
    case Payload::RelationshipRemoved:
      payload = CreateRelationshipRemovedDirect(fbb, "partner-0002", "customer").Union();
      break;
    case Payload::SubscriptionQuantityChanged:
      payload = CreateSubscriptionQuantityChangedDirect(fbb, id.c_str(), 10, 5).Union();
      break;
    case Payload::SubscriptionSuspended:
      payload = CreateSubscriptionSuspendedDirect(fbb, id.c_str()).Union();
      break;
    case Payload::SubscriptionReactivated:
      payload = CreateSubscriptionReactivatedDirect(fbb, id.c_str()).Union();
      break;
    case Payload::SubscriptionCancelled:
      payload = CreateSubscriptionCancelledDirect(fbb, id.c_str()).Union();
      break;
    case Payload::SubscriptionRenamed:
      payload = CreateSubscriptionRenamedDirect(fbb, id.c_str(), "Sales team").Union();
      break;
    case Payload::SubscriptionAutoRenewChanged:
      payload = CreateSubscriptionAutoRenewChangedDirect(fbb, id.c_str(), false).Union();
      break;
    case Payload::CustomerPersonalDataErased:
      payload = CreateCustomerPersonalDataErasedDirect(fbb, "customer request").Union();
      break;
    case Payload::SubscriptionRenewed:
      payload = CreateSubscriptionRenewedDirect(fbb, id.c_str(), 1'770'000'000'000'000, "P1Y", "monthly", 600, "USD", 10)
                    .Union();
      break;
    case Payload::SubscriptionExpired:
      payload = CreateSubscriptionExpiredDirect(fbb, id.c_str(), 1'770'000'000'000'000).Union();
      break;
    case Payload::SubscriptionDisabled:
      payload = CreateSubscriptionDisabledDirect(fbb, id.c_str(), 1'770'000'000'000'000).Union();
      break;
    case Payload::SubscriptionDeleted:
      payload = CreateSubscriptionDeletedDirect(fbb, id.c_str(), 1'770'000'000'000'000).Union();
      break;
    case Payload::SubscriptionNextTermScheduled:
      payload = CreateSubscriptionNextTermScheduledDirect(fbb, id.c_str(), 12, "P1Y", "annual", "").Union();
      break;
    case Payload::SubscriptionNextTermCleared:
      payload = CreateSubscriptionNextTermClearedDirect(fbb, id.c_str()).Union();
      break;
    case Payload::CustomerAgreementAccepted:  // no sealed contact: samples have no keys (see above)
      payload = CreateCustomerAgreementAcceptedDirect(fbb, "998b88de-aa99-4388-a42c-1b3517d49490",
                                                      "MicrosoftCustomerAgreement", 1'770'000'000'000'000)
                    .Union();
      break;
    case Payload::LogPositionsLost:
      payload = CreateLogPositionsLostDirect(fbb, 7, 9, "head mark", "sample").Union();
      break;
    default:
      type = Payload::CustomerPersonalDataErased;
      payload = CreateCustomerPersonalDataErasedDirect(fbb, "sample").Union();
      break;
  }
  const std::string stream = CustomerStream(customer_id);
  const std::string event_id = Uuid();
  return FinishEnvelope(fbb, Fields(stream, event_id, request_id, customer_id), type, payload);
}

}  // namespace tally::events
