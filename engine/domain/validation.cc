#include "engine/domain/validation.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>

namespace tally::domain {
namespace {

// ISO 3166-1 alpha-2, officially assigned codes.
constexpr std::string_view kCountries =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR "
    "BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ "
    "EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW "
    "GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY "
    "KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV "
    "MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY "
    "QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG "
    "TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

// Countries where Partner Center asks for an organization registration number.
constexpr std::string_view kNeedsRegistration =
    "AM AZ BY HU KZ KG MD RU TJ UZ UA IN BR ZA PL AE SA TR TH VN MM IQ SS VE";

// Where Partner Center requires a phone number (its error 600051).
constexpr std::string_view kNeedsPhone = "AM AZ BY HU IN KZ KG MD RU TJ UZ UA";

bool InList(std::string_view list, std::string_view code) {
  if (code.size() != 2) return false;
  for (size_t i = 0; i + 2 <= list.size(); i += 3) {
    if (list.substr(i, 2) == code) return true;
  }
  return false;
}

Error Bad(ErrorCode code, std::string message) { return Error(code, std::move(message)); }

bool Blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

Status ValidateEmail(std::string_view email, std::string_view field = "billing email") {
  TALLY_RETURN_IF_ERROR(ValidateText(field, email, 254));
  const size_t at = email.find('@');
  const bool ok = at != std::string_view::npos && at > 0 && at == email.rfind('@') &&
                  email.find('.', at) != std::string_view::npos && email.back() != '.' &&
                  email[at + 1] != '.' &&
                  std::none_of(email.begin(), email.end(),
                               [](unsigned char c) { return std::isspace(c) || c < 0x20; });
  if (!ok) return Bad(ErrorCode::kInvalidEmail, std::string(field) + " '" + std::string(email) + "' is not an email address");
  return OkStatus();
}

Status ValidateAddress(const AddressInput& a) {
  struct Field {
    const char* name;
    const std::string& value;
    size_t max;
    bool required;
  };
  const Field fields[] = {
      {"first name", a.first_name, 64, true},       {"last name", a.last_name, 64, true},
      {"address line 1", a.address_line1, 256, true}, {"address line 2", a.address_line2, 256, false},
      {"address line 3", a.address_line3, 256, false}, {"city", a.city, 128, true},
      {"state", a.state, 64, false},                {"postal code", a.postal_code, 32, true},
  };
  for (const auto& f : fields) {
    TALLY_RETURN_IF_ERROR(ValidateText(f.name, f.value, f.max));
    if (f.required && Blank(f.value)) {
      return Bad(ErrorCode::kInvalidAddress, std::string("address ") + f.name + " is required");
    }
  }
  if (!IsIsoCountry(a.country)) {
    return Bad(ErrorCode::kInvalidCountry,
               "country '" + a.country + "' is not an ISO 3166-1 alpha-2 code (e.g. US)");
  }
  if ((a.country == "US" || a.country == "CA" || a.country == "AU") && Blank(a.state)) {
    return Bad(ErrorCode::kInvalidAddress, "address state is required in " + a.country);
  }
  if (a.country == "US") {
    const std::string& z = a.postal_code;
    const bool zip = (z.size() == 5 && AllDigits(z)) ||
                     (z.size() == 10 && AllDigits(z.substr(0, 5)) && z[5] == '-' && AllDigits(z.substr(6)));
    if (!zip) return Bad(ErrorCode::kInvalidAddress, "postal code '" + z + "' is not a US ZIP code");
  }
  TALLY_RETURN_IF_ERROR(ValidateText("phone number", a.phone_number, 32));
  if (Blank(a.phone_number)) {
    if (!InList(kNeedsPhone, a.country)) return OkStatus();
    return Bad(ErrorCode::kPhoneRequired, "a phone number is required in " + a.country);
  }
  size_t digits = 0;
  for (unsigned char c : a.phone_number) {
    if (std::isdigit(c)) {
      ++digits;
    } else if (!std::strchr("+-() .", c)) {
      return Bad(ErrorCode::kInvalidAddress, "phone number '" + a.phone_number + "' has invalid characters");
    }
  }
  if (digits < 6) return Bad(ErrorCode::kInvalidAddress, "phone number '" + a.phone_number + "' is too short");
  return OkStatus();
}

}  // namespace

void CanonicalizeCodes(BillingProfileInput& billing) {
  auto letters = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalpha(c); });
  };
  auto lower = [](std::string& s, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) s[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
  };
  auto upper = [](std::string& s, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) s[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[i])));
  };
  std::string& culture = billing.culture;
  if (culture.size() == 5 && culture[2] == '-' && letters(culture.substr(0, 2)) && letters(culture.substr(3))) {
    lower(culture, 0, 2);
    upper(culture, 3, 5);
  }
  if (billing.language.size() == 2 && letters(billing.language)) lower(billing.language, 0, 2);
  std::string& country = billing.default_address.country;
  if (country.size() == 2 && letters(country)) upper(country, 0, 2);
}

Status ValidateText(std::string_view field, std::string_view value, size_t max) {
  if (value.size() > max) {
    return Bad(ErrorCode::kFieldTooLong,
               std::string(field) + " is longer than " + std::to_string(max) + " characters");
  }
  // Text is stored with its length, but a NUL, a line break or an escape
  // sequence in a name or an address is never meant: refused, not kept.
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return Bad(ErrorCode::kInvalidArgument, std::string(field) + " contains a control character");
  }
  return OkStatus();
}

