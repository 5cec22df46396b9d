// The offer catalog: what a partner can sell, with the rules orders are
// checked against (quantities, add-on prerequisites, billing cycles,
// instance). Loaded once at start from a JSON file (engine/catalog/offers.json)
// and immutable afterwards, so it may be read from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/base/result.h"

namespace tally::domain {

// An engine instance: the public cloud, or the US Government cloud (no
// multipartner, its own catalog).
enum class Instance { kGlobal, kUsGov };

std::string_view InstanceName(Instance instance);  // "global", "usgov"
Result<Instance> ParseInstance(std::string_view name);

// Partner Center's plans (new commerce): a term (ISO 8601 duration) and
// how often it is billed. A P1M term bills monthly; P1Y monthly or annual;
// P3Y monthly, annual or triennial.
bool IsTermDuration(std::string_view term);   // "P1M", "P1Y", "P3Y"
bool IsBillingCycle(std::string_view cycle);  // "monthly", "annual", "triennial"
int TermMonths(std::string_view term);        // 1, 12, 36; 0 for anything else
int CycleMonths(std::string_view cycle);      // 1, 12, 36; 0 for anything else
bool CycleFitsTerm(std::string_view term, std::string_view cycle);

// The unit price of an offer on one plan, in force from effective_start_us
// until a later price of the same plan starts.
struct Price {
  std::string term_duration;
  std::string billing_cycle;
  int64_t unit_price = 0;  // minor units of the catalog's currency, per seat per billing period
  int64_t effective_start_us = 0;
  bool operator==(const Price&) const = default;
};

struct Offer {
  std::string id;
  std::string name;
  std::string description;
  int32_t min_quantity = 1;
  int32_t max_quantity = 1;
  bool is_add_on = false;
  std::vector<std::string> prerequisite_offers;  // base offers an add-on can attach to
  std::vector<std::string> upgrade_targets;      // base offers this one can be upgraded to at renewal
  std::vector<std::string> billing_cycles;       // "monthly", "annual", ...: those of its prices
  Instance instance = Instance::kGlobal;
  std::vector<Price> prices;  // by plan, then effective start

  bool SupportsBillingCycle(std::string_view cycle) const;
  bool OffersTerm(std::string_view term) const;
  // The price of a plan in force at `now_us` (the latest that started), or
  // nullptr when the offer has none.
  const Price* PriceAt(std::string_view term, std::string_view cycle, int64_t now_us) const;
  // Every plan's price in force at `now_us`, and those that start later.
  std::vector<const Price*> PricesFrom(int64_t now_us) const;
  bool HasPrerequisite(std::string_view base_offer_id) const;
  bool CanUpgradeTo(std::string_view offer_id) const;
};

class Catalog {
 public:
  // Parses and validates a catalog. Every problem is reported, each naming
  // the offer and field, in one kInvalidCatalog error. Unknown keys are
  // problems too: a typo in a hand-edited file must not pass silently.
  static Result<Catalog> FromJson(std::string_view text);
  static Result<Catalog> Load(const std::string& path);

  // nullptr when there is no such offer.
  const Offer* Find(std::string_view id) const;
  std::vector<const Offer*> ForInstance(Instance instance) const;
  // The add-ons (of the same instance) that list `base_offer_id` as prerequisite.
  std::vector<const Offer*> AddOnsOf(std::string_view base_offer_id) const;
  const std::vector<Offer>& offers() const { return offers_; }
  // ISO 4217 code of the catalog's prices (the file's "currency").
  const std::string& currency() const { return currency_; }

 private:
  std::vector<Offer> offers_;
  std::string currency_ = "USD";
  std::unordered_map<std::string, size_t> by_id_;
};

}  // namespace tally::domain
