// Issue 19: a tallyd on the simulated clock (`--clock simulated:TIME`),
// moved by an operator (POST /admin/v1/clock): buy, remove seats inside the
// window, fail to remove them and to cancel after it, and the subscription's
// dates as Partner Center shows them. Real process, real sockets.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "tests/testing/api_bodies.h"
#include "tests/testing/http_client.h"
#include "tests/testing/process.h"
#include "tests/testing/tallyd.h"
#include "tests/testing/test_util.h"

namespace tally {
namespace {

using nlohmann::json;
using testing::HttpClient;
using namespace testing::offers;

// `tallyctl operators add ops` or `partners add NAME`: the token it prints.
std::string AddedToken(const std::string& data, const std::string& what = "operators add ops") {
  return testing::AddedToken(TALLYCTL, data, what);
}

// A tallyd on a simulated clock that starts at 2026-01-14T09:00:00Z, a
// partner's client and an operator's.
class SimulatedClockTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(tallyd.running()) << tallyd.output(); }

  testing::TempDir dir;
  const std::string data = dir.Sub("var");
  testing::TallydProcess tallyd{TALLYD, data, {"--clock", "simulated:2026-01-14T09:00:00Z"}};
  HttpClient pc{tallyd.port(), tallyd.dev_token()};
  HttpClient admin{tallyd.port(), AddedToken(data)};
};

TEST_F(SimulatedClockTest, AnOperatorMovesTimeAndTheWindowsCloseOnIt) {

  auto now = admin.Get("/admin/v1/clock");
  ASSERT_EQ(now.status, 200) << now.body;
  EXPECT_EQ(now.json["now"], "2026-01-14T09:00:00.000000Z");

  json line = testing::Line(kBasic, 10);
  line["termDuration"] = "P1Y";
  auto created = pc.Post("/v1/customers", testing::NewCustomer("clocked", json::array({line})));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string c = created.json["id"];
  const std::string path = "/v1/customers/" + c + "/subscriptions/" +
                           created.json["orders"][0]["lineItems"][0]["subscriptionId"].get<std::string>();
  auto sub = pc.Get(path);
  ASSERT_EQ(sub.status, 200) << sub.body;
  EXPECT_EQ(sub.json["termDuration"], "P1Y");
  EXPECT_EQ(sub.json["effectiveStartDate"], "2026-01-14T09:00:00.000000Z");
  EXPECT_EQ(sub.json["commitmentEndDate"], "2027-01-13T00:00:00.000000Z") << "inclusive: the day before";
  EXPECT_EQ(sub.json["commitmentEndDateTime"], "2027-01-13T23:59:59.000000Z");
  EXPECT_EQ(sub.json["cancellationAllowedUntilDate"], "2026-01-21T09:00:00.000000Z");
  EXPECT_EQ(sub.json["refundableQuantity"]["totalQuantity"], 10);

  // Inside the window: seats go.
  auto fewer = pc.Patch(path, {{"quantity", 8}});
  ASSERT_EQ(fewer.status, 200) << fewer.body;

  // A week later (to the second): the window has closed.
  auto moved = admin.Post("/admin/v1/clock", {{"now", "2026-01-21T09:00:00Z"}});
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_EQ(pc.Get(path).json["refundableQuantity"]["totalQuantity"], 0);
  auto late = pc.Patch(path, {{"quantity", 6}});
  EXPECT_EQ(late.status, 400) << late.body;
  EXPECT_EQ(late.code(), 900214) << late.body;
  auto cancel = pc.Patch(path, {{"status", "deleted"}});
  EXPECT_EQ(cancel.status, 400) << cancel.body;
  EXPECT_EQ(cancel.code(), 900213) << cancel.body;
  // More seats: any time, with a window of their own.
  ASSERT_EQ(pc.Patch(path, {{"quantity", 12}}).status, 200);
  auto refundable = pc.Get(path).json["refundableQuantity"];
  EXPECT_EQ(refundable["totalQuantity"], 4);
  ASSERT_EQ(refundable["details"].size(), 1u);
  EXPECT_EQ(refundable["details"][0]["allowedUntilDateTime"], "2026-01-28T09:00:00.000000Z");
  EXPECT_EQ(pc.Patch(path, {{"quantity", 8}}).status, 200);
  EXPECT_EQ(pc.Get(path).json["quantity"], 8);

  // The clock never goes back; a partner cannot move it.
  auto back = admin.Post("/admin/v1/clock", {{"now", "2026-01-20T00:00:00Z"}});
  EXPECT_EQ(back.status, 400) << back.body;
  EXPECT_EQ(pc.Post("/admin/v1/clock", {{"now", "2027-01-01T00:00:00Z"}}).status, 401);
  EXPECT_EQ(admin.Get("/admin/v1/clock").json["now"], "2026-01-21T09:00:00.000000Z");
}

