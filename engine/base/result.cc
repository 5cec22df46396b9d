#include "engine/base/result.h"

namespace tally {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kIoError: return "io_error";
    case ErrorCode::kCorruption: return "corruption";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kWrongExpectedVersion: return "wrong_expected_version";
    case ErrorCode::kRequestIdReused: return "request_id_reused";
    case ErrorCode::kUniqueKeyTaken: return "unique_key_taken";
    case ErrorCode::kShuttingDown: return "shutting_down";
    case ErrorCode::kFormatMismatch: return "format_mismatch";
    case ErrorCode::kBusy: return "busy";
    case ErrorCode::kInvalidCatalog: return "invalid_catalog";
    case ErrorCode::kKafka: return "kafka";
    case ErrorCode::kStorageFull: return "storage_full";
    case ErrorCode::kLogDamaged: return "log_damaged";
    case ErrorCode::kNotPartnerOfRecord: return "not_partner_of_record";
    case ErrorCode::kPartnerOfRecordLeavesLast: return "partner_of_record_leaves_last";
    case ErrorCode::kQuantityOutOfRange: return "quantity_out_of_range";
    case ErrorCode::kSubscriptionDeleted: return "subscription_deleted";
    case ErrorCode::kStaleEtag: return "stale_etag";
    case ErrorCode::kSubscriptionNotFound: return "subscription_not_found";
    case ErrorCode::kRegistrationNumberMissing: return "registration_number_missing";
    case ErrorCode::kRegistrationNumberMalformed: return "registration_number_malformed";
    case ErrorCode::kPhoneRequired: return "phone_required";
    case ErrorCode::kUnsupportedCurrency: return "unsupported_currency";
    case ErrorCode::kInvalidTerm: return "invalid_term";
    case ErrorCode::kSubscriptionNotUpdatable: return "subscription_not_updatable";
    case ErrorCode::kCancellationWindowPassed: return "cancellation_window_passed";
    case ErrorCode::kSeatReductionWindowPassed: return "seat_reduction_window_passed";
    case ErrorCode::kInvalidBillingCycle: return "invalid_billing_cycle";
    case ErrorCode::kBillingCycleLongerThanTerm: return "billing_cycle_longer_than_term";
    case ErrorCode::kInvalidOffer: return "invalid_offer";
    case ErrorCode::kAddOnNotRelatedToParent: return "addon_not_related_to_parent";
    case ErrorCode::kOfferNotInInstance: return "offer_not_in_instance";
    case ErrorCode::kSuspendedSubscriptionCannotBeUpdated: return "suspended_subscription_cannot_be_updated";
    case ErrorCode::kDomainTaken: return "domain_taken";
    case ErrorCode::kInvalidDomainPrefix: return "invalid_domain_prefix";
    case ErrorCode::kInvalidAddress: return "invalid_address";
    case ErrorCode::kCustomerNotFound: return "customer_not_found";
    case ErrorCode::kInvalidEmail: return "invalid_email";
    case ErrorCode::kInvalidCulture: return "invalid_culture";
    case ErrorCode::kInvalidLanguage: return "invalid_language";
    case ErrorCode::kInvalidCountry: return "invalid_country";
    case ErrorCode::kInvalidCompanyName: return "invalid_company_name";
    case ErrorCode::kInvalidQuantity: return "invalid_quantity";
    case ErrorCode::kInvalidLineItems: return "invalid_line_items";
    case ErrorCode::kAddOnNeedsParent: return "addon_needs_parent";
    case ErrorCode::kNotAnAddOn: return "not_an_addon";
    case ErrorCode::kParentNotActive: return "parent_not_active";
    case ErrorCode::kInvalidFriendlyName: return "invalid_friendly_name";
    case ErrorCode::kInvalidStatus: return "invalid_status";
    case ErrorCode::kRelationshipExists: return "relationship_exists";
    case ErrorCode::kInvitationNotFound: return "invitation_not_found";
    case ErrorCode::kMultipartnerNotAvailable: return "multipartner_not_available";
    case ErrorCode::kActiveSubscriptionsRemain: return "active_subscriptions_remain";
    case ErrorCode::kLastRelationship: return "last_relationship";
    case ErrorCode::kFieldTooLong: return "field_too_long";
    case ErrorCode::kPersonalDataErased: return "personal_data_erased";
    case ErrorCode::kUnauthorized: return "unauthorized";
    case ErrorCode::kRouteNotFound: return "route_not_found";
    case ErrorCode::kMethodNotAllowed: return "method_not_allowed";
    case ErrorCode::kMalformedJson: return "malformed_json";
    case ErrorCode::kInvalidField: return "invalid_field";
    case ErrorCode::kBodyTooLarge: return "body_too_large";
    case ErrorCode::kUnsupportedMediaType: return "unsupported_media_type";
    case ErrorCode::kInvalidQuery: return "invalid_query";
    case ErrorCode::kHeadersTooLarge: return "headers_too_large";
    case ErrorCode::kReadOnlyField: return "read_only_field";
    case ErrorCode::kNextTermNotAllowed: return "next_term_not_allowed";
    case ErrorCode::kCustomerAgreementRequired: return "customer_agreement_required";
    case ErrorCode::kAgreementAlreadyExists: return "agreement_already_exists";
    case ErrorCode::kAgreementNotAvailable: return "agreement_not_available";
    case ErrorCode::kInvalidAgreement: return "invalid_agreement";
  }
  return "unknown";
}

int HttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return 200;
    case ErrorCode::kNotFound:
    case ErrorCode::kSubscriptionNotFound:
    case ErrorCode::kCustomerNotFound:
    case ErrorCode::kInvitationNotFound:
      return 404;
    case ErrorCode::kWrongExpectedVersion:
    case ErrorCode::kStaleEtag:
      return 412;
    case ErrorCode::kRequestIdReused:
    case ErrorCode::kUniqueKeyTaken:
    case ErrorCode::kDomainTaken:
    case ErrorCode::kParentNotActive:
    case ErrorCode::kRelationshipExists:
    case ErrorCode::kActiveSubscriptionsRemain:
    case ErrorCode::kLastRelationship:
    case ErrorCode::kPersonalDataErased:
    case ErrorCode::kPartnerOfRecordLeavesLast:
    case ErrorCode::kAgreementAlreadyExists:
      return 409;
    case ErrorCode::kMultipartnerNotAvailable:
    case ErrorCode::kNotPartnerOfRecord:
    case ErrorCode::kCustomerAgreementRequired:
    case ErrorCode::kAgreementNotAvailable:
      return 403;
    case ErrorCode::kUnauthorized: return 401;
    case ErrorCode::kRouteNotFound: return 404;
    case ErrorCode::kMethodNotAllowed: return 405;
    case ErrorCode::kBodyTooLarge: return 413;
    case ErrorCode::kUnsupportedMediaType: return 415;
    case ErrorCode::kHeadersTooLarge: return 431;
    case ErrorCode::kBusy:
    case ErrorCode::kShuttingDown:
    case ErrorCode::kStorageFull:
    case ErrorCode::kLogDamaged:
    case ErrorCode::kIoError:  // the disk failed a write: a retry later may work
      return 503;
    case ErrorCode::kKafka:
    case ErrorCode::kCorruption:
    case ErrorCode::kFormatMismatch:
    case ErrorCode::kInvalidCatalog:
      return 500;
    default:
      return 400;
  }
}

std::string Error::ToString() const {
  std::string out(ErrorCodeName(code_));
  out += " (";
  out += std::to_string(static_cast<int32_t>(code_));
  out += "): ";
  out += message_;
  return out;
}

}  // namespace tally
