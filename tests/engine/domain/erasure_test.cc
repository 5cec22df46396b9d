// Personal data in the domain: sealed in the events, opened into the state
// with the customer's key, gone for good after ForgetCustomer.
#include <gtest/gtest.h>

#include "engine/domain/fingerprint.h"
#include "events/codec.h"
#include "tests/engine/domain/domain_fixture.h"

namespace tally::domain {
namespace {

using namespace tally::testing;  // NOLINT

using ErasureTest = DomainFixture;

const CommandMeta kOperator{kOperatorId, "", ""};

// Every stored envelope of the log, as one string.
std::string AllEnvelopes(const EventLog& log) {
  auto events = log.Read(1, SIZE_MAX);
  EXPECT_TRUE(events.ok());
  std::string all;
  for (const auto& e : *events) all += e.envelope;
  return all;
}

TEST_F(ErasureTest, PersonalFieldsAreSealedInTheEventsAndOpenInTheState) {
  auto add = ValidAddCustomer("contoso");
  const auto created = Ok(add, Meta("p1"));
  UpdateBillingProfile update{created.customer_id, add.billing, std::nullopt};
  update.billing.email = "grace@fabrikam.example";
  update.billing.default_address.last_name = "Hopper";
  Ok(update, Meta("p1"));

  const std::string stored = AllEnvelopes(*log_);
  for (const std::string clear : {"ada@contoso.example", "Lovelace", "1 Microsoft Way", "425 555 0100",
                                  "grace@fabrikam.example", "Hopper"}) {
    EXPECT_EQ(stored.find(clear), std::string::npos) << clear << " is stored in clear";
  }
  EXPECT_NE(stored.find("Redmond"), std::string::npos) << "the city is not personal data";

  auto key = log_->FindKey(created.customer_id);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->state, personal::KeyState::kPresent);
  // A fresh processor loads the state from the log and the key ring.
  CommandProcessor fresh(*log_, *catalog_, Instance::kGlobal, ids_);
  auto state = fresh.State(created.customer_id);
  ASSERT_TRUE(state.ok() && *state != nullptr);
  EXPECT_EQ((*state)->billing, update.billing);
  EXPECT_EQ(**state, StateOf(created.customer_id)) << "the cached state equals the loaded one";
}

TEST_F(ErasureTest, ForgetDestroysTheKeyKeepsTheFactsAndRefusesNewPersonalData) {
  auto add = ValidAddCustomer("contoso");
  add.line_items = {Item(offers::kE3, 25)};
  const auto created = Ok(add, Meta("p1"));
  const std::string c = created.customer_id;
  const uint64_t head = log_->Head();

  const auto forgotten = Ok(ForgetCustomer{c, "customer request"}, kOperator);
  EXPECT_EQ(forgotten.first_position, head + 1);
  EXPECT_EQ(forgotten.last_position, head + 1) << "one CustomerPersonalDataErased event";
  auto key = log_->FindKey(c);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->state, personal::KeyState::kErased);
  EXPECT_EQ(key->erased_at_position, head + 1);
  auto events = log_->Read(head + 1, 1);
  ASSERT_TRUE(events.ok() && events->size() == 1u);
  auto env = events::VerifyEnvelope((*events)[0].envelope);
  ASSERT_TRUE(env.ok());
  ASSERT_EQ((*env)->payload_type(), events::Payload::CustomerPersonalDataErased);
  EXPECT_EQ(events::View((*env)->payload_as_CustomerPersonalDataErased()->reason()), "customer request");
  EXPECT_EQ(events::View((*env)->partner_id()), kOperatorId);

  // Loaded again: the personal fields are gone, the rest stays.
  CommandProcessor fresh(*log_, *catalog_, Instance::kGlobal, ids_);
  auto state = fresh.State(c);
  ASSERT_TRUE(state.ok() && *state != nullptr);
  const CustomerState& s = **state;
  EXPECT_TRUE(s.personal_data_erased);
  EXPECT_EQ(s.billing.email, "");
  EXPECT_EQ(s.billing.default_address.first_name, "");
  EXPECT_EQ(s.billing.default_address.phone_number, "");
  EXPECT_EQ(s.billing.default_address.city, "Redmond");
  EXPECT_EQ(s.billing.culture, "en-US");
  EXPECT_EQ(s.subscriptions.at(created.subscription_ids[0]).quantity, 25) << "billing facts stay";
  EXPECT_EQ(s, StateOf(c)) << "the cached state equals the loaded one";

  // A second forget changes nothing; a new billing profile is refused.
  const auto again = Ok(ForgetCustomer{c, "again"}, kOperator);
  EXPECT_EQ(again.last_position, 0u);
  EXPECT_EQ(log_->Head(), head + 1);
  auto update = processor_->Execute(UpdateBillingProfile{c, add.billing, std::nullopt}, Meta("p1"));
  ASSERT_FALSE(update.ok());
  EXPECT_EQ(update.error().code(), ErrorCode::kPersonalDataErased);
  EXPECT_EQ(HttpStatus(update.error().code()), 409);
  // Subscriptions go on: billing does not need the personal data.
  UpdateSubscription fewer{c, created.subscription_ids[0]};
  fewer.quantity = 20;
  Ok(fewer, Meta("p1"));

  auto unknown = processor_->Execute(ForgetCustomer{"no-such-customer", ""}, kOperator);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kCustomerNotFound);
}

