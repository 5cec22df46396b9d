#include "engine/domain/catalog.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tally::domain {
namespace {

TEST(CatalogTest, TheShippedCatalogLoadsAndIsRealistic) {
  auto catalog = Catalog::Load(TALLY_OFFERS_JSON);
  ASSERT_TRUE(catalog.ok()) << catalog.error().ToString();
  EXPECT_GE(catalog->offers().size(), 20u);
  size_t add_ons = 0;
  for (const auto& o : catalog->offers()) add_ons += o.is_add_on;
  EXPECT_GE(add_ons, 4u);
  EXPECT_GE(catalog->ForInstance(Instance::kGlobal).size(), 20u);
  EXPECT_GE(catalog->ForInstance(Instance::kUsGov).size(), 3u);
  const Offer* basic = catalog->Find("3b555118-da6a-4418-894f-7df1e2096870");
  ASSERT_NE(basic, nullptr);
  EXPECT_EQ(basic->name, "Microsoft 365 Business Basic");
  EXPECT_EQ(basic->max_quantity, 300);
  EXPECT_TRUE(basic->SupportsBillingCycle("monthly"));
  EXPECT_FALSE(basic->SupportsBillingCycle("triennial"));
  auto add_ons_of_basic = catalog->AddOnsOf(basic->id);
  ASSERT_FALSE(add_ons_of_basic.empty());
  for (const Offer* a : add_ons_of_basic) EXPECT_TRUE(a->HasPrerequisite(basic->id));
  EXPECT_EQ(catalog->Find("no-such-offer"), nullptr);
}

// A valid two-offer catalog to break one field at a time.
nlohmann::json Valid() {
  return nlohmann::json::parse(R"({"offers": [
    {"id": "base", "name": "Base", "minimumQuantity": 1, "maximumQuantity": 10, "isAddOn": false,
     "prerequisiteOffers": [], "prices": [{"termDuration": "P1M", "billingCycle": "monthly", "unitPrice": 7.2, "effectiveStartDate": "2024-01-01"}], "instance": "global"},
    {"id": "addon", "name": "Add-on", "minimumQuantity": 1, "maximumQuantity": 10, "isAddOn": true,
     "prerequisiteOffers": ["base"], "prices": [{"termDuration": "P1M", "billingCycle": "monthly", "unitPrice": 7.2, "effectiveStartDate": "2024-01-01"}], "instance": "global"}
  ]})");
}

TEST(CatalogTest, AValidCatalogLoads) {
  auto catalog = Catalog::FromJson(Valid().dump());
  ASSERT_TRUE(catalog.ok()) << catalog.error().ToString();
  EXPECT_EQ(catalog->offers().size(), 2u);
  EXPECT_EQ(catalog->currency(), "USD") << "the default";
  const Offer* base = catalog->Find("base");
  ASSERT_EQ(base->prices.size(), 1u);
  EXPECT_EQ(base->prices[0].unit_price, 720) << "minor units";
  EXPECT_TRUE(base->SupportsBillingCycle("monthly"));
  EXPECT_FALSE(base->SupportsBillingCycle("annual"));
}

