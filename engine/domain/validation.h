// Field validation for customer input. Each check returns the first
// problem as a typed error naming the field.
#pragma once

#include <string>
#include <string_view>

#include "engine/base/result.h"
#include "engine/domain/commands.h"

namespace tally::domain {

// Letters and digits, 1-27 characters (the part before .onmicrosoft.com).
Status ValidateDomainPrefix(std::string_view prefix);

// The suffixes of a customer's initial domain: onmicrosoft.com, and
// ccsctp.net, the suffix of Partner Center's integration sandbox that its
// docs' create-customer sample uses ("xyz.ccsctp.net").
inline constexpr std::string_view kInitialDomainSuffixes[] = {"onmicrosoft.com", "ccsctp.net"};

struct InitialDomain {
  std::string prefix;  // lower-case, checked by ValidateDomainPrefix
  std::string suffix;  // one of kInitialDomainSuffixes
};

// "Contoso.onmicrosoft.com" -> {"contoso", "onmicrosoft.com"}: any case,
// stored lower-case. kInvalidDomainPrefix for anything else.
Result<InitialDomain> ParseInitialDomain(std::string_view domain);

// Codes whose case means nothing by their standard, in their canonical
// form: culture (BCP 47, "EN-us" -> "en-US"), language (ISO 639, "En" ->
// "en"), country (ISO 3166, "us" -> "US"). Anything else is left as it is
// for the validation to judge. Partner Center's own docs send "EN-US", "En".
void CanonicalizeCodes(BillingProfileInput& billing);

// Email, culture (xx-XX), language (xx), company name, and the default
// address (required fields, ISO country, US/CA postal codes, phone).
Status ValidateBillingProfile(const BillingProfileInput& billing);

// The organization registration number some countries require
// (600049 missing, 600050 malformed).
Status ValidateRegistrationNumber(std::string_view country, std::string_view number);

Status ValidateCompanyName(std::string_view name);

// An agreement's type and template (this service's Microsoft Customer
// Agreement), its date (2019 up to a day after now_us) and contact (names
// required, an email, an optional phone): kInvalidAgreement, kInvalidEmail,
// kFieldTooLong.
Status ValidateAgreement(const AgreementInput& agreement, int64_t now_us);

// Any free text the domain stores: at most `max` bytes (kFieldTooLong) and
// no control character (kInvalidArgument), the field named in the error.
Status ValidateText(std::string_view field, std::string_view value, size_t max);

bool IsIsoCountry(std::string_view code);
bool CountryNeedsRegistrationNumber(std::string_view code);

}  // namespace tally::domain
