// JsonWriter: commas in the right places, every string escaped so that a
// JSON parser reads back exactly the bytes written.
#include "tools/tallyd/server/json_writer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tally::server {
namespace {

TEST(JsonWriterTest, NestedObjectsAndArraysGetTheirCommas) {
  std::string text;
  JsonWriter w(text);
  w.BeginObject().Field("a", int64_t{-5}).Key("b").BeginArray();
  w.BeginObject().Field("x", true).EndObject();
  w.BeginObject().EndObject();
  w.BeginArray().EndArray();
  w.String("s").Uint(18446744073709551615ull);
  w.EndArray().Field("c", false).Key("d").BeginObject().Field("e", "f").EndObject().EndObject();
  EXPECT_EQ(text, R"({"a":-5,"b":[{"x":true},{},[],"s",18446744073709551615],"c":false,"d":{"e":"f"}})");
  EXPECT_NO_THROW((void)nlohmann::json::parse(text));
}

TEST(JsonWriterTest, StringsReadBackByteForByte) {
  std::string every_control;
  for (int c = 0; c < 0x20; ++c) every_control.push_back(static_cast<char>(c));
  const std::string samples[] = {
      "", "plain", "quote \" and backslash \\", "slash / stays", every_control,
      "caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80",  // UTF-8 passes through
      "\x7f del", std::string("nul \0 inside", 12)};
  for (const std::string& s : samples) {
    std::string text;
    JsonWriter w(text);
    w.BeginObject().Field(s, s).EndObject();
    const auto parsed = nlohmann::json::parse(text);
    ASSERT_TRUE(parsed.contains(s)) << text;
    EXPECT_EQ(parsed[s].get<std::string>(), s) << text;
    for (char c : text) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control byte in " << text;
  }
}

}  // namespace
}  // namespace tally::server
