#include "tools/tallyd/server/json_input.h"

#include <cstdio>
#include <vector>

namespace tally::server {
namespace {

using nlohmann::json;

Error Invalid(const std::string& what) { return Error(ErrorCode::kInvalidField, what); }

// Calls fn(i, c) for each character of `s` outside JSON strings (a
// string's opening quote included, what it holds and its closing quote not).
template <typename Fn>
void ForEachOutsideStrings(std::string_view s, Fn fn) {
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    fn(i, c);
  }
}

bool Blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Depth of nesting, counted outside strings; a cheap guard before parsing.
size_t MaxDepth(std::string_view s) {
  size_t depth = 0, max = 0;
  ForEachOutsideStrings(s, [&](size_t, char c) {
    if (c == '{' || c == '[') {
      max = std::max(max, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  });
  return max;
}

// Partner Center's own samples end objects with a comma ("Country": "US",
// }) and its service takes them (the docs' create-customer body): a comma
// before a closing } or ] is dropped, outside strings. Anything else stays:
// "[1,,]", "{,}" or "[,]" are still malformed. Empty when there is none (the
// body is parsed as it came).
std::string WithoutTrailingCommas(std::string_view s) {
  std::string out;
  char last_token = 0;  // the last character outside strings that is not blank
  size_t copied = 0;
  ForEachOutsideStrings(s, [&](size_t i, char c) {
    if (Blank(c)) return;
    if (c == ',') {
      size_t next = i + 1;
      while (next < s.size() && Blank(s[next])) ++next;
      const bool closes = next < s.size() && (s[next] == '}' || s[next] == ']');
      const bool after_value = last_token != 0 && last_token != '{' && last_token != '[' && last_token != ',' &&
                               last_token != ':';
      if (closes && after_value) {
        out.append(s.substr(copied, i - copied));
        copied = i + 1;
        return;  // last_token stays the value's end
      }
    }
    last_token = c;
  });
  if (copied == 0) return {};
  out.append(s.substr(copied));
  return out;
}

Status Normalize(json& value, const JsonLimits& limits, const std::string& path) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text.size() > limits.max_string) {
      return Error(ErrorCode::kFieldTooLong, path + " is longer than " + std::to_string(limits.max_string) + " bytes");
    }
    // Every text field is one line of text: a control character (NUL, a
    // line break, ESC, DEL) is refused, never stored or cut.
    for (unsigned char c : text) {
      if (c < 0x20 || c == 0x7f) {
        char code[8];
        std::snprintf(code, sizeof code, "U+%04X", c);
        return Invalid(path + " contains a control character (" + code + ")");
      }
    }
  }
  if (value.is_array()) {
    if (value.size() > limits.max_array) {
      return Invalid(path + " has more than " + std::to_string(limits.max_array) + " items");
    }
    for (size_t i = 0; i < value.size(); ++i) {
      TALLY_RETURN_IF_ERROR(Normalize(value[i], limits, path + "[" + std::to_string(i) + "]"));
    }
  }
  if (value.is_object()) {
    json out = json::object();
    for (auto& [key, item] : value.items()) {
      std::string k = key;
      if (!k.empty() && k[0] >= 'A' && k[0] <= 'Z') k[0] = static_cast<char>(k[0] - 'A' + 'a');
      if (out.contains(k)) return Invalid((path.empty() ? "" : path + ".") + k + " is given twice");
      TALLY_RETURN_IF_ERROR(Normalize(item, limits, (path.empty() ? "" : path + ".") + k));
      out[k] = std::move(item);
    }
    value = std::move(out);
  }
  return OkStatus();
}

}  // namespace

Result<json> ParseBody(std::string_view body, const JsonLimits& limits) {
  const std::string without_commas = WithoutTrailingCommas(body);
  if (!without_commas.empty()) body = without_commas;
  if (MaxDepth(body) > limits.max_depth) {
    return Error(ErrorCode::kMalformedJson, "the body nests deeper than " + std::to_string(limits.max_depth));
  }
  // nlohmann keeps the last of two equal keys; a body that says a field
  // twice is refused instead, so what is applied is never a guess.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  const json::parser_callback_t track = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second &&
            duplicate.empty()) {
          duplicate = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  json value = json::parse(body.begin(), body.end(), track, /*allow_exceptions=*/false);
  if (value.is_discarded()) return Error(ErrorCode::kMalformedJson, "the body is not valid JSON (in UTF-8)");
  if (!duplicate.empty()) return Invalid(duplicate + " is given twice");
  if (!value.is_object()) return Error(ErrorCode::kMalformedJson, "the body must be a JSON object");
  TALLY_RETURN_IF_ERROR(Normalize(value, limits, ""));
  return value;
}

Status ExpectObject(const json& value, const std::string& path) {
  if (!value.is_object()) return Invalid(path + " must be an object");
  return OkStatus();
}

Fields::Fields(const json& value, std::string path) : value_(value), path_(std::move(path)) {}

std::string Fields::PathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

Result<std::optional<std::string>> Fields::OptString(std::string_view key) {
  used_.emplace(key);
  auto it = value_.find(key);
  if (it == value_.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return Invalid(PathOf(key) + " must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::string> Fields::String(std::string_view key) {
  auto v = OptString(key);
  if (!v.ok()) return v.error();
  if (!v->has_value()) return Invalid(PathOf(key) + " is required");
  return **v;
}

Result<std::optional<int64_t>> Fields::OptInt(std::string_view key) {
  used_.emplace(key);
  auto it = value_.find(key);
  if (it == value_.end() || it->is_null()) return std::optional<int64_t>();
  if (!it->is_number_integer()) return Invalid(PathOf(key) + " must be a whole number");
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return Invalid(PathOf(key) + " is out of range");
  }
  return std::optional<int64_t>(it->get<int64_t>());
}

Result<std::optional<bool>> Fields::OptBool(std::string_view key) {
  used_.emplace(key);
  auto it = value_.find(key);
  if (it == value_.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return Invalid(PathOf(key) + " must be true or false");
  return std::optional<bool>(it->get<bool>());
}

Result<const json*> Fields::OptObject(std::string_view key) {
  used_.emplace(key);
  auto it = value_.find(key);
  if (it == value_.end() || it->is_null()) return static_cast<const json*>(nullptr);
  if (!it->is_object()) return Invalid(PathOf(key) + " must be an object");
  return &*it;
}

Result<const json*> Fields::Array(std::string_view key) {
  used_.emplace(key);
  auto it = value_.find(key);
  if (it == value_.end() || it->is_null()) return Invalid(PathOf(key) + " is required");
  if (!it->is_array()) return Invalid(PathOf(key) + " must be an array");
  if (it->empty()) return Invalid(PathOf(key) + " must not be empty");
  return &*it;
}

const json* Fields::OptAny(std::string_view key) {
  used_.emplace(key);
  auto it = value_.find(key);
  return it == value_.end() || it->is_null() ? nullptr : &*it;
}

Status Fields::Done() const {
  for (const auto& [key, unused] : value_.items()) {
    if (used_.find(key) == used_.end()) return Invalid(PathOf(key) + " is not a known field");
  }
  return OkStatus();
}

}  // namespace tally::server
