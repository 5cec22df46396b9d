// README.md's curl walk-through, run as written against a real tallyd, so
// that the documentation stays true.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/testing/process.h"
#include "tests/testing/tallyd.h"
#include "tests/testing/test_util.h"

namespace tally {
namespace {

std::string Walkthrough() {
  std::ifstream in(TALLY_README);
  std::stringstream text;
  text << in.rdbuf();
  const std::string readme = text.str();
  const auto begin = readme.find("<!-- walkthrough:begin -->\n```sh\n");
  const auto end = readme.find("```\n<!-- walkthrough:end -->");
  if (begin == std::string::npos || end == std::string::npos) return "";
  const size_t start = begin + std::string("<!-- walkthrough:begin -->\n```sh\n").size();
  return readme.substr(start, end - start);
}

TEST(ReadmeWalkthroughTest, RunsAsWrittenAgainstARealTallyd) {
  const std::string script = Walkthrough();
  ASSERT_FALSE(script.empty()) << "no walk-through block in " << TALLY_README;
  testing::TempDir dir;
  testing::TallydProcess tallyd(TALLYD, dir.Sub("var"));
  ASSERT_TRUE(tallyd.running()) << tallyd.output();
  std::ofstream(dir.Sub("walk.sh")) << "set -euo pipefail\n" << script;
  auto run = testing::RunCommand("cd " + dir.path() + " && TALLY_URL=http://127.0.0.1:" +
                                 std::to_string(tallyd.port()) + " TALLY_TOKEN=" + tallyd.dev_token() +
                                 " TALLY_DATA=" + dir.Sub("var") + " TALLYCTL=" + TALLYCTL + " bash walk.sh");
  ASSERT_EQ(run.exit_code, 0) << run.text;
  EXPECT_NE(run.text.find("HTTP/1.1 404 Not Found"), std::string::npos) << run.text;
  EXPECT_NE(run.text.find("\"password\""), std::string::npos) << run.text;
  EXPECT_NE(run.text.find("\n1\n3\n"), std::string::npos) << run.text;  // p2 sees 1 subscription, p1 3
  EXPECT_NE(run.text.find("\"role\":\"reseller_of_record\""), std::string::npos) << run.text;
  EXPECT_EQ(run.text.find("\"code\""), std::string::npos) << "an error in the walk-through:\n" << run.text;
  EXPECT_EQ(tallyd.Stop(), 0);
}

}  // namespace
}  // namespace tally
