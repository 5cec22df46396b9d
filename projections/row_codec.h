// The byte encoding of read-model rows: a format byte, then fields in a
// fixed order as unsigned LEB128 varints, zigzag varints and
// length-prefixed strings. Compact and quick to write, which a rebuild of
// millions of rows needs; the layout of each row is in projections/README.md.
// Rows are derived data: a format change is handled by a rebuild, not by
// migration.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tally::projections {

// The first byte of every row value written by this build.
inline constexpr uint8_t kRowFormat = 1;

class RowWriter {
 public:
  RowWriter() {
    out_.reserve(256);  // most rows fit: one allocation instead of a growth series
    out_.push_back(static_cast<char>(kRowFormat));
  }

  RowWriter& U64(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  RowWriter& I64(int64_t v) {
    return U64((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  RowWriter& Bool(bool v) { return U64(v ? 1 : 0); }
  RowWriter& Str(std::string_view s) {
    U64(s.size());
    out_.append(s);
    return *this;
  }

  // The row; the writer is spent afterwards.
  std::string Finish() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads what a RowWriter wrote. Every getter returns false (and keeps
// returning false) once the input is exhausted or malformed, so a caller
// checks once, at the end, with ok().
class RowReader {
 public:
  explicit RowReader(std::string_view in) : in_(in) {
    if (in_.empty() || static_cast<uint8_t>(in_[0]) != kRowFormat) {
      ok_ = false;
    } else {
      in_.remove_prefix(1);
    }
  }

  bool U64(uint64_t& v) {
    v = 0;
    for (int shift = 0; ok_ && shift < 64; shift += 7) {
      if (in_.empty()) break;
      const uint8_t b = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return ok_ = false;
  }
  bool I64(int64_t& v) {
    uint64_t u = 0;
    if (!U64(u)) return false;
    v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }
  bool I32(int32_t& v) {
    int64_t w = 0;
    if (!I64(w) || w < INT32_MIN || w > INT32_MAX) return ok_ = false;
    v = static_cast<int32_t>(w);
    return true;
  }
  bool Bool(bool& v) {
    uint64_t u = 0;
    if (!U64(u) || u > 1) return ok_ = false;
    v = u == 1;
    return true;
  }
  bool Str(std::string& s) {
    uint64_t n = 0;
    if (!U64(n) || n > in_.size()) return ok_ = false;
    s.assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  // A count of repeated items that follow; bounded by the bytes left, so a
  // corrupt count cannot make the caller reserve gigabytes.
  bool Count(uint64_t& n) { return U64(n) && (n <= in_.size() || (ok_ = false)); }

  // True when everything read so far was well formed.
  bool ok() const { return ok_; }
  // True when all went well and nothing is left over.
  bool done() const { return ok_ && in_.empty(); }

 private:
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace tally::projections
