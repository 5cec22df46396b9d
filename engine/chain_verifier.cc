#include "engine/chain_verifier.h"

#include <cstring>

#include "engine/log_format.h"
#include "events/codec.h"

namespace tally {

Result<VerifyReport> VerifyChain(const EventLog& log, uint64_t from, uint64_t to,
                                 const std::function<void(uint64_t)>& progress) {
  VerifyReport report;
  if (from == 0) from = 1;
  const uint64_t head = log.Head();
  if (to == 0 || to > head) to = head;
  if (from > to) return report;
  auto previous = log.HashAt(from - 1);
  if (!previous.ok()) {
    report.first_bad = from - 1;
    report.reason = "cannot read the hash before the range: " + previous.error().message();
    return report;
  }
  ChainDigest hash = *previous;
  ChainHasher hasher;
  uint64_t expected = from;
  auto fail = [&](uint64_t position, std::string why) {
    report.first_bad = position;
    report.reason = std::move(why);
    return false;
  };
  Status s = log.Scan(from, to, [&](const EventView& v) {
    ++report.checked;
    if (v.position != expected) {
      return fail(expected, "missing event: next stored position is " + std::to_string(v.position));
    }
    ++expected;
    if (v.stored_hash.size() != log_format::kHashSize) {
      return fail(v.position, "record shorter than its 32-byte hash");
    }
    auto env = events::VerifyEnvelope(v.envelope);
    if (!env.ok()) return fail(v.position, env.error().message());
    if ((*env)->position() != v.position) {
      return fail(v.position, "envelope says position " + std::to_string((*env)->position()));
    }
    hash = hasher.Next(hash, v.envelope);
    if (std::memcmp(hash.data(), v.stored_hash.data(), hash.size()) != 0) {
      return fail(v.position, "chain hash mismatch");
    }
    if (progress && (report.checked & 0xffff) == 0) progress(report.checked);
    return true;
  });
  if (!s.ok()) return s.error();
  if (report.ok() && expected != to + 1) {
    report.first_bad = expected;
    report.reason = "missing event: log ends before the head " + std::to_string(to);
  }
  return report;
}

}  // namespace tally
