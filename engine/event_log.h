// What an event log is: an append-only, totally ordered, hash-chained
// sequence of event envelopes, indexed by stream, with idempotent request
// ids, unique-key reservations and optimistic concurrency. How it is stored
// lives in rocksdb_event_log.h; the byte layout in events/FORMAT.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"
#include "engine/chain_hash.h"
#include "engine/clock.h"
#include "engine/log_damage.h"
#include "engine/personal/personal_data.h"

namespace tally {

// Expected stream versions for optimistic concurrency.
inline constexpr uint64_t kAnyVersion = UINT64_MAX;  // no check
inline constexpr uint64_t kNoStream = 0;             // the stream must not exist yet

struct StreamExpectation {
  std::string stream_id;
  uint64_t expected_version = kAnyVersion;
};

// Reserves `key` (e.g. "domain/contoso.onmicrosoft.com") for `owner`, for
// ever. A key already reserved makes the whole request fail.
struct UniqueClaim {
  std::string key;
  std::string owner;
};

// Stores a customer's personal-data key (`key` set) or destroys it (unset:
// the record then says "erased at" the request's last position).
struct KeyChange {
  std::string customer_id;
  std::optional<personal::Key> key;
};

// One command's events: appended all together, or not at all.
struct AppendRequest {
  // Idempotency key (MS-RequestId). Empty: not idempotent.
  std::string request_id;
  // Digest of the command as the client sent it. A retry with the same
  // request id and a different fingerprint is kRequestIdReused.
  std::string fingerprint;
  std::vector<StreamExpectation> expectations;
  std::vector<UniqueClaim> claims;
  // Written with the events (a key change needs at least one event).
  std::vector<KeyChange> key_changes;
  // Envelopes built with events::FinishEnvelope; the log stamps position,
  // stream version and recorded-at. Consumed by the append.
  std::vector<std::string> events;
  // Opaque bytes stored under the request id and handed back on a retry
  // (e.g. the response body, never a secret).
  std::string outcome;
};

struct AppendOutcome {
  uint64_t first_position = 0;  // 0 when the request had no events
  uint64_t last_position = 0;
  // The version each event got in its stream, in request order. Empty when
  // `replayed`.
  std::vector<uint64_t> stream_versions;
  // True when the request id had been applied before: nothing was appended
  // and `outcome` is the stored outcome of the first application.
  bool replayed = false;
  std::string outcome;
};

// An applied request, as stored under its request id.
struct RequestRecord {
  std::string fingerprint;
  uint64_t first_position = 0;
  uint64_t last_position = 0;
  std::string outcome;
};

// Fingerprints are opaque to the log but for one rule: "BASE:PART" whose
// PART is "erased" (personal data erased since it was stored) matches any
// "BASE:..." sent later. Whether a retry with `sent` repeats the request
// stored with `stored`:
inline bool SameRequest(std::string_view stored, std::string_view sent) {
  if (stored == sent) return true;
  const size_t colon = stored.find(':');
  if (colon == std::string_view::npos || stored.substr(colon + 1) != "erased") return false;
  return sent.size() > colon && sent.substr(0, colon + 1) == stored.substr(0, colon + 1);
}

// `fingerprint` with its part after ':' erased; nullopt when it has none or
// it is erased already.
inline std::optional<std::string> ScrubbedFingerprint(std::string_view fingerprint) {
  const size_t colon = fingerprint.find(':');
  if (colon == std::string_view::npos || fingerprint.substr(colon + 1) == "erased") return std::nullopt;
  return std::string(fingerprint.substr(0, colon + 1)) + "erased";
}

// A stored event as a reader sees it. `envelope` is 8-byte aligned heap
// storage, so it can be read with events::VerifyEnvelope.
struct StoredEvent {
  uint64_t position = 0;
  ChainDigest hash{};
  std::string envelope;
};

// A stored event seen during a Scan: views valid only during the callback.
// `raw_value` is the whole stored value (hash then envelope) so that a
// verifier can inspect damaged records; `envelope` is empty when the value
// is too short to hold a hash, and is 8-byte aligned otherwise.
struct EventView {
  uint64_t position = 0;
  std::string_view raw_value;
  std::string_view stored_hash;  // 32 bytes, or empty if the value is short
  std::string_view envelope;
};

// A batch staged by EventLog::Prepare: each request's result as it will be
// once the batch is durable, and whatever the log needs to write it.
class PreparedBatch {
 public:
  virtual ~PreparedBatch() = default;
  // One per request, in order. Ok results become true only when Commit of
  // this batch succeeds; if it fails, every one of them fails.
  std::vector<Result<AppendOutcome>> results;
};

// Thread-safety: Prepare is called by one thread at a time (the staging
// thread) and Commit by one thread at a time (the commit thread); the two
// may run concurrently, which is how staging overlaps the disk sync. Every
// const method may be called from any thread; readers see only durable
// events.
//
// Failure: if a commit's write or sync fails (a full disk, an I/O error), the
// log is failed from then on: that commit and every later Prepare and Commit
// fail with the error (kStorageFull, kIoError) until Recover succeeds or the
// log is reopened. Nothing acknowledged is lost; the failed commit's events
// are never readers' to see (a process killed before Recover may find them
// in RocksDB's WAL at the next open: they were answered with an error, and a
// retry with the same request id gets their outcome).
//
// An event log is also the key ring of its customers' personal data
// (personal::KeyRing::FindKey); key records are written with the events of
// the request that changes them.
class EventLog : public personal::KeyRing {
 public:
  virtual ~EventLog() = default;