bool IsIsoCountry(std::string_view code) { return InList(kCountries, code); }
bool CountryNeedsRegistrationNumber(std::string_view code) { return InList(kNeedsRegistration, code); }

Status ValidateDomainPrefix(std::string_view prefix) {
  const bool ok = !prefix.empty() && prefix.size() <= 27 &&
                  std::all_of(prefix.begin(), prefix.end(), [](unsigned char c) {
                    return (c < 0x80) && std::isalnum(c);
                  });
  if (!ok) {
    return Bad(ErrorCode::kInvalidDomainPrefix,
               "domain prefix '" + std::string(prefix.substr(0, 64)) +
                   "' must be 1-27 letters and digits (the part before .onmicrosoft.com)");
  }
  return OkStatus();
}

Result<InitialDomain> ParseInitialDomain(std::string_view domain) {
  std::string lower(domain.substr(0, 128));
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::string_view suffix : kInitialDomainSuffixes) {
    if (lower.size() > suffix.size() + 1 && lower.ends_with(suffix) && lower[lower.size() - suffix.size() - 1] == '.') {
      InitialDomain d{lower.substr(0, lower.size() - suffix.size() - 1), std::string(suffix)};
      TALLY_RETURN_IF_ERROR(ValidateDomainPrefix(d.prefix));
      return d;
    }
  }
  return Bad(ErrorCode::kInvalidDomainPrefix, "domain '" + std::string(domain.substr(0, 64)) +
                                                  "' must be <prefix>.onmicrosoft.com (or <prefix>.ccsctp.net)");
}

Status ValidateCompanyName(std::string_view name) {
  TALLY_RETURN_IF_ERROR(ValidateText("company name", name, 256));
  if (Blank(name)) return Bad(ErrorCode::kInvalidCompanyName, "company name is required");
  return OkStatus();
}

Status ValidateBillingProfile(const BillingProfileInput& b) {
  TALLY_RETURN_IF_ERROR(ValidateEmail(b.email));
  const std::string& c = b.culture;
  const bool culture_ok = c.size() == 5 && std::islower(static_cast<unsigned char>(c[0])) &&
                          std::islower(static_cast<unsigned char>(c[1])) && c[2] == '-' &&
                          std::isupper(static_cast<unsigned char>(c[3])) &&
                          std::isupper(static_cast<unsigned char>(c[4]));
  if (!culture_ok) return Bad(ErrorCode::kInvalidCulture, "culture '" + c + "' must look like en-US");
  const std::string& l = b.language;
  if (l.size() != 2 || !std::islower(static_cast<unsigned char>(l[0])) ||
      !std::islower(static_cast<unsigned char>(l[1]))) {
    return Bad(ErrorCode::kInvalidLanguage, "language '" + l + "' must be a two-letter code like en");
  }
  TALLY_RETURN_IF_ERROR(ValidateCompanyName(b.company_name));
  return ValidateAddress(b.default_address);
}

Status ValidateAgreement(const AgreementInput& a, int64_t now_us) {
  if (a.type != kCustomerAgreementType) {
    return Bad(ErrorCode::kInvalidAgreement,
               "agreement type '" + a.type.substr(0, 64) + "' is not " + kCustomerAgreementType);
  }
  if (a.template_id != kCustomerAgreementTemplateId) {
    return Bad(ErrorCode::kInvalidAgreement, "templateId '" + a.template_id.substr(0, 64) +
                                                 "' is not the Microsoft Customer Agreement's (GET /v1/agreements): " +
                                                 kCustomerAgreementTemplateId);
  }
  // dateAgreed: not before the agreement existed (2019), not tomorrow (a
  // day's margin for the partner's time zone).
  constexpr int64_t kFirstDayUs = 1'546'300'800'000'000;  // 2019-01-01T00:00:00Z
  constexpr int64_t kDayUs = 86'400'000'000;
  if (a.date_agreed_us < kFirstDayUs || a.date_agreed_us > now_us + kDayUs) {
    return Bad(ErrorCode::kInvalidAgreement, "dateAgreed must be a date from 2019 up to today");
  }
  for (auto [field, value] : {std::pair{"primaryContact.firstName", &a.first_name},
                              std::pair{"primaryContact.lastName", &a.last_name}}) {
    if (value->empty()) return Bad(ErrorCode::kInvalidAgreement, std::string(field) + " is required");
    TALLY_RETURN_IF_ERROR(ValidateText(field, *value, 64));
  }
  TALLY_RETURN_IF_ERROR(ValidateEmail(a.email, "primaryContact.email"));
  return ValidateText("primaryContact.phoneNumber", a.phone_number, 32);
}

Status ValidateRegistrationNumber(std::string_view country, std::string_view number) {
  if (number.empty()) {
    if (CountryNeedsRegistrationNumber(country)) {
      return Bad(ErrorCode::kRegistrationNumberMissing,
                 "an organization registration number is required in " + std::string(country));
    }
    return OkStatus();
  }
  const bool ok = number.size() >= 4 && number.size() <= 32 &&
                  std::all_of(number.begin(), number.end(), [](unsigned char c) {
                    return c < 0x80 && (std::isalnum(c) || c == '-' || c == '/' || c == '.');
                  });
  if (!ok) {
    return Bad(ErrorCode::kRegistrationNumberMalformed,
               "registration number must be 4-32 letters, digits, '-', '/' or '.'");
  }
  return OkStatus();
}

}  // namespace tally::domain
