// Result: no conversion to bool (a Result<bool> or Result<optional<T>> in an
// `if` would read as its value), and TALLY_ASSIGN_OR_RETURN.
#include "engine/base/result.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <type_traits>

namespace tally {
namespace {

static_assert(!std::is_constructible_v<bool, Result<bool>>, "Result<bool> must not convert to bool");
static_assert(!std::is_constructible_v<bool, Result<std::optional<int>>>, "nor Result<optional<T>>");
static_assert(!std::is_constructible_v<bool, Status>, "nor Status");

Result<int> Parse(const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) {
    return Error(ErrorCode::kInvalidArgument, "not a number: '" + s + "'");
  }
  return std::stoi(s);
}

Result<int> Sum(const std::string& a, const std::string& b) {
  TALLY_ASSIGN_OR_RETURN(const int x, Parse(a));
  int y = 0;
  TALLY_ASSIGN_OR_RETURN(y, Parse(b));  // into an existing variable
  return x + y;
}

TEST(ResultTest, AssignOrReturnGivesTheValueOrReturnsTheFirstError) {
  auto ok = Sum("2", "40");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 42);
  auto bad = Sum("2", "x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "not a number: 'x'");
  auto first = Sum("", "x");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().message(), "not a number: ''") << "the first error returns at once";
}

TEST(ResultTest, AFalseValueIsStillOk) {
  Result<bool> no = false;
  EXPECT_TRUE(no.ok());
  EXPECT_FALSE(*no);
  Result<std::optional<int>> none = std::optional<int>();
  EXPECT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

}  // namespace
}  // namespace tally
