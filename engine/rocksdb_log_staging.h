// What a log opened for writing has staged: positions, the hash chain and
// stream versions as staged (durable or not), and the request ids and unique
// keys of batches not yet durable, which a lookup in RocksDB would miss. Only
// the writing mode has one (RocksDbEventLog::Open); the read-only and the
// follower modes have none. Owned by the staging thread (Prepare), except
// commit_expected_seq, the commit thread's (see EventLog, "Threads").
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/chain_hash.h"
#include "engine/event_log.h"

namespace tally {

struct LogStaging {
  uint64_t position = 0;  // the last position staged
  ChainDigest hash{};     // the chain up to it
  uint64_t seq = 0;       // the last batch sequence number handed out
  uint64_t commit_expected_seq = 1;  // the next batch Commit takes (commit thread)
  ChainHasher hasher;

  // Stream versions, cached (staged values included). Unbounded: one entry
  // per stream written since open (see FORMAT.md, "Memory"). Looked up by
  // string_view (every event's stream id, read in place from its envelope):
  // no string is built for a hit.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint64_t, StringHash, std::equal_to<>> stream_versions;

  // Request ids and unique keys of batches not yet durable; forgotten once
  // their batch is committed.
  std::unordered_map<std::string, RequestRecord> pending_requests;
  std::unordered_map<std::string, uint64_t> pending_claims;                  // key -> position
  std::deque<std::pair<uint64_t, std::vector<std::string>>> pending_by_seq;  // seq -> request ids
  std::deque<std::pair<uint64_t, std::vector<std::string>>> claims_by_seq;   // seq -> claim keys

  // Forgets the pending ids and keys of batches up to `committed` (RocksDB
  // holds them now).
  void ForgetUpTo(uint64_t committed) {
    while (!pending_by_seq.empty() && pending_by_seq.front().first <= committed) {
      for (const auto& id : pending_by_seq.front().second) pending_requests.erase(id);
      pending_by_seq.pop_front();
    }
    while (!claims_by_seq.empty() && claims_by_seq.front().first <= committed) {
      for (const auto& key : claims_by_seq.front().second) pending_claims.erase(key);
      claims_by_seq.pop_front();
    }
  }

  // Forgets everything staged beyond what is durable (after a failed
  // write): versions are read again from RocksDB, the head reloaded by the
  // caller.
  void ForgetAll() {
    stream_versions.clear();
    pending_requests.clear();
    pending_claims.clear();
    pending_by_seq.clear();
    claims_by_seq.clear();
  }
};

}  // namespace tally
