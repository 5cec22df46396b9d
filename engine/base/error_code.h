// Stable numeric error codes. Codes are part of the public API (HTTP bodies,
// CLI exit messages): never renumber, only add.
//
// Engine codes live in 90000-90999. Domain codes follow the Partner Center
// numbering where one exists, and tally's own are 70000-70999.
#pragma once

#include <cstdint>
#include <string_view>

namespace tally {

enum class ErrorCode : int32_t {
  kOk = 0,
  // Storage and engine.
  kIoError = 90001,            // the disk or RocksDB failed; nothing was acknowledged
  kCorruption = 90002,         // stored bytes do not verify
  kNotFound = 90003,           // no such position, stream or key
  kInvalidArgument = 90004,    // a malformed request to the engine
  kWrongExpectedVersion = 90005,  // optimistic concurrency conflict (HTTP 412)
  kRequestIdReused = 90006,    // same request id, different request body (HTTP 409)
  kUniqueKeyTaken = 90007,     // a reserved unique key (e.g. a domain) is already owned
  kShuttingDown = 90008,       // the writer no longer accepts commands
  kFormatMismatch = 90009,     // data folder written by an incompatible version
  kBusy = 90010,               // queue full; retry later (HTTP 503)
  kInvalidCatalog = 90011,     // the offer catalog file is malformed (start-up error)
  kKafka = 90012,              // Kafka is unreachable or refused (the relay retries; commands never wait)
  kStorageFull = 90013,        // the disk is full: writes are refused until space returns (HTTP 503)
  kLogDamaged = 90014,         // the log lost or changed acknowledged events: writes are refused until healed (HTTP 503)

  // Domain rejections, Partner Center numbering where one exists.
  kQuantityOutOfRange = 2002,                  // quantity outside the offer's min/max
  kSubscriptionDeleted = 2011,                 // the subscription is cancelled (status deleted)
  kStaleEtag = 2055,                           // If-Match does not match the current version
  kSubscriptionNotFound = 20003,               // no such subscription (for this partner)
  kRegistrationNumberMissing = 600049,         // the country needs an organization registration number
  kRegistrationNumberMalformed = 600050,
  kPhoneRequired = 600051,
  kInvalidOffer = 800004,                      // no such offer
  kAddOnNotRelatedToParent = 800029,           // the add-on does not list the parent's offer
  kOfferNotInInstance = 800070,                // the offer belongs to the other instance
  kSuspendedSubscriptionCannotBeUpdated = 800091,
  kSubscriptionNotUpdatable = 800096,          // expired or disabled: its term is over
  kUnsupportedCurrency = 900169,               // an order's currencyCode is not the catalog's
  kInvalidTerm = 800121,                       // a termDuration the offer is not sold with
  kCancellationWindowPassed = 900213,          // cancelling after the 168-hour window
  kSeatReductionWindowPassed = 900214,         // removing seats after their 168-hour window
  kInvalidBillingCycle = 900269,               // a billing cycle the offer's term is not sold with
  kBillingCycleLongerThanTerm = 900270,        // e.g. a P1M term billed annually
  kCustomerAgreementRequired = 13605,          // buying for a customer with no accepted Microsoft Customer Agreement (HTTP 403)
  kAgreementAlreadyExists = 600061,            // the same contact's acceptance is confirmed already (HTTP 409)

  // Domain rejections of tally's own (70001-70999).
  kDomainTaken = 70001,              // <prefix>.onmicrosoft.com belongs to another customer
  kInvalidDomainPrefix = 70002,      // letters and digits, 1-27 characters
  kInvalidAddress = 70003,           // a required address field is missing or malformed
  kCustomerNotFound = 70004,         // no such customer (or no relationship with it)
  kInvalidEmail = 70005,
  kInvalidCulture = 70006,           // e.g. en-US
  kInvalidLanguage = 70007,          // two-letter ISO 639-1
  kInvalidCountry = 70008,           // ISO 3166-1 alpha-2
  kInvalidCompanyName = 70009,
  kInvalidQuantity = 70010,          // not a positive whole number
  kInvalidLineItems = 70012,         // empty order, too many items, duplicate line numbers
  kAddOnNeedsParent = 70013,         // an add-on offer ordered without a parent subscription
  kNotAnAddOn = 70014,               // a base offer ordered with a parent subscription
  kParentNotActive = 70015,          // add-on on, or reactivation under, a parent that is not active
  kInvalidFriendlyName = 70016,
  kInvalidStatus = 70017,            // status other than active, suspended, deleted
  kRelationshipExists = 70018,       // the partner already serves this customer
  kInvitationNotFound = 70019,
  kMultipartnerNotAvailable = 70020, // relationship requests are refused in the usgov instance
  kActiveSubscriptionsRemain = 70021, // a relationship ends only when its subscriptions are suspended or cancelled
  kLastRelationship = 70022,         // a customer keeps at least one partner
  kFieldTooLong = 70023,
  kPersonalDataErased = 70024,       // the customer's personal data was erased: its billing profile is gone for good
  kNotPartnerOfRecord = 70025,       // an invited reseller changing what the partner of record owns (HTTP 403)
  kPartnerOfRecordLeavesLast = 70026, // the partner of record ends its relationship while others remain (409)

  // The HTTP API's own (tools/tallyd/server/).
  kUnauthorized = 70030,             // no bearer token, or an unknown one (HTTP 401)
  kRouteNotFound = 70031,            // no such endpoint (HTTP 404)
  kMethodNotAllowed = 70032,         // the endpoint exists, the method does not (HTTP 405)
  kMalformedJson = 70033,            // the body is not JSON (or not UTF-8), or nests too deep
  kInvalidField = 70034,             // a field has the wrong type, is missing, or is unknown
  kBodyTooLarge = 70035,             // the body is over the limit (HTTP 413)
  kUnsupportedMediaType = 70036,     // a body that is not application/json (HTTP 415)
  kInvalidQuery = 70037,             // a query parameter is malformed or out of range
  kHeadersTooLarge = 70038,          // the request's headers are over the limit (HTTP 431)
  kReadOnlyField = 70039,            // a whole resource sent back changes a field that cannot change
  kNextTermNotAllowed = 70040,       // scheduled changes on a subscription that is not active or does not renew
  kAgreementNotAvailable = 70041,    // customer agreements are not part of the usgov instance (HTTP 403)
  kInvalidAgreement = 70042,         // an agreement's type, template, date or contact is not acceptable
};

// "io_error", "wrong_expected_version", ... (stable, snake_case).
std::string_view ErrorCodeName(ErrorCode code);

// The HTTP status an error answers with (4xx for rejections, 5xx for the
// engine's own failures).
int HttpStatus(ErrorCode code);

}  // namespace tally
