#include "projections/row_codec.h"

#include <gtest/gtest.h>

#include "projections/customer/customer.h"
#include "projections/license/license.h"
#include "projections/store.h"

namespace tally::projections {
namespace {

TEST(RowCodecTest, RoundTripsEveryFieldKind) {
  const std::string bytes = RowWriter().U64(0).U64(UINT64_MAX).I64(-1).I64(INT64_MIN).Bool(true).Str("").Str(
      std::string("a\0b", 3)).Finish();
  RowReader r(bytes);
  uint64_t a = 1, b = 0;
  int64_t c = 0, d = 0;
  bool e = false;
  std::string f = "x", g;
  EXPECT_TRUE(r.U64(a) && r.U64(b) && r.I64(c) && r.I64(d) && r.Bool(e) && r.Str(f) && r.Str(g));
  EXPECT_TRUE(r.done());
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(b, UINT64_MAX);
  EXPECT_EQ(c, -1);
  EXPECT_EQ(d, INT64_MIN);
  EXPECT_TRUE(e);
  EXPECT_EQ(f, "");
  EXPECT_EQ(g, std::string("a\0b", 3));
}

TEST(RowCodecTest, TruncatedOrForeignBytesAreRejectedNotOverread) {
  SubscriptionRow row;
  row.id = "s";
  row.offer_id = "o";
  row.quantity = 12;
  row.created_position = 300;  // two bytes as a varint
  row.term_duration = "P1Y";   // the new-commerce block: 17 bytes
  row.currency = "USD";
  row.seats = {{12, 0}};
  row.next_offer_id = "o2";    // the upgrade: 3 bytes
  const std::string bytes = row.Encode();
  SubscriptionRow back;
  ASSERT_TRUE(SubscriptionRow::Decode(bytes, &back));
  EXPECT_EQ(back, row);
  // Rows written by older versions end earlier: before the upgrade (3
  // bytes), before the new-commerce block (17 bytes), and before
  // created_position too (2 more). Those decode with defaults; every other
  // prefix is refused.
  const size_t without_upgrade = bytes.size() - 3, without_terms = without_upgrade - 17,
               old_size = without_terms - 2;
  for (size_t n = 0; n < bytes.size(); ++n) {
    if (n == old_size || n == without_terms || n == without_upgrade) continue;
    EXPECT_FALSE(SubscriptionRow::Decode(bytes.substr(0, n), &back)) << "prefix of " << n << " bytes";
  }
  ASSERT_TRUE(SubscriptionRow::Decode(bytes.substr(0, without_upgrade), &back));
  EXPECT_EQ(back.next_offer_id, "");
  EXPECT_EQ(back.seats, row.seats);
  ASSERT_TRUE(SubscriptionRow::Decode(bytes.substr(0, without_terms), &back));
  EXPECT_EQ(back.created_position, 300u);
  EXPECT_EQ(back.term_duration, "");
  EXPECT_TRUE(back.seats.empty());
  ASSERT_TRUE(SubscriptionRow::Decode(bytes.substr(0, old_size), &back));
  EXPECT_EQ(back.created_position, 0u);
  EXPECT_EQ(back.quantity, 12);
  EXPECT_FALSE(SubscriptionRow::Decode(bytes + "x", &back)) << "trailing bytes";
  std::string other_format = bytes;
  other_format[0] = 2;
  EXPECT_FALSE(SubscriptionRow::Decode(other_format, &back));
  // A count larger than the bytes left cannot make the decoder allocate it.
  CustomerRow customer;
  std::string huge = RowWriter().U64(UINT64_MAX).Finish();
  EXPECT_FALSE(CustomerRow::Decode(huge, &customer));
  EXPECT_FALSE(Checkpoint::Decode("").ok());
}

TEST(RowCodecTest, ACustomerRowWrittenBeforeAgreementsDecodesWithNone) {
  CustomerRow row;
  row.id = "c";
  row.partners = {{"p1", "reseller_of_record", 5}};
  row.agreements = {{"t", "MicrosoftCustomerAgreement", 7, "p1", 8, "Ada", "Lovelace", "ada@x.example", ""}};
  const std::string bytes = row.Encode();
  CustomerRow back;
  ASSERT_TRUE(CustomerRow::Decode(bytes, &back));
  EXPECT_EQ(back, row);
  row.agreements.clear();
  const std::string none = row.Encode();  // ends with a count of 0: one byte
  const std::string before = none.substr(0, none.size() - 1);
  back.agreements = {{}};
  ASSERT_TRUE(CustomerRow::Decode(before, &back));
  EXPECT_EQ(back, row) << "no agreements, and nothing left from the row decoded before";
  for (size_t n = before.size() + 1; n < bytes.size(); ++n) {
    EXPECT_FALSE(CustomerRow::Decode(bytes.substr(0, n), &back)) << "prefix of " << n << " bytes";
  }
}

}  // namespace
}  // namespace tally::projections