TEST_F(ErasureTest, TheLogRefusesAKeyChangeWithoutAnEvent) {
  AppendRequest lonely;
  lonely.key_changes.push_back({"c1", personal::NewKey()});
  auto results = log_->AppendBatch(std::span(&lonely, 1));
  ASSERT_FALSE(results[0].ok());
  EXPECT_EQ(results[0].error().code(), ErrorCode::kInvalidArgument);
  auto key = log_->FindKey("c1");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->state, personal::KeyState::kUnknown);
}

TEST(RequestFingerprintTest, ThePersonalPartIsSeparateAndAnErasedOneMatchesAnyRetry) {
  auto add = ValidAddCustomer("contoso");
  const std::string fp = Fingerprint(add, Meta("p1", "r"));
  ASSERT_EQ(fp.size(), 64u + 1 + 64) << fp;
  ASSERT_EQ(fp[64], ':');
  auto other_email = add;
  other_email.billing.email = "grace@contoso.example";
  const std::string fp_email = Fingerprint(other_email, Meta("p1", "r"));
  EXPECT_EQ(fp_email.substr(0, 65), fp.substr(0, 65)) << "personal fields stay out of the first part";
  EXPECT_NE(fp_email, fp);
  auto other_company = add;
  other_company.company_name = "Fabrikam";
  EXPECT_NE(Fingerprint(other_company, Meta("p1", "r")).substr(0, 64), fp.substr(0, 64));
  EXPECT_EQ(Fingerprint(UpdateSubscription{"c", "s", 3}, Meta("p1", "r")).size(), 64u) << "no personal part";

  EXPECT_TRUE(SameRequest(fp, fp));
  EXPECT_FALSE(SameRequest(fp, fp_email));
  const std::string scrubbed = ScrubbedFingerprint(fp).value();
  EXPECT_EQ(scrubbed, fp.substr(0, 65) + "erased");
  EXPECT_TRUE(SameRequest(scrubbed, fp));
  EXPECT_TRUE(SameRequest(scrubbed, fp_email));
  EXPECT_FALSE(SameRequest(scrubbed, Fingerprint(other_company, Meta("p1", "r"))));
  EXPECT_FALSE(SameRequest(fp, scrubbed)) << "only a stored fingerprint can be erased";
  EXPECT_FALSE(ScrubbedFingerprint(scrubbed).has_value());
  EXPECT_FALSE(ScrubbedFingerprint(fp.substr(0, 64)).has_value());
}

// The fingerprints stored for request ids hold a digest of the personal
// fields; the erasure's scrub leaves none of the erased customer's, and
// retries still replay.
TEST_F(ErasureTest, ScrubbedFingerprintsKeepNoDigestOfErasedDataAndRetriesStillReplay) {
  auto add = ValidAddCustomer("contoso");
  const auto created = Ok(add, Meta("p1", "add-1"));
  const std::string c = created.customer_id;
  UpdateBillingProfile update{c, add.billing, std::nullopt};
  update.billing.email = "grace@contoso.example";
  Ok(update, Meta("p1", "upd-1"));
  const auto other = Ok(ValidAddCustomer("other"), Meta("p1", "add-2"));
  auto fingerprint_of = [&](const std::string& request) {
    auto r = log_->FindRequest("p1/" + request);
    EXPECT_TRUE(r.ok() && r->has_value()) << request;
    return r.ok() && r->has_value() ? (**r).fingerprint : std::string();
  };
  const std::string before = fingerprint_of("add-1"), other_before = fingerprint_of("add-2");
  EXPECT_EQ(before, Fingerprint(add, Meta("p1", "add-1")));
  auto changed_email = add;
  changed_email.billing.email = "eve@contoso.example";
  auto reused = processor_->Execute(changed_email, Meta("p1", "add-1"));
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code(), ErrorCode::kRequestIdReused) << "before the erasure, personal fields count";

  Ok(ForgetCustomer{c, "customer request"}, kOperator);
  auto is_c = [&](const RequestRecord& r) {
    auto outcome = CommandOutcome::Decode(r.outcome);
    return outcome.ok() && outcome->customer_id == c;
  };
  auto scrubbed = log_->ScrubRequestFingerprints(is_c);
  ASSERT_TRUE(scrubbed.ok()) << scrubbed.error().ToString();
  EXPECT_EQ(*scrubbed, 2u) << "add-1 and upd-1";
  EXPECT_EQ(fingerprint_of("add-1"), before.substr(0, 65) + "erased");
  EXPECT_EQ(fingerprint_of("upd-1").substr(65), "erased");
  EXPECT_EQ(fingerprint_of("add-2"), other_before) << "another customer's stays";
  auto again = log_->ScrubRequestFingerprints(is_c);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u);

  CommandProcessor fresh(*log_, *catalog_, Instance::kGlobal, ids_);
  for (const auto& retry : {add, changed_email}) {
    auto replayed = fresh.Execute(retry, Meta("p1", "add-1"));
    ASSERT_TRUE(replayed.ok()) << replayed.error().ToString();
    EXPECT_EQ(replayed->customer_id, c) << "the first outcome";
  }
  auto other_company = add;
  other_company.company_name = "Fabrikam";
  auto misuse = fresh.Execute(other_company, Meta("p1", "add-1"));
  ASSERT_FALSE(misuse.ok());
  EXPECT_EQ(misuse.error().code(), ErrorCode::kRequestIdReused);
  EXPECT_EQ(other.customer_id.empty(), false);
}

}  // namespace
}  // namespace tally::domain
