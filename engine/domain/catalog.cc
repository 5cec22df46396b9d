#include "engine/domain/catalog.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <tuple>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace tally::domain {
namespace {

constexpr int32_t kMaxQuantityLimit = 10'000'000;
const std::set<std::string, std::less<>> kOfferKeys = {
    "id", "name", "description", "minimumQuantity", "maximumQuantity", "isAddOn",
    "prerequisiteOffers", "prices", "instance", "upgradeTargets"};
const std::set<std::string, std::less<>> kPriceKeys = {"termDuration", "billingCycle", "unitPrice",
                                                       "effectiveStartDate"};

// Collects problems as "where: what".
class Problems {
 public:
  void Add(const std::string& where, const std::string& what) { list_.push_back(where + ": " + what); }
  bool empty() const { return list_.empty(); }
  Error ToError() const {
    std::string message = std::to_string(list_.size()) + " problem(s) in the offer catalog: ";
    for (size_t i = 0; i < list_.size(); ++i) message += (i ? "; " : "") + list_[i];
    return Error(ErrorCode::kInvalidCatalog, message);
  }

 private:
  std::vector<std::string> list_;
};

std::vector<std::string> StringArray(const nlohmann::json& j, const std::string& where,
                                     const char* key, Problems& problems) {
  std::vector<std::string> out;
  if (!j.contains(key)) return out;
  const auto& a = j.at(key);
  if (!a.is_array()) {
    problems.Add(where, std::string(key) + " must be an array of strings");
    return out;
  }
  for (const auto& v : a) {
    if (!v.is_string() || v.get<std::string>().empty()) {
      problems.Add(where, std::string(key) + " must hold non-empty strings");
      continue;
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

// "2024-01-01" (or an RFC 3339 time at midnight UTC) -> microseconds.
std::optional<int64_t> ParseDate(const std::string& text) {
  unsigned y = 0, m = 0, d = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3 || text.size() != 10) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(static_cast<int>(y)), std::chrono::month(m),
                                        std::chrono::day(d)};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::sys_days(ymd).time_since_epoch()).count();
}

std::vector<Price> Prices(const nlohmann::json& j, const std::string& where, Problems& problems) {
  std::vector<Price> out;
  if (!j.contains("prices") || !j.at("prices").is_array() || j.at("prices").empty()) {
    problems.Add(where, "prices must be a non-empty array of {termDuration, billingCycle, unitPrice, effectiveStartDate}");
    return out;
  }
  const auto& list = j.at("prices");
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& p = list[i];
    const std::string at = where + ".prices[" + std::to_string(i) + "]";
    if (!p.is_object()) {
      problems.Add(at, "must be an object");
      continue;
    }
    for (const auto& [key, value] : p.items()) {
      if (!kPriceKeys.count(key)) problems.Add(at, "unknown key \"" + key + "\"");
    }
    Price price;
    const auto text = [&](const char* key) {
      return p.contains(key) && p.at(key).is_string() ? p.at(key).get<std::string>() : std::string();
    };
    price.term_duration = text("termDuration");
    price.billing_cycle = text("billingCycle");
    if (!IsTermDuration(price.term_duration)) problems.Add(at, "termDuration must be P1M, P1Y or P3Y");
    if (!IsBillingCycle(price.billing_cycle)) problems.Add(at, "billingCycle must be monthly, annual or triennial");
    if (IsTermDuration(price.term_duration) && IsBillingCycle(price.billing_cycle) &&
        !CycleFitsTerm(price.term_duration, price.billing_cycle)) {
      problems.Add(at, "a " + price.term_duration + " term is not billed " + price.billing_cycle);
    }
    // A number in the currency's major unit, at most two decimals.
    const double major = p.contains("unitPrice") && p.at("unitPrice").is_number() ? p.at("unitPrice").get<double>() : -1;
    const double minor = major * 100;
    if (major < 0 || major > 1e12 || std::fabs(minor - std::llround(minor)) > 1e-6) {
      problems.Add(at, "unitPrice must be a number >= 0 with at most two decimals");
    } else {
      price.unit_price = std::llround(minor);
    }
    auto start = ParseDate(text("effectiveStartDate"));
    if (!start) {
      problems.Add(at, "effectiveStartDate must be a date (YYYY-MM-DD)");
    } else {
      price.effective_start_us = *start;
    }
    for (const auto& other : out) {
      if (other.term_duration == price.term_duration && other.billing_cycle == price.billing_cycle &&
          other.effective_start_us == price.effective_start_us) {
        problems.Add(at, "two prices of one plan start on the same day");
      }
    }
    out.push_back(std::move(price));
  }
  std::sort(out.begin(), out.end(), [](const Price& a, const Price& b) {
    return std::tie(a.term_duration, a.billing_cycle, a.effective_start_us) <
           std::tie(b.term_duration, b.billing_cycle, b.effective_start_us);
  });
  return out;
}

}  // namespace

