// Decide for customers: creating one (with its first order and its
// acceptance of the customer agreement), confirming an agreement, its billing
// profile, erasing its personal data.
#include <algorithm>
#include <cctype>

#include "engine/domain/decide_parts.h"
#include "engine/domain/validation.h"

namespace tally::domain::decide {
namespace {

// The personal fields go only into the sealed blob.
flatbuffers::Offset<ev::BillingProfile> BuildBilling(Fbb& fbb, const BillingProfileInput& b,
                                                     const std::string& customer_id, const personal::Key& key) {
  const AddressInput& a = b.default_address;
  const personal::Fields fields{b.email,         a.first_name,    a.last_name,   a.address_line1,
                                a.address_line2, a.address_line3, a.phone_number};
  const std::vector<uint8_t> sealed = personal::Seal(key, customer_id, fields);
  auto address = ev::CreateAddressDirect(fbb, a.city.c_str(), a.state.c_str(), a.postal_code.c_str(),
                                         a.country.c_str());
  return ev::CreateBillingProfileDirect(fbb, b.culture.c_str(), b.language.c_str(), b.company_name.c_str(),
                                        address, &sealed);
}

// The contact who accepted goes only into the sealed blob.
void AddAgreement(EventWriter& w, const AgreementInput& a, const std::string& customer_id, const personal::Key& key) {
  personal::Fields contact;
  contact.email = a.email;
  contact.first_name = a.first_name;
  contact.last_name = a.last_name;
  contact.phone_number = a.phone_number;
  const std::vector<uint8_t> sealed = personal::Seal(key, customer_id, contact);
  w.Add(ev::Payload::CustomerAgreementAccepted, [&](Fbb& fbb) {
    return ev::CreateCustomerAgreementAcceptedDirect(fbb, a.template_id.c_str(), a.type.c_str(), a.date_agreed_us,
                                                     &sealed)
        .Union();
  });
}

Status CheckAgreementAvailable(const DecideContext& ctx) {
  if (ctx.instance == Instance::kUsGov) {
    return E(ErrorCode::kAgreementNotAvailable,
             "customer agreements are confirmed in the global instance only, not in usgov");
  }
  return OkStatus();
}

}  // namespace

Status CheckAgreementAccepted(const CustomerState& state, const DecideContext& ctx) {
  if (ctx.instance == Instance::kGlobal && !state.HasAgreement()) {
    return E(ErrorCode::kCustomerAgreementRequired,
             "customer '" + state.customer_id +
                 "' has not accepted the Microsoft Customer Agreement: confirm its acceptance first "
                 "(POST /v1/customers/" + state.customer_id + "/agreements)");
  }
  return OkStatus();
}

Result<Decision> DecideAddCustomer(const AddCustomer& c, const CommandMeta& meta, const DecideContext& ctx) {
  std::string prefix = c.domain_prefix;
  TALLY_RETURN_IF_ERROR(ValidateDomainPrefix(prefix));
  std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  TALLY_RETURN_IF_ERROR(ValidateCompanyName(c.company_name));
  TALLY_RETURN_IF_ERROR(ValidateBillingProfile(c.billing));
  TALLY_RETURN_IF_ERROR(ValidateRegistrationNumber(c.billing.default_address.country, c.registration_number));
  CustomerState empty;
  auto offers = CheckLineItems(c.line_items, /*allow_empty=*/true, empty, meta, ctx);
  if (!offers.ok()) return offers.error();
  if (c.agreement) {
    TALLY_RETURN_IF_ERROR(CheckAgreementAvailable(ctx));
    TALLY_RETURN_IF_ERROR(ValidateAgreement(*c.agreement, ctx.now_us));
  } else if (!c.line_items.empty() && ctx.instance == Instance::kGlobal) {
    return E(ErrorCode::kCustomerAgreementRequired,
             "a new customer's first order needs its acceptance of the Microsoft Customer Agreement "
             "(agreement, with the customer)");
  }

  Decision d;
  d.customer_id = ctx.ids->NewId();
  d.stream_id = CustomerStreamId(d.customer_id);
  d.expected_version = kNoStream;
  if (std::find(std::begin(kInitialDomainSuffixes), std::end(kInitialDomainSuffixes), c.domain_suffix) ==
      std::end(kInitialDomainSuffixes)) {
    return E(ErrorCode::kInvalidDomainPrefix, "a domain ends with .onmicrosoft.com (or .ccsctp.net)");
  }
  const std::string domain = prefix + "." + c.domain_suffix;
  d.claims.push_back({DomainKey(domain), d.customer_id});
  d.admin_user_name = "admin@" + domain;
  const personal::Key key = personal::NewKey();
  d.key_changes.push_back({d.customer_id, key});
  EventWriter w(meta, d.customer_id, *ctx.ids);
  w.Add(ev::Payload::CustomerCreated, [&](Fbb& fbb) {
    auto billing = BuildBilling(fbb, c.billing, d.customer_id, key);
    return ev::CreateCustomerCreatedDirect(fbb, d.customer_id.c_str(), domain.c_str(),
                                           c.company_name.c_str(), c.registration_number.c_str(),
                                           std::string(InstanceName(ctx.instance)).c_str(), billing,
                                           d.admin_user_name.c_str())
        .Union();
  });
  w.Add(ev::Payload::RelationshipEstablished, [&](Fbb& fbb) {
    return ev::CreateRelationshipEstablishedDirect(fbb, meta.partner_id.c_str(),
                                                   ev::RelationshipKind::Reseller, "")
        .Union();
  });
  if (c.agreement) AddAgreement(w, *c.agreement, d.customer_id, key);
  if (!c.line_items.empty()) {
    d.order_id = ctx.ids->NewId();
    CreateSubscriptions(w, c.line_items, *offers, d.order_id, meta, ctx, d);
  }
  d.events = w.Take();
  return d;
}

Result<Decision> DecideUpdateBillingProfile(const CustomerState& s, const UpdateBillingProfile& c,
                                            const CommandMeta& meta, const DecideContext& ctx) {
  TALLY_RETURN_IF_ERROR(CheckServed(s, c.customer_id, meta));
  TALLY_RETURN_IF_ERROR(CheckPartnerOfRecord(s, meta, "change the billing profile"));
  TALLY_RETURN_IF_ERROR(CheckEtag(s, c.expected_version));
  if (s.personal_data_erased) {
    return E(ErrorCode::kPersonalDataErased,
             "customer '" + c.customer_id + "' had its personal data erased: its billing profile cannot change");
  }
  TALLY_RETURN_IF_ERROR(ValidateBillingProfile(c.billing));
  if (!s.personal_key) {
    return E(ErrorCode::kCorruption, "customer '" + c.customer_id + "' has no personal-data key");
  }
  Decision d = Start(s);
  if (c.billing == s.billing) return d;  // nothing changes
  EventWriter w(meta, s.customer_id, *ctx.ids);
  w.Add(ev::Payload::BillingProfileUpdated, [&](Fbb& fbb) {
    auto billing = BuildBilling(fbb, c.billing, s.customer_id, *s.personal_key);
    return ev::CreateBillingProfileUpdated(fbb, billing).Union();
  });
  d.events = w.Take();
  return d;
}

Result<Decision> DecideForgetCustomer(const CustomerState& s, const ForgetCustomer& c, const CommandMeta& meta,
                                      const DecideContext& ctx) {
  if (!s.exists) return E(ErrorCode::kCustomerNotFound, "customer '" + c.customer_id + "' not found");
  TALLY_RETURN_IF_ERROR(ValidateText("the reason", c.reason, 256));
  Decision d = Start(s);
  if (s.personal_data_erased) return d;  // erased before: nothing changes
  d.key_changes.push_back({s.customer_id, std::nullopt});
  EventWriter w(meta, s.customer_id, *ctx.ids);
  w.Add(ev::Payload::CustomerPersonalDataErased, [&](Fbb& fbb) {
    return ev::CreateCustomerPersonalDataErasedDirect(fbb, c.reason.c_str()).Union();
  });
  d.events = w.Take();
  return d;
}

Result<Decision> DecideConfirmAgreement(const CustomerState& s, const ConfirmAgreement& c, const CommandMeta& meta,
                                        const DecideContext& ctx) {
  TALLY_RETURN_IF_ERROR(CheckAgreementAvailable(ctx));
  TALLY_RETURN_IF_ERROR(CheckServed(s, c.customer_id, meta));
  TALLY_RETURN_IF_ERROR(ValidateAgreement(c.agreement, ctx.now_us));
  if (s.personal_data_erased) {
    return E(ErrorCode::kPersonalDataErased,
             "customer '" + c.customer_id + "' had its personal data erased: no contact can be recorded for it");
  }
  if (!s.personal_key) {
    return E(ErrorCode::kCorruption, "customer '" + c.customer_id + "' has no personal-data key");
  }
  // Partner Center takes another confirmation only for another contact
  // (first name, last name, email or phone).
  const AgreementInput& a = c.agreement;
  for (const Agreement& held : s.agreements) {
    const personal::Fields& who = held.contact;
    if (held.template_id == a.template_id && who.first_name == a.first_name && who.last_name == a.last_name &&
        who.email == a.email && who.phone_number == a.phone_number) {
      return E(ErrorCode::kAgreementAlreadyExists, "A partner confirmed agreement already exists for the customer.");
    }
  }
  Decision d = Start(s);
  EventWriter w(meta, s.customer_id, *ctx.ids);
  AddAgreement(w, a, s.customer_id, *s.personal_key);
  d.events = w.Take();
  return d;
}

}  // namespace tally::domain::decide
