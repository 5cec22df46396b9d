// UUID text from 128 random bits, in the version-4 layout
// (xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx). The bits' source is the caller's.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace tally::events {

inline std::string FormatUuidV4(uint64_t hi, uint64_t lo) {
  char buf[37];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xfff),
                static_cast<unsigned>(0x8000 | ((lo >> 48) & 0x3fff)),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

}  // namespace tally::events