// A price change the catalog holds takes effect on its date; before it the
// older price is in force, and both are shown from then on.
TEST(CatalogTest, APriceIsInForceFromItsDateUntilTheNextOne) {
  auto j = Valid();
  j["currency"] = "EUR";
  j["offers"][0]["prices"].push_back(
      {{"termDuration", "P1M"}, {"billingCycle", "monthly"}, {"unitPrice", 8}, {"effectiveStartDate", "2027-04-01"}});
  auto catalog = Catalog::FromJson(j.dump());
  ASSERT_TRUE(catalog.ok()) << catalog.error().ToString();
  EXPECT_EQ(catalog->currency(), "EUR");
  const Offer* base = catalog->Find("base");
  const int64_t april_2027 = 1806537600LL * 1000000;  // 2027-04-01T00:00:00Z
  ASSERT_NE(base->PriceAt("P1M", "monthly", april_2027 - 1), nullptr);
  EXPECT_EQ(base->PriceAt("P1M", "monthly", april_2027 - 1)->unit_price, 720);
  EXPECT_EQ(base->PriceAt("P1M", "monthly", april_2027)->unit_price, 800);
  EXPECT_EQ(base->PriceAt("P1M", "monthly", 0), nullptr) << "before any price";
  EXPECT_EQ(base->PriceAt("P1Y", "monthly", april_2027), nullptr) << "a plan it is not sold on";
  EXPECT_EQ(base->PricesFrom(april_2027 - 1).size(), 2u) << "in force, and the one to come";
  ASSERT_EQ(base->PricesFrom(april_2027).size(), 1u);
  EXPECT_EQ(base->PricesFrom(april_2027)[0]->unit_price, 800);
}

TEST(CatalogTest, PlansFollowPartnerCenter) {
  EXPECT_TRUE(CycleFitsTerm("P1M", "monthly"));
  EXPECT_FALSE(CycleFitsTerm("P1M", "annual"));
  EXPECT_TRUE(CycleFitsTerm("P1Y", "annual"));
  EXPECT_FALSE(CycleFitsTerm("P1Y", "triennial"));
  EXPECT_TRUE(CycleFitsTerm("P3Y", "triennial"));
  EXPECT_FALSE(CycleFitsTerm("P2Y", "monthly"));
  EXPECT_FALSE(CycleFitsTerm("P1Y", "weekly"));
}

struct Broken {
  const char* name;
  std::function<void(nlohmann::json&)> breakit;
  const char* expected;  // substring of the error message
};