  // Stages `requests` on top of everything staged before (durable or not).
  // Each request succeeds or fails on its own (expected version, unique
  // claim, reused request id, malformed envelope); later requests see the
  // effects of earlier accepted ones. Nothing is visible to readers or
  // durable until Commit. Consumes the events of `requests`.
  virtual std::unique_ptr<PreparedBatch> Prepare(std::span<AppendRequest> requests) = 0;

  // Makes `batches` durable, in the order they were prepared (which must be
  // the order of the Prepare calls, none skipped), with one sync; then
  // publishes the new head to readers.
  virtual Status Commit(std::span<PreparedBatch* const> batches) = 0;

  // Prepare + Commit, for single-threaded callers (tools, tests). Results
  // of a failed commit are the commit's error.
  std::vector<Result<AppendOutcome>> AppendBatch(std::span<AppendRequest> requests) {
    auto batch = Prepare(requests);
    PreparedBatch* one[1] = {batch.get()};
    Status s = Commit(one);
    if (!s.ok()) {
      for (auto& r : batch->results) {
        if (r.ok()) r = s.error();
      }
    }
    return std::move(batch->results);
  }

  // After a failure: if the storage takes writes again, resets what was
  // staged to what is durable, clears the failure and returns OK; otherwise
  // returns why writes are still refused. Call only while no prepared batch
  // awaits its Commit (the group-commit writer calls it on its staging thread
  // while its commit thread is idle). OK at once when the log has not failed.
  virtual Status Recover() { return OkStatus(); }

  // Why writes are refused now, or nullopt when they are not. Any thread.
  virtual std::optional<Error> WriteFailure() const { return std::nullopt; }

  // The time the log stamps events with (recorded_at_us): the one clock
  // that commands decide by.
  virtual int64_t NowMicros() const { return SystemClock::Instance().NowMicros(); }

  // The highest durable position (0 for an empty log).
  virtual uint64_t Head() const = 0;

  // Up to `max` events from `from` (inclusive) on, in position order.
  virtual Result<std::vector<StoredEvent>> Read(uint64_t from, size_t max) const = 0;

  // Up to `max` events of one stream from version `from_version` on.
  virtual Result<std::vector<StoredEvent>> ReadStream(std::string_view stream_id,
                                                      uint64_t from_version,
                                                      size_t max) const = 0;

  // Calls `fn` for each stored record with position in [from, to] (`to`
  // clamped to the head), in order, until it returns false, checking the
  // chain as it goes: each record must follow the one before it (no gap),
  // hold a hash, and that hash must be SHA-256(hash(n-1) || envelope(n))
  // with hash(from-1) as stored. A record that fails is never given to `fn`:
  // the scan reports it to damage() and returns kCorruption naming its
  // position, as it does when the storage cannot read a record (a table
  // block that fails its checksum) or the log ends before `to`. Envelopes
  // are not verified here (FlatBuffers): that is the reader's job. The
  // snapshot is taken at the start of the scan.
  Status Scan(uint64_t from, uint64_t to, const std::function<bool(const EventView&)>& fn) const;

  // Scan without the chain check: every stored record in [from, to] as it
  // is, for a verifier that reports damaged records itself (VerifyChain).
  virtual Status ScanRecords(uint64_t from, uint64_t to,
                             const std::function<bool(const EventView&)>& fn) const = 0;

  // The current version of a stream (0 if it does not exist).
  virtual Result<uint64_t> StreamVersion(std::string_view stream_id) const = 0;

  // The owner of a reserved unique key, or nullopt if it is free.
  virtual Result<std::optional<std::string>> UniqueOwner(std::string_view key) const = 0;

  // The durable record of an applied request id, or nullopt.
  virtual Result<std::optional<RequestRecord>> FindRequest(std::string_view request_id) const = 0;

  // The record of a request id that Prepare has staged, durable or not yet
  // (nullopt: none). For the staging thread (as Prepare): a retry decided
  // while its original waits for its commit finds it here.
  virtual Result<std::optional<RequestRecord>> FindStagedRequest(std::string_view request_id) const {
    return FindRequest(request_id);
  }

  // The chain hash stored at `position` (kGenesisDigest for position 0).
  virtual Result<ChainDigest> HashAt(uint64_t position) const = 0;

  // The damage this log has seen (any thread; see log_damage.h). A log
  // with damage refuses writes: WriteFailure says why.
  LogDamageLatch& damage() const { return damage_; }

 private:
  mutable LogDamageLatch damage_;
};

}  // namespace tally
