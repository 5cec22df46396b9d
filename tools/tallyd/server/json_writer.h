// Writes JSON text straight into a string, for the responses the server
// sends most (customers and subscriptions): no tree, no per-field
// allocation. The caller writes a well-formed sequence (keys only inside
// objects, one value per key); the writer places the commas and escapes
// strings as RFC 8259 requires (the strings are valid UTF-8: the API
// checks every input).
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace tally::server {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }

  // The key of the next value, inside an object.
  JsonWriter& Key(std::string_view key) {
    Comma();
    Quoted(key);
    out_.push_back(':');
    comma_ = false;
    return *this;
  }

  JsonWriter& String(std::string_view s) {
    Comma();
    Quoted(s);
    comma_ = true;
    return *this;
  }
  JsonWriter& Int(int64_t v) { return Number(v); }
  JsonWriter& Uint(uint64_t v) { return Number(v); }
  JsonWriter& Bool(bool v) {
    Comma();
    out_.append(v ? "true" : "false");
    comma_ = true;
    return *this;
  }

  // Key and value at once.
  JsonWriter& Field(std::string_view key, std::string_view value) { return Key(key).String(value); }
  JsonWriter& Field(std::string_view key, const char* value) { return Key(key).String(value); }
  JsonWriter& Field(std::string_view key, const std::string& value) { return Key(key).String(value); }
  JsonWriter& Field(std::string_view key, bool value) { return Key(key).Bool(value); }
  JsonWriter& Field(std::string_view key, int32_t value) { return Key(key).Int(value); }
  JsonWriter& Field(std::string_view key, int64_t value) { return Key(key).Int(value); }
  JsonWriter& Field(std::string_view key, uint64_t value) { return Key(key).Uint(value); }

 private:
  JsonWriter& Open(char c) {
    Comma();
    out_.push_back(c);
    comma_ = false;
    return *this;
  }
  JsonWriter& Close(char c) {
    out_.push_back(c);
    comma_ = true;
    return *this;
  }
  template <typename T>
  JsonWriter& Number(T v) {
    Comma();
    char buf[24];  // the longest 64-bit integer has 20 digits and a sign
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, end);
    comma_ = true;
    return *this;
  }
  void Comma() {
    if (comma_) out_.push_back(',');
  }
  void Quoted(std::string_view s) {
    out_.push_back('"');
    size_t plain = 0;  // start of the run of bytes that need no escape
    for (size_t i = 0; i < s.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_.append(s.data() + plain, i - plain);
      plain = i + 1;
      switch (c) {
        case '"': out_.append("\\\""); break;
        case '\\': out_.append("\\\\"); break;
        case '\b': out_.append("\\b"); break;
        case '\f': out_.append("\\f"); break;
        case '\n': out_.append("\\n"); break;
        case '\r': out_.append("\\r"); break;
        case '\t': out_.append("\\t"); break;
        default: {
          static constexpr char kHex[] = "0123456789abcdef";
          const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
          out_.append(esc, 6);
        }
      }
    }
    out_.append(s.data() + plain, s.size() - plain);
    out_.push_back('"');
  }

  std::string& out_;
  bool comma_ = false;  // a value came before at this level: the next one needs a comma
};

}  // namespace tally::server