std::string_view InstanceName(Instance instance) {
  return instance == Instance::kUsGov ? "usgov" : "global";
}

Result<Instance> ParseInstance(std::string_view name) {
  if (name == "global") return Instance::kGlobal;
  if (name == "usgov") return Instance::kUsGov;
  return Error(ErrorCode::kInvalidArgument,
               "unknown instance '" + std::string(name) + "' (expected global or usgov)");
}

bool IsTermDuration(std::string_view term) { return TermMonths(term) != 0; }
bool IsBillingCycle(std::string_view cycle) { return CycleMonths(cycle) != 0; }

int TermMonths(std::string_view term) {
  if (term == "P1M") return 1;
  if (term == "P1Y") return 12;
  if (term == "P3Y") return 36;
  return 0;
}

int CycleMonths(std::string_view cycle) {
  if (cycle == "monthly") return 1;
  if (cycle == "annual") return 12;
  if (cycle == "triennial") return 36;
  return 0;
}

bool CycleFitsTerm(std::string_view term, std::string_view cycle) {
  return IsTermDuration(term) && IsBillingCycle(cycle) && CycleMonths(cycle) <= TermMonths(term);
}

bool Offer::OffersTerm(std::string_view term) const {
  return std::any_of(prices.begin(), prices.end(), [&](const Price& p) { return p.term_duration == term; });
}

const Price* Offer::PriceAt(std::string_view term, std::string_view cycle, int64_t now_us) const {
  const Price* found = nullptr;
  for (const auto& p : prices) {
    if (p.term_duration == term && p.billing_cycle == cycle && p.effective_start_us <= now_us) found = &p;
  }
  return found;  // prices are sorted by start within a plan
}

std::vector<const Price*> Offer::PricesFrom(int64_t now_us) const {
  std::vector<const Price*> out;
  for (size_t i = 0; i < prices.size(); ++i) {
    const Price& p = prices[i];
    const bool later_of_same_plan_started = i + 1 < prices.size() &&
                                            prices[i + 1].term_duration == p.term_duration &&
                                            prices[i + 1].billing_cycle == p.billing_cycle &&
                                            prices[i + 1].effective_start_us <= now_us;
    if (!later_of_same_plan_started) out.push_back(&p);
  }
  return out;
}

bool Offer::SupportsBillingCycle(std::string_view cycle) const {
  return std::find(billing_cycles.begin(), billing_cycles.end(), cycle) != billing_cycles.end();
}

bool Offer::CanUpgradeTo(std::string_view offer_id) const {
  return std::find(upgrade_targets.begin(), upgrade_targets.end(), offer_id) != upgrade_targets.end();
}

bool Offer::HasPrerequisite(std::string_view base_offer_id) const {
  return std::find(prerequisite_offers.begin(), prerequisite_offers.end(), base_offer_id) !=
         prerequisite_offers.end();
}