TEST(CatalogTest, EveryKindOfBrokenCatalogIsAClearError) {
  const std::vector<Broken> cases = {
      {"not json", nullptr, "not valid JSON"},
      {"no offers", [](auto& j) { j.erase("offers"); }, "\"offers\" array"},
      {"empty", [](auto& j) { j["offers"] = nlohmann::json::array(); }, "no offers"},
      {"missing id", [](auto& j) { j["offers"][0].erase("id"); }, "id must be a non-empty string"},
      {"duplicate id", [](auto& j) { j["offers"][1]["id"] = "base"; }, "duplicate offer id"},
      {"missing name", [](auto& j) { j["offers"][0]["name"] = ""; }, "name must be"},
      {"min zero", [](auto& j) { j["offers"][0]["minimumQuantity"] = 0; }, "minimumQuantity must be"},
      {"max string", [](auto& j) { j["offers"][0]["maximumQuantity"] = "10"; }, "maximumQuantity must be"},
      {"max below min", [](auto& j) { j["offers"][0]["minimumQuantity"] = 5; j["offers"][0]["maximumQuantity"] = 2; },
       "is below minimumQuantity"},
      {"isAddOn missing", [](auto& j) { j["offers"][0].erase("isAddOn"); }, "isAddOn must be"},
      {"bad cycle", [](auto& j) { j["offers"][0]["prices"][0]["billingCycle"] = "weekly"; },
       "billingCycle must be monthly, annual or triennial"},
      {"bad term", [](auto& j) { j["offers"][0]["prices"][0]["termDuration"] = "P2Y"; }, "termDuration must be"},
      {"cycle longer than term", [](auto& j) { j["offers"][0]["prices"][0]["billingCycle"] = "annual"; },
       "a P1M term is not billed annual"},
      {"no prices", [](auto& j) { j["offers"][0]["prices"] = nlohmann::json::array(); }, "prices must be a non-empty"},
      {"negative price", [](auto& j) { j["offers"][0]["prices"][0]["unitPrice"] = -1; }, "unitPrice must be"},
      {"fraction of a cent", [](auto& j) { j["offers"][0]["prices"][0]["unitPrice"] = 1.005; }, "at most two decimals"},
      {"bad date", [](auto& j) { j["offers"][0]["prices"][0]["effectiveStartDate"] = "2024-02-30"; },
       "effectiveStartDate must be a date"},
      {"same plan same day", [](auto& j) { j["offers"][0]["prices"].push_back(j["offers"][0]["prices"][0]); },
       "two prices of one plan start on the same day"},
      {"unknown price key", [](auto& j) { j["offers"][0]["prices"][0]["price"] = 1; }, "unknown key \"price\""},
      {"bad currency", [](auto& j) { j["currency"] = "usd"; }, "ISO 4217"},
      {"bad instance", [](auto& j) { j["offers"][0]["instance"] = "mars"; }, "unknown instance"},
      {"unknown key", [](auto& j) { j["offers"][0]["maxQuantity"] = 3; }, "unknown key \"maxQuantity\""},
      {"add-on without prerequisite", [](auto& j) { j["offers"][1]["prerequisiteOffers"] = nlohmann::json::array(); },
       "needs at least one prerequisite"},
      {"missing prerequisite", [](auto& j) { j["offers"][1]["prerequisiteOffers"] = {"ghost"}; },
       "ghost is not in the catalog"},
      {"missing upgrade target", [](auto& j) { j["offers"][0]["upgradeTargets"] = {"ghost"}; },
       "upgrade target ghost is not in the catalog"},
      {"upgrade to an add-on", [](auto& j) { j["offers"][0]["upgradeTargets"] = nlohmann::json::array({j["offers"][1]["id"]}); },
       "must be another base offer"},
      {"upgrade to itself", [](auto& j) { j["offers"][0]["upgradeTargets"] = nlohmann::json::array({j["offers"][0]["id"]}); },
       "must be another base offer"},
      {"an add-on upgraded", [](auto& j) { j["offers"][1]["upgradeTargets"] = nlohmann::json::array({j["offers"][0]["id"]}); },
       "an add-on cannot have upgradeTargets"},
      {"base with prerequisite", [](auto& j) { j["offers"][0]["prerequisiteOffers"] = {"addon"}; },
       "cannot have prerequisiteOffers"},
      {"prerequisite is an add-on", [](auto& j) {
         j["offers"].push_back(j["offers"][1]);
         j["offers"][2]["id"] = "addon2";
         j["offers"][2]["prerequisiteOffers"] = {"addon"};
       }, "is an add-on, not a base offer"},
      {"prerequisite in other instance", [](auto& j) { j["offers"][0]["instance"] = "usgov"; },
       "belongs to another instance"},
  };
  for (const auto& c : cases) {
    std::string text = "{not json";
    if (c.breakit) {
      auto j = Valid();
      c.breakit(j);
      text = j.dump();
    }
    auto catalog = Catalog::FromJson(text);
    ASSERT_FALSE(catalog.ok()) << c.name;
    EXPECT_EQ(catalog.error().code(), ErrorCode::kInvalidCatalog) << c.name;
    EXPECT_NE(catalog.error().message().find(c.expected), std::string::npos)
        << c.name << ": " << catalog.error().message();
  }
}

TEST(CatalogTest, AllProblemsAreReportedAtOnceNamingTheOffer) {
  auto j = Valid();
  j["offers"][0]["minimumQuantity"] = 0;
  j["offers"][1]["instance"] = "mars";
  auto catalog = Catalog::FromJson(j.dump());
  ASSERT_FALSE(catalog.ok());
  const std::string& m = catalog.error().message();
  EXPECT_NE(m.find("offers[0] (base)"), std::string::npos) << m;
  EXPECT_NE(m.find("offers[1] (addon)"), std::string::npos) << m;
}

TEST(CatalogTest, AMissingFileIsAClearError) {
  auto catalog = Catalog::Load("/nonexistent/offers.json");
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.error().code(), ErrorCode::kInvalidCatalog);
  EXPECT_NE(catalog.error().message().find("/nonexistent/offers.json"), std::string::npos);
}

}  // namespace
}  // namespace tally::domain
