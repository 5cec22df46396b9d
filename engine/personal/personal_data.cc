#include "engine/personal/personal_data.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

#include "events/events_generated.h"

namespace tally::personal {
namespace {

constexpr size_t kNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagSize = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr char kIdentifier[] = "TLYP";
static_assert(kKeySize == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) {
    std::fprintf(stderr, "tally: libsodium failed to initialise\n");
    std::abort();
  }
}

std::string Str(const flatbuffers::String* s) { return s == nullptr ? std::string() : s->str(); }

}  // namespace

Key NewKey() {
  InitSodium();
  Key key;
  crypto_aead_xchacha20poly1305_ietf_keygen(key.data());
  return key;
}

std::vector<uint8_t> Seal(const Key& key, std::string_view customer_id, const Fields& f) {
  InitSodium();
  flatbuffers::FlatBufferBuilder fbb(256);
  fbb.Finish(events::CreatePersonalDataDirect(fbb, f.email.c_str(), f.first_name.c_str(), f.last_name.c_str(),
                                              f.address_line1.c_str(), f.address_line2.c_str(),
                                              f.address_line3.c_str(), f.phone_number.c_str()),
             kIdentifier);
  std::vector<uint8_t> out(kNonceSize + fbb.GetSize() + kTagSize);
  randombytes_buf(out.data(), kNonceSize);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data() + kNonceSize, &written, fbb.GetBufferPointer(), fbb.GetSize(),
      reinterpret_cast<const unsigned char*>(customer_id.data()), customer_id.size(), nullptr, out.data(),
      key.data());
  out.resize(kNonceSize + written);
  return out;
}

Result<Fields> Open(const Key& key, std::string_view customer_id, std::span<const uint8_t> sealed) {
  InitSodium();
  if (sealed.size() < kNonceSize + kTagSize) {
    return Error(ErrorCode::kCorruption, "sealed personal data is too short");
  }
  std::vector<uint8_t> plain(sealed.size() - kNonceSize - kTagSize);
  unsigned long long length = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          plain.data(), &length, nullptr, sealed.data() + kNonceSize, sealed.size() - kNonceSize,
          reinterpret_cast<const unsigned char*>(customer_id.data()), customer_id.size(), sealed.data(),
          key.data()) != 0) {
    return Error(ErrorCode::kCorruption,
                 "sealed personal data does not open with customer " + std::string(customer_id) + "'s key");
  }
  flatbuffers::Verifier verifier(plain.data(), length);
  if (!verifier.VerifyBuffer<events::PersonalData>(kIdentifier)) {
    return Error(ErrorCode::kCorruption, "opened personal data is not a PersonalData buffer");
  }
  const auto* p = flatbuffers::GetRoot<events::PersonalData>(plain.data());
  Fields f{Str(p->email()),         Str(p->first_name()),    Str(p->last_name()),   Str(p->address_line1()),
           Str(p->address_line2()), Str(p->address_line3()), Str(p->phone_number())};
  sodium_memzero(plain.data(), plain.size());
  return f;
}

Result<Revealed> Reveal(const KeyRing* ring, std::string_view customer_id, std::span<const uint8_t> sealed) {
  if (sealed.empty()) return Revealed{Visibility::kClear, {}};
  if (ring == nullptr) return Revealed{Visibility::kSealed, {}};
  auto record = ring->FindKey(customer_id);
  if (!record.ok()) return record.error();
  switch (record->state) {
    case KeyState::kErased:
      return Revealed{Visibility::kErased, {}};
    case KeyState::kUnknown:
      return Error(ErrorCode::kCorruption,
                   "customer " + std::string(customer_id) + " has sealed personal data but no key");
    case KeyState::kPresent:
      break;
  }
  auto fields = Open(record->key, customer_id, sealed);
  if (!fields.ok()) return fields.error();
  return Revealed{Visibility::kClear, std::move(*fields)};
}

std::string_view VisibilityName(Visibility v) {
  switch (v) {
    case Visibility::kClear: return "clear";
    case Visibility::kErased: return "erased";
    case Visibility::kSealed: return "sealed";
  }
  return "sealed";
}

std::string EncodeKeyRecord(const KeyRecord& r) {
  std::string out;
  if (r.state == KeyState::kPresent) {
    out.push_back('K');
    out.append(reinterpret_cast<const char*>(r.key.data()), r.key.size());
  } else {
    out.push_back('E');
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(r.erased_at_position >> shift));
  }
  return out;
}

Result<KeyRecord> DecodeKeyRecord(std::string_view v) {
  KeyRecord r;
  if (v.size() == 1 + kKeySize && v[0] == 'K') {
    r.state = KeyState::kPresent;
    std::copy(v.begin() + 1, v.end(), r.key.begin());
    return r;
  }
  if (v.size() == 9 && v[0] == 'E') {
    r.state = KeyState::kErased;
    for (size_t i = 1; i < 9; ++i) r.erased_at_position = (r.erased_at_position << 8) | static_cast<uint8_t>(v[i]);
    return r;
  }
  return Error(ErrorCode::kCorruption, "a stored customer key record is malformed");
}

}  // namespace tally::personal
