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
     "prerequisiteOffers": [], "supportedBillingCycles": ["monthly"], "instance": "global"},
    {"id": "addon", "name": "Add-on", "minimumQuantity": 1, "maximumQuantity": 10, "isAddOn": true,
     "prerequisiteOffers": ["base"], "supportedBillingCycles": ["monthly"], "instance": "global"}
  ]})");
}

TEST(CatalogTest, AValidCatalogLoads) {
  auto catalog = Catalog::FromJson(Valid().dump());
  ASSERT_TRUE(catalog.ok()) << catalog.error().ToString();
  EXPECT_EQ(catalog->offers().size(), 2u);
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
      {"bad cycle", [](auto& j) { j["offers"][0]["supportedBillingCycles"] = {"weekly"}; }, "unknown billing cycle"},
      {"no cycles", [](auto& j) { j["offers"][0]["supportedBillingCycles"] = nlohmann::json::array(); },
       "must not be empty"},
      {"bad instance", [](auto& j) { j["offers"][0]["instance"] = "mars"; }, "unknown instance"},
      {"unknown key", [](auto& j) { j["offers"][0]["maxQuantity"] = 3; }, "unknown key \"maxQuantity\""},
      {"add-on without prerequisite", [](auto& j) { j["offers"][1]["prerequisiteOffers"] = nlohmann::json::array(); },
       "needs at least one prerequisite"},
      {"missing prerequisite", [](auto& j) { j["offers"][1]["prerequisiteOffers"] = {"ghost"}; },
       "ghost is not in the catalog"},
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
