// Request bodies: JSON parsed with limits (nesting depth, string length,
// array size), keys accepted in camelCase and PascalCase, and typed field
// access that turns every wrong type, missing or unknown field into a 400
// with a code and the field's path.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"

namespace tally::server {

struct JsonLimits {
  size_t max_depth = 16;
  size_t max_string = 1024;  // bytes; the domain checks tighter limits per field
  size_t max_array = 100;
};

// Parses `body`: kMalformedJson for anything that is not a JSON object in
// valid UTF-8 within the limits. Object keys are normalized to camelCase
// (first letter lower-case); two keys that normalize alike are an error. A
// trailing comma before } or ] is accepted, as Partner Center accepts it
// (its docs' samples have them).
Result<nlohmann::json> ParseBody(std::string_view body, const JsonLimits& limits = {});

// Typed access to one JSON object. Each getter marks its key as known; Done
// reports keys that no getter asked for (unknown fields). Errors are
// kInvalidField and name the path ("billingProfile.defaultAddress.city").
class Fields {
 public:
  // `value` must outlive the Fields.
  Fields(const nlohmann::json& value, std::string path);

  Result<std::optional<std::string>> OptString(std::string_view key);
  Result<std::string> String(std::string_view key);  // required
  Result<std::optional<int64_t>> OptInt(std::string_view key);
  Result<std::optional<bool>> OptBool(std::string_view key);
  // A nested object (required or not) or array.
  Result<const nlohmann::json*> OptObject(std::string_view key);
  Result<const nlohmann::json*> Array(std::string_view key);  // required, non-empty
  // Any value (null when absent), marking the key known.
  const nlohmann::json* OptAny(std::string_view key);
  Status Done() const;

  const std::string& path() const { return path_; }
  std::string PathOf(std::string_view key) const;

 private:
  const nlohmann::json& value_;
  std::string path_;
  std::set<std::string, std::less<>> used_;
};

// Checks that `value` is an object; the error names `path`.
Status ExpectObject(const nlohmann::json& value, const std::string& path);

}  // namespace tally::server
