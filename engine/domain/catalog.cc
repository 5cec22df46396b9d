#include "engine/domain/catalog.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace tally::domain {
namespace {

constexpr int32_t kMaxQuantityLimit = 10'000'000;
const std::set<std::string, std::less<>> kBillingCycles = {"monthly", "annual", "triennial", "none"};
const std::set<std::string, std::less<>> kOfferKeys = {
    "id", "name", "description", "minimumQuantity", "maximumQuantity", "isAddOn",
    "prerequisiteOffers", "supportedBillingCycles", "instance"};

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

bool Offer::SupportsBillingCycle(std::string_view cycle) const {
  return std::find(billing_cycles.begin(), billing_cycles.end(), cycle) != billing_cycles.end();
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
    o.billing_cycles = StringArray(j, where, "supportedBillingCycles", problems);
    if (o.billing_cycles.empty()) problems.Add(where, "supportedBillingCycles must not be empty");
    for (const auto& c : o.billing_cycles) {
      if (!kBillingCycles.count(c)) problems.Add(where, "unknown billing cycle \"" + c + "\"");
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
