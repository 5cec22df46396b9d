#include "projections/as_of.h"

#include <charconv>
#include <cstdio>
#include <ctime>

#include "engine/domain/decide.h"
#include "events/codec.h"
#include "projections/customer/customer.h"
#include "projections/license/license.h"

namespace tally::projections {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + n, *out);
  return ec == std::errc() && p == s.data() + pos + n;
}

}  // namespace

Result<int64_t> ParseUtcTime(std::string_view text) {
  auto bad = [&] {
    return Error(ErrorCode::kInvalidArgument, "'" + std::string(text) +
                                                  "' is not a UTC time: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
  };
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 23, minute = 59, second = 59;
  int64_t micros = 999'999;
  if (text.size() < 10 || text[4] != '-' || text[7] != '-' || !Digits(text, 0, 4, &year) ||
      !Digits(text, 5, 2, &month) || !Digits(text, 8, 2, &day)) {
    return bad();
  }
  if (text.size() > 10) {
    if (text.size() < 20 || text[10] != 'T' || text[13] != ':' || text[16] != ':' || text.back() != 'Z' ||
        !Digits(text, 11, 2, &hour) || !Digits(text, 14, 2, &minute) || !Digits(text, 17, 2, &second)) {
      return bad();
    }
    micros = 0;
    std::string_view frac = text.substr(19, text.size() - 20);
    if (!frac.empty()) {
      if (frac[0] != '.' || frac.size() < 2 || frac.size() > 7) return bad();
      int digits = 0;
      if (!Digits(frac, 1, frac.size() - 1, &digits)) return bad();
      micros = digits;
      for (size_t i = frac.size() - 1; i < 6; ++i) micros *= 10;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return bad();
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const time_t t = timegm(&tm);
  if (tm.tm_mday != day) return bad();  // e.g. 31 February
  return static_cast<int64_t>(t) * 1'000'000 + micros;
}

std::string FormatUtcTime(int64_t us) {
  const time_t secs = static_cast<time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(us % 1'000'000));
  return buf;
}

Result<std::string> ResolveCustomer(const EventLog& log, std::string_view customer) {
  if (customer.find('.') == std::string_view::npos) return std::string(customer);
  auto owner = log.UniqueOwner(domain::DomainKey(LowerAscii(customer)));
  if (!owner.ok()) return owner.error();
  if (!owner->has_value()) {
    return Error(ErrorCode::kCustomerNotFound, "no customer has the domain " + std::string(customer));
  }
  return **owner;
}

Status ForEachEventUntil(const EventLog& log, const std::string& customer_id, int64_t at_us,
                         const std::function<Status(uint64_t, const events::Envelope&)>& fn) {
  auto events = log.ReadStream(domain::CustomerStreamId(customer_id), 1, SIZE_MAX);
  if (!events.ok()) return events.error();
  if (events->empty()) return Error(ErrorCode::kCustomerNotFound, "no customer " + customer_id);
  for (const auto& stored : *events) {
    auto env = events::VerifyEnvelope(stored.envelope);
    if (!env.ok()) {
      return Error(ErrorCode::kCorruption, "position " + std::to_string(stored.position) + ": " +
                                               env.error().message());
    }
    if ((*env)->recorded_at_us() > at_us) break;  // a stream is in time order
    TALLY_RETURN_IF_ERROR(fn(stored.position, **env));
  }
  return OkStatus();
}

Result<AsOf> CustomerAsOf(const EventLog& log, std::string_view customer, int64_t at_us) {
  auto resolved = ResolveCustomer(log, customer);
  if (!resolved.ok()) return resolved.error();
  const std::string customer_id = *resolved;
  AsOf out;
  auto key = log.FindKey(customer_id);  // today's key: an erased customer stays erased in the past too
  if (!key.ok()) return key.error();
  if (key->state == personal::KeyState::kPresent) out.state.personal_key = key->key;
  TALLY_RETURN_IF_ERROR(ForEachEventUntil(log, customer_id, at_us, [&](uint64_t position, const events::Envelope& e) {
    domain::Evolve(out.state, e);
    ++out.events;
    out.last_position = position;
    return OkStatus();
  }));
  if (!out.state.exists) out.state.customer_id = customer_id;
  return out;
}

nlohmann::json AsOfJson(const AsOf& as_of, int64_t at_us) {
  using nlohmann::json;
  const auto& s = as_of.state;
  json j = {{"customerId", s.customer_id},
            {"asOf", FormatUtcTime(at_us)},
            {"existed", s.exists},
            {"eventsApplied", as_of.events},
            {"lastPosition", as_of.last_position}};
  if (!s.exists) return j;
  j["domain"] = s.domain;
  j["companyName"] = s.company_name;
  j["instance"] = s.instance == domain::Instance::kUsGov ? "usgov" : "global";
  j["version"] = s.version;
  j["personalDataErased"] = s.personal_data_erased;
  j["createdAt"] = FormatUtcTime(s.created_at_us);
  json partners = json::array();
  for (const auto& [id, rel] : s.partners) {
    partners.push_back({{"partnerId", id},
                        {"role", rel.invitation_id.empty() ? "reseller_of_record" : "reseller"},
                        {"since", FormatUtcTime(rel.since_us)}});
  }
  j["partners"] = partners;
  json subs = json::array();
  std::map<std::string, bool> sellers;
  for (const auto& [id, sub] : s.subscriptions) {
    sellers[sub.partner_id] = true;
    subs.push_back({{"id", id},
                    {"partnerId", sub.partner_id},
                    {"offerId", sub.offer_id},
                    {"friendlyName", sub.friendly_name},
                    {"quantity", sub.quantity},
                    {"status", StatusName(sub.status)},
                    {"parentSubscriptionId", sub.parent_id},
                    {"autoRenewEnabled", sub.auto_renew}});
  }
  j["subscriptions"] = subs;
  json skus = json::array();
  for (const auto& [partner, unused] : sellers) {
    for (const auto& t : TotalsOf(s, partner).offers) {
      skus.push_back({{"partnerId", partner},
                      {"offerId", t.offer_id},
                      {"activeUnits", t.active_units},
                      {"suspendedUnits", t.suspended_units},
                      {"addOnUnits", t.add_on_units},
                      {"subscriptions", t.subscriptions}});
    }
  }
  j["subscribedSkus"] = skus;
  return j;
}

}  // namespace tally::projections
