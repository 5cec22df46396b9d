// Renders stored events as JSON with FlatBuffers' own text generator, driven
// by the schema text compiled into the binary (events/events.fbs).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"

namespace flatbuffers {
class Parser;
struct FieldDef;
}

namespace tally::events {

// Thread-safety: Render() is const and may be called from many threads at
// once; construction parses the schema (about a millisecond), so keep one.
class JsonRenderer {
 public:
  JsonRenderer();
  ~JsonRenderer();
  JsonRenderer(const JsonRenderer&) = delete;
  JsonRenderer& operator=(const JsonRenderer&) = delete;

  // One line of strict JSON for a verified envelope: every field, enums by
  // name, the payload as {"payload_type": "...", "payload": {...}}. The
  // bytes are verified first; a corrupt envelope is an error. Deprecated
  // fields are never rendered, even when an old or forged record holds them.
  Result<std::string> Render(std::string_view envelope_bytes) const;

 private:
  std::unique_ptr<flatbuffers::Parser> parser_;
  std::vector<std::unique_ptr<flatbuffers::FieldDef>> hidden_fields_;
};

// The text of events/events.fbs, as compiled in.
std::string_view SchemaText();

}  // namespace tally::events