Result<Catalog> Catalog::FromJson(std::string_view text) {
  nlohmann::json root = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Error(ErrorCode::kInvalidCatalog, "the offer catalog is not valid JSON");
  if (!root.is_object() || !root.contains("offers") || !root.at("offers").is_array()) {
    return Error(ErrorCode::kInvalidCatalog, "the offer catalog must be an object with an \"offers\" array");
  }
  Problems problems;
  Catalog catalog;
  // The currency of every price in the catalog: ISO 4217, "USD" when unsaid.
  if (root.contains("currency")) {
    const auto& c = root.at("currency");
    const bool iso = c.is_string() && c.get<std::string>().size() == 3 &&
                     std::all_of(c.get_ref<const std::string&>().begin(), c.get_ref<const std::string&>().end(),
                                 [](char ch) { return ch >= 'A' && ch <= 'Z'; });
    if (iso) {
      catalog.currency_ = c.get<std::string>();
    } else {
      problems.Add("currency", "must be an ISO 4217 code such as \"USD\"");
    }
  }
  const auto& list = root.at("offers");
  if (list.empty()) problems.Add("offers", "the catalog has no offers");
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& j = list[i];
    std::string where = "offers[" + std::to_string(i) + "]";
    if (!j.is_object()) {
      problems.Add(where, "must be an object");
      continue;
    }
    for (const auto& [key, value] : j.items()) {
      if (!kOfferKeys.count(key)) problems.Add(where, "unknown key \"" + key + "\"");
    }
    Offer o;
    if (!j.contains("id") || !j.at("id").is_string() || j.at("id").get<std::string>().empty()) {
      problems.Add(where, "id must be a non-empty string");
    } else {
      o.id = j.at("id").get<std::string>();
      where += " (" + o.id + ")";
    }
    if (!j.contains("name") || !j.at("name").is_string() || j.at("name").get<std::string>().empty()) {
      problems.Add(where, "name must be a non-empty string");
    } else {
      o.name = j.at("name").get<std::string>();
    }
    if (j.contains("description") && j.at("description").is_string()) {
      o.description = j.at("description").get<std::string>();
    }
    for (auto [key, field] : {std::pair{"minimumQuantity", &o.min_quantity},
                              std::pair{"maximumQuantity", &o.max_quantity}}) {
      if (!j.contains(key) || !j.at(key).is_number_integer() || j.at(key).get<int64_t>() < 1 ||
          j.at(key).get<int64_t>() > kMaxQuantityLimit) {
        problems.Add(where, std::string(key) + " must be an integer from 1 to " +
                                std::to_string(kMaxQuantityLimit));
      } else {
        *field = j.at(key).get<int32_t>();
      }
    }
    if (o.max_quantity < o.min_quantity) {
      problems.Add(where, "maximumQuantity " + std::to_string(o.max_quantity) +
                              " is below minimumQuantity " + std::to_string(o.min_quantity));
    }
    if (!j.contains("isAddOn") || !j.at("isAddOn").is_boolean()) {
      problems.Add(where, "isAddOn must be true or false");
    } else {
      o.is_add_on = j.at("isAddOn").get<bool>();
    }
    o.prerequisite_offers = StringArray(j, where, "prerequisiteOffers", problems);
    o.upgrade_targets = StringArray(j, where, "upgradeTargets", problems);
    o.prices = Prices(j, where, problems);
    for (const auto& p : o.prices) {
      if (IsBillingCycle(p.billing_cycle) && !o.SupportsBillingCycle(p.billing_cycle)) {
        o.billing_cycles.push_back(p.billing_cycle);
      }
    }
    if (!j.contains("instance") || !j.at("instance").is_string()) {
      problems.Add(where, "instance must be \"global\" or \"usgov\"");
    } else if (auto inst = ParseInstance(j.at("instance").get<std::string>()); !inst.ok()) {
      problems.Add(where, inst.error().message());
    } else {
      o.instance = *inst;
    }
    if (!o.id.empty() && !catalog.by_id_.emplace(o.id, catalog.offers_.size()).second) {
      problems.Add(where, "duplicate offer id");
      continue;
    }
    if (!o.id.empty()) catalog.offers_.push_back(std::move(o));
  }
  // Cross-offer rules, once every offer is known.
  for (const auto& o : catalog.offers_) {
    const std::string where = "offer " + o.id;
    if (!o.is_add_on && !o.prerequisite_offers.empty()) {
      problems.Add(where, "a base offer cannot have prerequisiteOffers");
    }
    if (o.is_add_on && o.prerequisite_offers.empty()) {
      problems.Add(where, "an add-on needs at least one prerequisite offer");
    }
    for (const auto& p : o.prerequisite_offers) {
      const Offer* base = catalog.Find(p);
      if (base == nullptr) {
        problems.Add(where, "prerequisite " + p + " is not in the catalog");
      } else if (base->is_add_on) {
        problems.Add(where, "prerequisite " + p + " is an add-on, not a base offer");
      } else if (base->instance != o.instance) {
        problems.Add(where, "prerequisite " + p + " belongs to another instance");
      }
    }
    for (const auto& t : o.upgrade_targets) {
      const Offer* target = catalog.Find(t);
      if (o.is_add_on) {
        problems.Add(where, "an add-on cannot have upgradeTargets");
      } else if (target == nullptr) {
        problems.Add(where, "upgrade target " + t + " is not in the catalog");
      } else if (target->is_add_on || target->instance != o.instance || t == o.id) {
        problems.Add(where, "upgrade target " + t + " must be another base offer of the same instance");
      }
    }
  }
  if (!problems.empty()) return problems.ToError();
  return catalog;
}

Result<Catalog> Catalog::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kInvalidCatalog, "cannot read the offer catalog " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto catalog = FromJson(ss.str());
  if (!catalog.ok()) {
    return Error(ErrorCode::kInvalidCatalog, path + ": " + catalog.error().message());
  }
  return catalog;
}

const Offer* Catalog::Find(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  return it == by_id_.end() ? nullptr : &offers_[it->second];
}

std::vector<const Offer*> Catalog::ForInstance(Instance instance) const {
  std::vector<const Offer*> out;
  for (const auto& o : offers_) {
    if (o.instance == instance) out.push_back(&o);
  }
  return out;
}

std::vector<const Offer*> Catalog::AddOnsOf(std::string_view base_offer_id) const {
  std::vector<const Offer*> out;
  for (const auto& o : offers_) {
    if (o.is_add_on && o.HasPrerequisite(base_offer_id)) out.push_back(&o);
  }
  return out;
}

}  // namespace tally::domain
