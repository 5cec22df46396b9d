// Personal data (right to erasure) without rewriting history: the personal
// fields of a billing profile are sealed with a per-customer key
// (XChaCha20-Poly1305, libsodium) before they enter an event. Destroying the
// key (tallyctl forget) makes every copy of them unreadable for good, in the
// log, in backups taken later and in Kafka, while the events, their positions
// and the hash chain stay as they were. Layout: events/FORMAT.md, "Personal
// data".
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"

namespace tally::personal {

inline constexpr size_t kKeySize = 32;
using Key = std::array<unsigned char, kKeySize>;

// The fields events never hold in clear.
struct Fields {
  std::string email;
  std::string first_name;
  std::string last_name;
  std::string address_line1;
  std::string address_line2;
  std::string address_line3;
  std::string phone_number;

  bool operator==(const Fields&) const = default;
};

// A new random key (libsodium's CSPRNG).
Key NewKey();

// 24-byte random nonce, then the ciphertext and 16-byte tag of `fields` as a
// PersonalData FlatBuffer. The customer id is the associated data, so a
// sealed blob moved to another customer's event does not open.
std::vector<uint8_t> Seal(const Key& key, std::string_view customer_id, const Fields& fields);

// The fields sealed by Seal with this key and customer id; kCorruption when
// the blob is damaged, was sealed for another customer or another key.
Result<Fields> Open(const Key& key, std::string_view customer_id, std::span<const uint8_t> sealed);

// A customer's key as the key store holds it.
enum class KeyState : uint8_t {
  kUnknown,  // no key: a customer of schema version 1, or a reader without the store
  kPresent,
  kErased,   // destroyed by forget
};

struct KeyRecord {
  KeyState state = KeyState::kUnknown;
  Key key{};                        // only when kPresent
  uint64_t erased_at_position = 0;  // only when kErased: the CustomerPersonalDataErased event
};

// Where readers find customers' keys (the event log's `keys` column family).
// Thread-safety: Find may be called from any thread.
class KeyRing {
 public:
  virtual ~KeyRing() = default;
  virtual Result<KeyRecord> FindKey(std::string_view customer_id) const = 0;
};

// The personal fields of one sealed blob as a reader may show them.
enum class Visibility : uint8_t {
  kClear,   // opened with the customer's key
  kErased,  // the key was destroyed: gone for good
  kSealed,  // this reader has no key store (e.g. a Kafka consumer without --keys-from)
};

struct Revealed {
  Visibility visibility = Visibility::kSealed;
  Fields fields;  // empty unless kClear
};

// Opens `sealed` with the customer's key from `ring` (nullptr: no key store,
// kSealed). An empty blob is kClear with empty fields. A present key that
// does not open the blob is kCorruption.
Result<Revealed> Reveal(const KeyRing* ring, std::string_view customer_id, std::span<const uint8_t> sealed);

// "clear", "erased", "sealed".
std::string_view VisibilityName(Visibility v);

// The keys column family's value for a record (events/FORMAT.md) and back.
std::string EncodeKeyRecord(const KeyRecord& record);
Result<KeyRecord> DecodeKeyRecord(std::string_view value);

}  // namespace tally::personal
