// Byte layout of the event log in RocksDB (documented in events/FORMAT.md).
// Shared by the log, its tools and tests that tamper with stored bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/event_log.h"
#include "engine/personal/personal_data.h"

namespace tally::log_format {

// Column family names.
inline constexpr char kEventsCf[] = "events";
inline constexpr char kStreamsCf[] = "streams";
inline constexpr char kRequestsCf[] = "requests";
inline constexpr char kUniqueCf[] = "unique";
inline constexpr char kMetaCf[] = "meta";
inline constexpr char kKeysCf[] = "keys";  // customer id -> personal::EncodeKeyRecord

// meta: "format" -> kFormatValue. Opening a folder with another value fails.
inline constexpr char kFormatKey[] = "format";
inline constexpr char kFormatValue[] = "tally-log/2";

inline constexpr size_t kHashSize = 32;

inline void PutBigEndian64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

inline uint64_t GetBigEndian64(std::string_view in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

// events: key = position as 8 bytes big-endian (so byte order = position order).
inline std::string EventKey(uint64_t position) {
  std::string key;
  key.reserve(8);
  PutBigEndian64(key, position);
  return key;
}

// streams: key = stream id, 0x00, version as 8 bytes big-endian;
// value = position as 8 bytes big-endian. Stream ids never contain 0x00.
inline std::string StreamKey(std::string_view stream_id, uint64_t version) {
  std::string key;
  key.reserve(stream_id.size() + 9);
  key.append(stream_id);
  key.push_back('\0');
  PutBigEndian64(key, version);
  return key;
}

// The prefix all of a stream's keys share: stream id, 0x00.
inline std::string StreamPrefix(std::string_view stream_id) {
  std::string key;
  key.reserve(stream_id.size() + 1);
  key.append(stream_id);
  key.push_back('\0');
  return key;
}

// The `keys` record a key change leaves; `position` is the event that
// records the change (an erasure says where it happened).
inline personal::KeyRecord KeyRecordOf(const KeyChange& change, uint64_t position) {
  personal::KeyRecord record;
  if (change.key) {
    record.state = personal::KeyState::kPresent;
    record.key = *change.key;
  } else {
    record.state = personal::KeyState::kErased;
    record.erased_at_position = position;
  }
  return record;
}

}  // namespace tally::log_format
