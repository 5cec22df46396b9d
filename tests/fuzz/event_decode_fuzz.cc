// Fuzz target: event decoding. Arbitrary bytes go through the verifier; what
// verifies is read field by field, rendered as JSON and stamped. Nothing may
// crash, hang or trip a sanitizer.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "events/codec.h"
#include "events/json.h"
#include "events/samples.h"

namespace {

// Seeds an empty corpus folder with one valid envelope of every type.
void SeedCorpus(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec) || !fs::is_empty(dir, ec)) return;
  tally::events::SampleEvents samples(1);
  using tally::events::Payload;
  for (uint8_t t = 1; t <= static_cast<uint8_t>(Payload::MAX); ++t) {
    std::string bytes = samples.OfType(static_cast<Payload>(t), samples.Uuid());
    (void)tally::events::StampEnvelope(bytes, t, 1, 1'700'000'000'000'000);
    std::ofstream(dir + "/seed-" + std::to_string(t), std::ios::binary) << bytes;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  for (int i = 1; i < *argc; ++i) {
    if ((*argv)[i][0] != '-') SeedCorpus((*argv)[i]);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tally::events::JsonRenderer renderer;
  std::string bytes(reinterpret_cast<const char*>(data), size);  // aligned copy
  bytes.reserve(size + 16);  // heap storage even for tiny inputs (alignment)
  auto env = tally::events::VerifyEnvelope(bytes);
  if (!env.ok()) return 0;
  const auto* e = *env;
  size_t touched = tally::events::View(e->stream_id()).size() +
                   tally::events::View(e->request_id()).size() +
                   tally::events::View(e->customer_id()).size() + e->position();
  touched += tally::events::EventTypeName(e->payload_type()).size();
  // Verified bytes may still hold strings that are not UTF-8 (FlatBuffers
  // does not check); rendering them is an error result, never a crash.
  auto json = renderer.Render(bytes);
  touched += json.ok() ? json->size() : json.error().message().size();
  (void)tally::events::StampEnvelope(bytes, 1, 1, 1);
  if (touched == SIZE_MAX) std::puts("");  // keep the reads observable
  return 0;
}
