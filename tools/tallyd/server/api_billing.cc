// Unbilled billing line items (the billing read model), as Partner
// Center's GET /v1/invoices/unbilled/lineitems serves its new-commerce
// reconciliation items: the calling partner's, or one customer's.
#include <chrono>

#include "projections/as_of.h"
#include "projections/billing/billing.h"
#include "tools/tallyd/server/api_call.h"
#include "tools/tallyd/server/responses.h"

namespace tally::server {
namespace {

constexpr size_t kMaxBillingPage = 2000;  // Partner Center's page size for reconciliation items

// 00:00 UTC of the first day of the month `back` months before `us`'s.
int64_t MonthStart(int64_t us, int back) {
  using namespace std::chrono;
  const year_month_day day{floor<days>(sys_time<microseconds>(microseconds(us)))};
  const year_month month = year_month(day.year(), day.month()) - months(back);
  return duration_cast<microseconds>(sys_days(month / 1).time_since_epoch()).count();
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int v = 0;
    for (char c : hex.substr(i, 2)) {
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + d;
    }
    out.push_back(static_cast<char>(v));
  }
  return out;
}

// The query's value for `name` in lower case (its values are case-insensitive), or "" when absent.
template <typename CallT>
std::string Lower(const CallT& call, const std::string& name) {
  auto it = call.query.find(name);
  return it == call.query.end() ? "" : projections::LowerAscii(it->second);
}

}  // namespace

void Api::UnbilledLineItems(Call& call, const std::string& customer_id) {
  if (call.method() != http::verb::get) return call.Error(ErrorCode::kMethodNotAllowed, "GET only");
  // Partner Center's query, checked: what tally serves is one-time
  // (new-commerce) billing line items in the catalog's currency.
  if (Lower(call, "provider") != "onetime") {
    return call.Error(ErrorCode::kInvalidQuery, "provider must be onetime (new-commerce items are all tally bills)");
  }
  if (Lower(call, "invoicelineitemtype") != "billinglineitems") {
    return call.Error(ErrorCode::kInvalidQuery, "invoicelineitemtype must be billinglineitems");
  }
  if (Lower(call, "currencycode") != projections::LowerAscii(ctx_.catalog->currency())) {
    return call.Error(ErrorCode::kUnsupportedCurrency,
                      "currencycode must be " + ctx_.catalog->currency() + ": this catalog's prices are in it");
  }
  const std::string period = Lower(call, "period");
  if (period != "current" && period != "previous") {
    return call.Error(ErrorCode::kInvalidQuery, "period must be current or previous");
  }
  auto page_size = PageSize(call, kMaxBillingPage);
  if (!page_size.ok()) return call.Error(page_size.error());
  const std::string token = Continuation(call);
  auto after = HexDecode(token);
  if (!after || token.size() > 2048) return call.Error(ErrorCode::kInvalidQuery, "malformed continuation");
  auto serve = [this, customer_id, period, size = *page_size, after = *after](Call& call) {
    if (!customer_id.empty() && !VisibleCustomer(call, *ctx_.store, customer_id)) return;
    const int64_t now = ctx_.log->NowMicros();
    projections::BillingReader::Filter filter;
    filter.partner_id = call.partner.id;
    filter.customer_id = customer_id;
    // The current period: this month's lines that have begun; the previous: last month's.
    filter.from_us = MonthStart(now, period == "current" ? 0 : 1);
    filter.to_us = period == "current" ? now + 1 : MonthStart(now, 0);
    // The position the answer reflects at least: read before the lines.
    auto checkpoint = ctx_.store->ReadCheckpoint(*ctx_.store->Active("billing"));
    if (!checkpoint.ok()) return call.Error(checkpoint.error());
    std::vector<projections::billing::LineItem> lines;
    std::string last_key, next;
    const Status read = projections::BillingReader(*ctx_.store).ForEach(
        filter, after, [&](std::string_view key, const projections::billing::LineItem& line) {
          if (lines.size() == size) {
            next = HexEncode(last_key);
            return false;
          }
          lines.push_back(line);
          last_key = key;
          return true;
        });
    if (!read.ok()) return call.Error(read.error());
    json items = json::array();
    for (const auto& line : lines) items.push_back(projections::LineItemJson(line));
    json body = CollectionJson(std::move(items));
    body["position"] = checkpoint->position;
    body["periodStart"] = projections::FormatUtcTime(filter.from_us);
    if (!next.empty()) {
      const std::string self(SV(call.request.target()));
      body["continuationToken"] = next;
      body["links"] = {{"next", {{"uri", self.substr(0, self.find("&continuation="))},
                                 {"method", "GET"},
                                 {"headers", {{{"key", "MS-ContinuationToken"}, {"value", next}}}}}}};
    }
    call.Answer(call.Make(http::status::ok, body));
  };
  AfterReads(call, customer_id, serve);
}

}  // namespace tally::server
