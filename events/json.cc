#include "events/json.h"

#include <flatbuffers/idl.h>

#include <cstdlib>
#include <cstdio>

#include "events/codec.h"

namespace tally::events {

JsonRenderer::JsonRenderer() {
  flatbuffers::IDLOptions opts;
  opts.strict_json = true;
  opts.indent_step = -1;  // one line
  opts.output_default_scalars_in_json = true;
  opts.output_enum_identifiers = true;
  parser_ = std::make_unique<flatbuffers::Parser>(opts);
  std::string text(SchemaText());
  if (!parser_->Parse(text.c_str())) {
    // The schema is compiled in and tested; failing here is a build defect.
    std::fprintf(stderr, "tally: embedded event schema does not parse: %s\n",
                 parser_->error_.c_str());
    std::abort();
  }
  // Deprecated fields are not rendered: the generated verifier does not
  // check them (they have no accessors), so the text generator must not
  // follow their offsets either; a corrupt record would send it out of
  // bounds. Their definitions move out of the printer's view, still owned.
  for (flatbuffers::StructDef* def : parser_->structs_.vec) {
    auto& fields = def->fields.vec;
    for (auto it = fields.begin(); it != fields.end();) {
      if ((*it)->deprecated) {
        hidden_fields_.emplace_back(*it);
        it = fields.erase(it);
      } else {
        ++it;
      }
    }
  }
}

JsonRenderer::~JsonRenderer() = default;

Result<std::string> JsonRenderer::Render(std::string_view bytes) const {
  auto env = VerifyEnvelope(bytes);
  if (!env.ok()) return env.error();
  std::string out;
  if (!flatbuffers::GenerateText(*parser_, bytes.data(), &out)) {
    return Error(ErrorCode::kCorruption,
                 "envelope could not be rendered as JSON (a string that is not UTF-8?)");
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace tally::events