// GET `path` until `pred` holds of the body (the scheduler works in the
// background), for up to 10 s; the last body.
json Await(HttpClient& client, const std::string& path, const std::function<bool(const json&)>& pred) {
  json last;
  for (int i = 0; i < 500; ++i) {
    last = client.Get(path).json;
    if (pred(last)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return last;
}

// Time drives commands: when a term is over the scheduler renews it (auto-
// renew on), expires it (off) or disables it (suspended); expired and
// disabled ones move on 30 and 90 days later. Nobody calls for it.
TEST_F(SimulatedClockTest, TermsRenewExpireAndEndAtTheirDates) {
  auto created = pc.Post("/v1/customers", testing::NewCustomer(
      "lifecycle", json::array({testing::Line(kBasic, 10), testing::Line(kBasic, 4), testing::Line(kBasic, 2)})));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string base = "/v1/customers/" + created.json["id"].get<std::string>() + "/subscriptions/";
  const json& lines = created.json["orders"][0]["lineItems"];
  const std::string renews = base + lines[0]["subscriptionId"].get<std::string>();
  const std::string lapses = base + lines[1]["subscriptionId"].get<std::string>();
  const std::string paused = base + lines[2]["subscriptionId"].get<std::string>();
  ASSERT_EQ(pc.Patch(lapses, {{"autoRenewEnabled", false}}).status, 200);
  ASSERT_EQ(pc.Patch(paused, {{"status", "suspended"}}).status, 200);
  EXPECT_EQ(pc.Get(paused).json["autoRenewEnabled"], false) << "suspending turns auto-renew off";
  ASSERT_EQ(pc.Patch(renews, {{"quantity", 12}}).status, 200);
  EXPECT_EQ(pc.Get(renews).json["commitmentEndDate"], "2026-02-13T00:00:00.000000Z");
  // Scheduled changes: the next term renews to 15 seats.
  const json schedule = {{"product", {{"termDuration", "P1M"}, {"billingCycle", "monthly"}}}, {"quantity", 15}};
  auto scheduled = pc.Patch(renews, {{"scheduledNextTermInstructions", schedule}});
  ASSERT_EQ(scheduled.status, 200) << scheduled.body;
  EXPECT_EQ(pc.Get(renews).json["scheduledNextTermInstructions"]["quantity"], 15);
  EXPECT_EQ(pc.Patch(lapses, {{"scheduledNextTermInstructions", schedule}}).code(), 70040) << "it does not renew";

  // The last second of the term: nothing yet.
  ASSERT_EQ(admin.Post("/admin/v1/clock", {{"now", "2026-02-13T23:59:59Z"}}).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(pc.Get(renews).json["effectiveStartDate"], "2026-01-14T09:00:00.000000Z");
  EXPECT_EQ(pc.Get(lapses).json["status"], "active");

  // 00:00 UTC the day after the end date.
  ASSERT_EQ(admin.Post("/admin/v1/clock", {{"now", "2026-02-14T00:00:00Z"}}).status, 200);
  json renewed = Await(pc, renews, [](const json& j) { return j["effectiveStartDate"] == "2026-02-14T00:00:00.000000Z"; });
  EXPECT_EQ(renewed["effectiveStartDate"], "2026-02-14T00:00:00.000000Z") << renewed.dump();
  EXPECT_EQ(renewed["status"], "active");
  EXPECT_EQ(renewed["quantity"], 15) << "renewed to the scheduled changes";
  EXPECT_FALSE(renewed.contains("scheduledNextTermInstructions")) << "used up by the renewal";
  EXPECT_EQ(renewed["commitmentEndDate"], "2026-03-13T00:00:00.000000Z");
  EXPECT_EQ(renewed["cancellationAllowedUntilDate"], "2026-02-21T00:00:00.000000Z") << "a new window";
  EXPECT_EQ(renewed["refundableQuantity"]["totalQuantity"], 15) << "every seat in the new window";
  EXPECT_EQ(Await(pc, lapses, [](const json& j) { return j["status"] == "expired"; })["status"], "expired");
  const std::string metrics = HttpClient(tallyd.port()).Get("/metrics").body;
  EXPECT_NE(metrics.find("tally_scheduler_steps_total "), std::string::npos) << metrics.substr(0, 300);
  EXPECT_EQ(metrics.find("tally_scheduler_steps_total 0\n"), std::string::npos) << "steps were taken";
  EXPECT_EQ(Await(pc, paused, [](const json& j) { return j["status"] == "disabled"; })["status"], "disabled");
  auto refused = pc.Patch(lapses, {{"quantity", 5}});
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(refused.code(), 800096) << refused.body;
  json whole = pc.Get(lapses).json;  // sent back whole, status "expired" and all
  whole["friendlyName"] = "Renamed";
  EXPECT_EQ(pc.Patch(lapses, whole).code(), 800096) << "the expired status is read, not refused as unknown";

  // Expired 30 days: disabled. A jump of two terms renews twice, in order.
  ASSERT_EQ(admin.Post("/admin/v1/clock", {{"now", "2026-03-16T00:00:00Z"}}).status, 200);
  EXPECT_EQ(Await(pc, lapses, [](const json& j) { return j["status"] == "disabled"; })["status"], "disabled");
  EXPECT_EQ(Await(pc, renews, [](const json& j) {
              return j["effectiveStartDate"] == "2026-03-14T00:00:00.000000Z";
            })["effectiveStartDate"],
            "2026-03-14T00:00:00.000000Z");
  // Disabled 90 days: deleted (the suspended one was disabled on 2026-02-14).
  ASSERT_EQ(admin.Post("/admin/v1/clock", {{"now", "2026-05-15T00:00:00Z"}}).status, 200);
  EXPECT_EQ(Await(pc, paused, [](const json& j) { return j["status"] == "deleted"; })["status"], "deleted");
  EXPECT_EQ(pc.Get(lapses).json["status"], "disabled") << "disabled on 2026-03-16: deleted on 2026-06-14";
  ASSERT_EQ(admin.Post("/admin/v1/clock", {{"now", "2026-06-14T00:00:00Z"}}).status, 200);
  EXPECT_EQ(Await(pc, lapses, [](const json& j) { return j["status"] == "deleted"; })["status"], "deleted");
  EXPECT_EQ(Await(pc, renews, [](const json& j) {
              return j["effectiveStartDate"] == "2026-06-14T00:00:00.000000Z";
            })["effectiveStartDate"],
            "2026-06-14T00:00:00.000000Z")
      << "renewed every month, none skipped, none twice";
}

// An upgrade scheduled through the API (another productId in
// scheduledNextTermInstructions) is taken at the renewal: the subscription,
// its name and the subscribed SKUs move to the new offer.
TEST_F(SimulatedClockTest, AnUpgradeScheduledThroughTheApiIsTakenAtRenewal) {
  auto created = pc.Post("/v1/customers", testing::NewCustomer("upgrading", json::array({testing::Line(kBasic, 3)})));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string customer = "/v1/customers/" + created.json["id"].get<std::string>();
  const std::string sub = customer + "/subscriptions/" +
                          created.json["orders"][0]["lineItems"][0]["subscriptionId"].get<std::string>();
  const std::string standard = "f245ecc8-75af-4f8e-b61f-27d8114de5f3";  // Microsoft 365 Business Standard
  auto schedule = [&](const std::string& product, int quantity) {
    return pc.Patch(sub, {{"scheduledNextTermInstructions",
                           {{"product", {{"productId", product}, {"termDuration", "P1M"}, {"billingCycle", "monthly"}}},
                            {"quantity", quantity}}}});
  };
  auto sideways = schedule(kE3, 3);
  EXPECT_EQ(sideways.status, 400) << sideways.body;
  EXPECT_EQ(sideways.code(), 70040) << "Office 365 E3 is not an upgrade of Business Basic: " << sideways.body;
  auto upgrade = schedule(standard, 5);
  ASSERT_EQ(upgrade.status, 200) << upgrade.body;
  json before = pc.Get(sub).json;
  EXPECT_EQ(before["offerId"], kBasic);
  EXPECT_EQ(before["scheduledNextTermInstructions"]["product"]["productId"], standard) << before.dump();

  ASSERT_EQ(admin.Post("/admin/v1/clock", {{"now", "2026-02-14T00:00:00Z"}}).status, 200);
  json renewed = Await(pc, sub, [](const json& j) { return j["effectiveStartDate"] == "2026-02-14T00:00:00.000000Z"; });
  EXPECT_EQ(renewed["offerId"], standard) << renewed.dump();
  EXPECT_EQ(renewed["offerName"], "Microsoft 365 Business Standard");
  EXPECT_EQ(renewed["quantity"], 5);
  EXPECT_FALSE(renewed.contains("scheduledNextTermInstructions"));
  auto skus = pc.Get(customer + "/subscribedskus");
  ASSERT_EQ(skus.status, 200) << skus.body;
  ASSERT_EQ(skus.json["items"].size(), 1u) << skus.body;
  EXPECT_EQ(skus.json["items"][0]["offerId"], standard) << skus.body;
  EXPECT_EQ(skus.json["items"][0]["activeUnits"], 5) << skus.body;
}

// Issue 20: the billing model over HTTP, as Partner Center serves unbilled
// reconciliation items. Business Basic P1Y billed monthly is 6.00 a seat a
// month; bought 2026-01-14 09:00 with 10 seats: `new` 60.00 for
// 2026-01-14..02-13 (31 days); 2 seats more the same day: 2 x 31 days,
// 12.00; from 2026-02-14 cycle charges of 12 x 6.00 = 72.00.
TEST_F(SimulatedClockTest, UnbilledLineItemsAreTheBillingModelsAtTheClocksMonth) {
  json line = testing::Line(kBasic, 10);
  line["termDuration"] = "P1Y";
  auto created = pc.Post("/v1/customers", testing::NewCustomer("billed", json::array({line})));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string c = created.json["id"];
  const std::string sub = created.json["orders"][0]["lineItems"][0]["subscriptionId"];
  ASSERT_EQ(pc.Patch("/v1/customers/" + c + "/subscriptions/" + sub, {{"quantity", 12}}).status, 200);
  const std::string query = "?provider=onetime&invoicelineitemtype=billinglineitems&currencycode=USD&period=";
  const std::string all = "/v1/invoices/unbilled/lineitems" + query;

  auto current = pc.Get(all + "current");
  ASSERT_EQ(current.status, 200) << current.body;
  ASSERT_EQ(current.json["totalCount"], 2) << "the cycle charges to come have not begun: " << current.body;
  const json& bought = current.json["items"][0];
  EXPECT_EQ(bought["chargeType"], "new");
  EXPECT_EQ(bought["customerId"], c);
  EXPECT_EQ(bought["subscriptionId"], sub);
  EXPECT_EQ(bought["chargeStartDate"], "2026-01-14T00:00:00.000000Z");
  EXPECT_EQ(bought["chargeEndDate"], "2026-02-13T00:00:00.000000Z");
  EXPECT_EQ(bought["unitPrice"], 6);
  EXPECT_EQ(bought["quantity"], 10);
  EXPECT_EQ(bought["subtotal"], 60);
  EXPECT_EQ(bought["minorUnits"]["subtotal"], 6000);
  EXPECT_EQ(bought["termAndBillingCycle"], "P1Y monthly");
  EXPECT_EQ(bought["attributes"]["objectType"], "OneTimeInvoiceLineItem");
  EXPECT_EQ(current.json["items"][1]["chargeType"], "addQuantity");
  EXPECT_EQ(current.json["items"][1]["subtotal"], 12);
  EXPECT_GE(current.json["position"].get<uint64_t>(), current.json["items"][1]["position"].get<uint64_t>());

  // Paged through links.next, its token in the MS-ContinuationToken header.
  auto first = pc.Get(all + "current&size=1");
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(first.json["items"].size(), 1u);
  const json& next = first.json["links"]["next"];
  auto second = pc.Call("GET", next["uri"], "", {{"MS-ContinuationToken", next["headers"][0]["value"]}});
  ASSERT_EQ(second.status, 200) << second.body;
  ASSERT_EQ(second.json["items"].size(), 1u);
  EXPECT_EQ(second.json["items"][0]["chargeType"], "addQuantity");
  EXPECT_FALSE(second.json.contains("links")) << "the last page";

  // A month on: February's cycle charge is current, January's lines previous.
  ASSERT_EQ(admin.Post("/admin/v1/clock", {{"now", "2026-02-20T00:00:00Z"}}).status, 200);
  auto february = pc.Get(all + "Current");
  ASSERT_EQ(february.status, 200) << february.body;
  ASSERT_EQ(february.json["totalCount"], 1) << february.body;
  EXPECT_EQ(february.json["items"][0]["chargeType"], "cycleCharge");
  EXPECT_EQ(february.json["items"][0]["chargeStartDate"], "2026-02-14T00:00:00.000000Z");
  EXPECT_EQ(february.json["items"][0]["subtotal"], 72);
  EXPECT_EQ(pc.Get(all + "previous").json["totalCount"], 2);
  auto one = pc.Get("/v1/customers/" + c + "/invoices/unbilled/lineitems" + query + "previous");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.json["totalCount"], 2);

  // Another partner sees none of it; bad queries are 400s naming the fix.
  HttpClient p2(tallyd.port(), AddedToken(data, "partners add p2"));
  auto none = p2.Get(all + "previous");
  EXPECT_EQ(none.json["totalCount"], 0) << none.body;
  EXPECT_EQ(p2.Get("/v1/customers/" + c + "/invoices/unbilled/lineitems" + query + "previous").status, 404);
  for (const auto& [bad, code] : std::vector<std::pair<std::string, int>>{
           {"/v1/invoices/unbilled/lineitems?provider=onetime&invoicelineitemtype=billinglineitems&currencycode=USD", 70037},
           {"/v1/invoices/unbilled/lineitems?provider=azure&invoicelineitemtype=billinglineitems&currencycode=USD&period=current", 70037},
           {"/v1/invoices/unbilled/lineitems?provider=onetime&invoicelineitemtype=billinglineitems&currencycode=EUR&period=current", 900169},
           {all + "current&continuation=zz", 70037}}) {
    auto r = pc.Get(bad);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    EXPECT_EQ(r.code(), code) << bad << ": " << r.body;
  }

  // One seat more on 2026-02-20, day 6 of 28: 22 days, seat-days
  // 12 x 28 = 336 -> 358: 6.00 x 358 / 28 = 76.71, so 4.71.
  ASSERT_EQ(pc.Patch("/v1/customers/" + c + "/subscriptions/" + sub, {{"quantity", 13}}).status, 200);
  // tallyctl charges, beside the running tallyd: lines starting in the
  // dates given (March's cycle charge is not), their total, the position;
  // and as they were on 2026-02-19, before that seat.
  const std::string charges = std::string(TALLYCTL) + " charges --data " + data + " --customer " + c +
                              " --from 2026-01-01 --to 2026-02-28";
  auto table = testing::RunCommand(charges + " 2>&1");
  ASSERT_EQ(table.exit_code, 0) << table.text;
  EXPECT_NE(table.text.find("as of log position"), std::string::npos) << table.text;
  EXPECT_NE(table.text.find("4 line(s), total 148.71 USD"), std::string::npos) << table.text;
  auto before = testing::RunCommand(charges + " --as-of 2026-02-19 2>&1");
  ASSERT_EQ(before.exit_code, 0) << before.text;
  EXPECT_NE(before.text.find("3 line(s), total 144.00 USD"), std::string::npos) << before.text;
  EXPECT_NE(before.text.find("recorded by 2026-02-19T23:59:59"), std::string::npos) << before.text;
  auto csv = testing::RunCommand(charges + " --csv 2>&1");
  ASSERT_EQ(csv.exit_code, 0) << csv.text;
  EXPECT_EQ(std::count(csv.text.begin(), csv.text.end(), '\n'), 5) << "a header and four lines: " << csv.text;
  EXPECT_NE(csv.text.find(",addQuantity,2026-01-14,2026-02-13,6.00,6.00,2,31,31,12.00,USD,P1Y,monthly,"),
            std::string::npos) << csv.text;
  auto unknown = testing::RunCommand(std::string(TALLYCTL) + " charges --data " + data +
                                     " --customer nobody.onmicrosoft.com --from 2026-01-01 --to 2026-02-28 2>&1");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.text;
}

TEST(SimulatedClockStartTest, TheRealClockCannotBeMovedAndASimulatedStartCannotPrecedeTheLog) {
  testing::TempDir dir;
  const std::string data = dir.Sub("var");
  {
    testing::TallydProcess tallyd(TALLYD, data);
    ASSERT_TRUE(tallyd.running()) << tallyd.output();
    HttpClient admin(tallyd.port(), AddedToken(data));
    auto r = admin.Post("/admin/v1/clock", {{"now", "2030-01-01T00:00:00Z"}});
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_NE(r.body.find("--clock simulated"), std::string::npos) << r.body;
    HttpClient pc(tallyd.port(), tallyd.dev_token());
    ASSERT_EQ(pc.Post("/v1/customers", testing::NewCustomer("realtime")).status, 201);
  }
  // The log's events are from today: a simulated clock in 2020 would make
  // time go back.
  auto run = testing::RunCommand(std::string(TALLYD) + " --data " + data +
                                 " --listen 127.0.0.1:0 --clock simulated:2020-01-01T00:00:00Z 2>&1");
  EXPECT_EQ(run.exit_code, 2) << run.text;
  EXPECT_NE(run.text.find("before the log's last event"), std::string::npos) << run.text;
}

}  // namespace
}  // namespace tally
