#include "tools/tallyctl/restore_kafka.h"

#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <rocksdb/db.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <vector>

#include "engine/chain_verifier.h"
#include "engine/head_mark.h"
#include "tools/common/backup.h"
#include "engine/domain/decide.h"
#include "engine/log_format.h"
#include "engine/rocksdb_error.h"
#include "engine/rocksdb_event_log.h"
#include "events/codec.h"
#include "projections/projection.h"
#include "projections/store.h"

namespace tally {
namespace {

constexpr size_t kWriteEvents = 2000;        // events per synced write
constexpr size_t kPauseAbove = 20000;        // a partition this far ahead is paused
constexpr size_t kResumeBelow = 2000;

std::string Hex(const personal::Key& key) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : key) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::optional<personal::Key> FromHex(const std::string& text) {
  personal::Key key{};
  if (text.size() != key.size() * 2) return std::nullopt;
  for (size_t i = 0; i < key.size(); ++i) {
    unsigned value = 0;
    if (std::sscanf(text.c_str() + 2 * i, "%2x", &value) != 1) return std::nullopt;
    key[i] = static_cast<unsigned char>(value);
  }
  return key;
}

// A key backup: customer id -> key (nullopt: erased when the backup was taken).
Result<std::map<std::string, std::optional<personal::Key>>> LoadKeys(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(ErrorCode::kIoError, "cannot read the key backup " + path);
  std::map<std::string, std::optional<personal::Key>> keys;
  size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    const std::string where = path + " line " + std::to_string(line_no);
    if (j.is_discarded() || !j.is_object() || !j.contains("customer") || !j["customer"].is_string()) {
      return Error(ErrorCode::kInvalidArgument, where + ": not a key record");
    }
    if (j.contains("key") && j["key"].is_string()) {
      auto key = FromHex(j["key"].get<std::string>());
      if (!key) return Error(ErrorCode::kInvalidArgument, where + ": the key is not 64 hex digits");
      keys[j["customer"].get<std::string>()] = *key;
    } else if (j.contains("erasedAt")) {
      keys[j["customer"].get<std::string>()] = std::nullopt;
    } else {
      return Error(ErrorCode::kInvalidArgument, where + ": neither \"key\" nor \"erasedAt\"");
    }
  }
  return keys;
}

// The key backup in `path` into `keys` (nothing when `path` is empty);
// false, having said why, when it cannot be read.
bool LoadKeyBackup(const std::string& path, std::optional<std::map<std::string, std::optional<personal::Key>>>& keys) {
  if (path.empty()) return true;
  auto loaded = LoadKeys(path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "tallyctl restore: %s\n", loaded.error().ToString().c_str());
    return false;
  }
  keys = std::move(*loaded);
  return true;
}

struct Received {
  uint64_t position;
  std::string envelope;
};

class Restorer {
 public:
  // Appends what the topic holds after the log's head; positions up to the
  // head must be in the log with the same bytes.
  Restorer(const RestoreFromKafkaOptions& options, RocksDbEventLog& log,
           const std::map<std::string, std::optional<personal::Key>>* keys)
      : options_(options), log_(log), keys_(keys), next_(log.Head() + 1) {}

  // Exit code as RestoreFromKafka.
  int Run();

  uint64_t customers_without_key = 0, duplicates = 0;
  uint64_t matched = 0;  // records of positions the log held before (a heal), compared byte for byte
  uint64_t repaired() const { return repaired_; }

 private:
  // The claims and key changes the log wrote with this event.
  Status Stage(std::string envelope);
  Status Flush();
  // Moves every record that is next in position order to the log.
  Status Drain();
  // A heal, for a position the log held before: the same bytes (counted in
  // `matched`), or bytes changed in the log whose original the topic holds
  // (put back, counted in `repaired_`), or an error.
  Status CompareOrRepair(const Received& r);
  ChainHasher hasher_;

  const RestoreFromKafkaOptions& options_;
  RocksDbEventLog& log_;
  const std::map<std::string, std::optional<personal::Key>>* keys_;
  std::vector<RocksDbEventLog::StampedEvent> pending_;
  uint64_t next_;  // the position the log needs next
  const uint64_t healed_from_ = next_ - 1;  // the log's head before the restore
  std::vector<std::deque<Received>> queues_;
  uint64_t repaired_ = 0;
};

Status Restorer::Stage(std::string envelope) {
  RocksDbEventLog::StampedEvent e;
  const events::Envelope* env = events::UnverifiedEnvelope(envelope);  // verified when received
  if (const auto* created = env->payload_as_CustomerCreated()) {
    const std::string customer(events::View(created->customer_id()));
    e.claims.push_back({domain::DomainKey(std::string(events::View(created->domain()))), customer});
    std::optional<personal::Key> key;
    if (keys_ != nullptr) {
      auto it = keys_->find(customer);
      if (it != keys_->end()) key = it->second;
    }
    if (key) {
      e.key_changes.push_back({customer, *key});
    } else if (keys_ == nullptr || keys_->count(customer) == 0) {
      // No key to open this customer's sealed fields: recorded as erased
      // here, so that readers say so instead of failing.
      e.key_changes.push_back({customer, std::nullopt});
      ++customers_without_key;
    }
  } else if (env->payload_as_CustomerPersonalDataErased() != nullptr) {
    e.key_changes.push_back({std::string(events::View(env->customer_id())), std::nullopt});
  }
  e.envelope = std::move(envelope);
  pending_.push_back(std::move(e));
  return pending_.size() >= kWriteEvents ? Flush() : OkStatus();
}

Status Restorer::Flush() {
  if (pending_.empty()) return OkStatus();
  Status s = log_.AppendStamped(pending_);
  pending_.clear();
  return s;
}

Status Restorer::CompareOrRepair(const Received& r) {
  rocksdb::DB* db = log_.db();
  std::string stored;
  const rocksdb::Status got = db->Get(rocksdb::ReadOptions(), log_.events_cf(), log_format::EventKey(r.position), &stored);
  if (!got.ok() || stored.size() < log_format::kHashSize) {
    return Error(ErrorCode::kCorruption, "position " + std::to_string(r.position) + " cannot be read from the log (" +
                                             (got.ok() ? std::string("too short") : got.ToString()) +
                                             "): not healed here");
  }
  if (std::string_view(stored).substr(log_format::kHashSize) == r.envelope) {
    ++matched;
    return OkStatus();
  }
  // The bytes differ. The topic's are the original if they give the hash
  // the log stored for this position when it was written (the hash kept,
  // the envelope changed): then they are put back.
  ChainDigest previous = kGenesisDigest;
  if (r.position > 1) {
    std::string before;
    const rocksdb::Status prev =
        db->Get(rocksdb::ReadOptions(), log_.events_cf(), log_format::EventKey(r.position - 1), &before);
    if (!prev.ok() || before.size() < log_format::kHashSize) {
      return Error(ErrorCode::kCorruption, "position " + std::to_string(r.position) +
                                               " differs between the log and the topic, and the hash before it "
                                               "cannot be read");
    }
    std::memcpy(previous.data(), before.data(), log_format::kHashSize);
  }
  const ChainDigest original = hasher_.Next(previous, r.envelope);
  if (std::memcmp(original.data(), stored.data(), log_format::kHashSize) != 0) {
    return Error(ErrorCode::kCorruption, "position " + std::to_string(r.position) +
                                             " differs between the log and the topic, and the topic's bytes do not "
                                             "give the hash the log stored: not healed");
  }
  std::string repaired(stored.data(), log_format::kHashSize);
  repaired += r.envelope;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (auto put = db->Put(wo, log_.events_cf(), log_format::EventKey(r.position), repaired); !put.ok()) {
    return FromRocks(put, "putting back position " + std::to_string(r.position));
  }
  std::fprintf(stderr, "tallyctl restore --heal: position %llu put back from the topic (its bytes had changed)\n",
               static_cast<unsigned long long>(r.position));
  ++repaired_;
  return OkStatus();
}

Status Restorer::Drain() {
  for (bool moved = true; moved;) {
    moved = false;
    for (auto& queue : queues_) {
      while (!queue.empty() && queue.front().position <= next_) {
        Received r = std::move(queue.front());
        queue.pop_front();
        if (r.position <= healed_from_) {  // a heal: the log held it before
          TALLY_RETURN_IF_ERROR(CompareOrRepair(r));
          continue;
        }
        if (r.position < next_) {
          // Twice in the topic: only the same bytes may repeat.
          TALLY_RETURN_IF_ERROR(Flush());
          auto stored = log_.Read(r.position, 1);
          if (!stored.ok()) return stored.error();
          if (stored->empty() || (*stored)[0].envelope != r.envelope) {
            return Error(ErrorCode::kCorruption,
                         "position " + std::to_string(r.position) + " is in the topic twice, with other bytes");
          }
          ++duplicates;
          continue;
        }
        TALLY_RETURN_IF_ERROR(Stage(std::move(r.envelope)));
        ++next_;
        moved = true;
      }
    }
  }
  return OkStatus();
}

int Restorer::Run() {
  kafka::Config config = {{"bootstrap.servers", options_.bootstrap},
                          {"group.id", "tallyctl-restore"},
                          {"enable.auto.commit", "false"},
                          {"enable.auto.offset.store", "false"},
                          {"enable.partition.eof", "true"},
                          // Committed records only: the relay produces in transactions.
                          {"isolation.level", "read_committed"}};
  config.insert(config.end(), options_.properties.begin(), options_.properties.end());
  auto conf = kafka::MakeConf(config);
  if (!conf.ok()) {
    std::fprintf(stderr, "tallyctl restore: %s\n", conf.error().ToString().c_str());
    return 2;
  }
  auto handle = kafka::NewHandle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!handle.ok()) {
    std::fprintf(stderr, "tallyctl restore: %s\n", handle.error().ToString().c_str());
    return 2;
  }
  rd_kafka_t* rk = handle->get();
  auto partitions = kafka::PartitionCount(rk, options_.topic, options_.timeout_ms);
  if (!partitions.ok()) {
    std::fprintf(stderr, "tallyctl restore: %s\n", partitions.error().ToString().c_str());
    return 2;
  }
  // The topic as it is now: every partition from offset 0 to its end (read
  // committed: offsets skip transaction markers and aborted records).
  std::vector<int64_t> end(*partitions, 0);
  uint64_t total = 0;
  for (int32_t p = 0; p < *partitions; ++p) {
    int64_t low = 0;
    if (auto err = rd_kafka_query_watermark_offsets(rk, options_.topic.c_str(), p, &low, &end[p], options_.timeout_ms);
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "tallyctl restore: partition %d: %s\n", p, rd_kafka_err2str(err));
      return 2;
    }
    if (low != 0) {
      std::fprintf(stderr,
                   "tallyctl restore: partition %d of %s no longer starts at offset 0 (its first offset is %lld): "
                   "the topic does not hold the whole log\n",
                   p, options_.topic.c_str(), static_cast<long long>(low));
      return 1;
    }
    total += static_cast<uint64_t>(end[p]);
  }
  std::fprintf(stderr, "tallyctl restore: reading %s to its end (%d partitions, %llu offsets)\n",
               options_.topic.c_str(), *partitions, static_cast<unsigned long long>(total));
  queues_.assign(*partitions, {});
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(*partitions);
  for (int32_t p = 0; p < *partitions; ++p) {
    if (end[p] > 0) rd_kafka_topic_partition_list_add(list, options_.topic.c_str(), p)->offset = 0;
  }
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  std::vector<bool> at_end(*partitions, false);
  size_t ended = 0;
  for (int32_t p = 0; p < *partitions; ++p) {
    if (end[p] == 0) {
      at_end[p] = true;  // empty: not read
      ++ended;
    }
  }
  std::vector<bool> paused(*partitions, false);
  auto pause = [&](int32_t p, bool on) {
    rd_kafka_topic_partition_list_t* one = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(one, options_.topic.c_str(), p);
    if (on) {
      rd_kafka_pause_partitions(rk, one);
    } else {
      rd_kafka_resume_partitions(rk, one);
    }
    rd_kafka_topic_partition_list_destroy(one);
    paused[p] = on;
  };
  auto fail = [&](int code, const std::string& what) {
    rd_kafka_consumer_close(rk);
    std::fprintf(stderr, "tallyctl restore: %s\n", what.c_str());
    return code;
  };
  auto last_progress = std::chrono::steady_clock::now();
  while (ended < at_end.size()) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, 200);
    const auto now = std::chrono::steady_clock::now();
    if (msg == nullptr) {
      if (now - last_progress > std::chrono::milliseconds(options_.timeout_ms)) {
        return fail(2, "no record for " + std::to_string(options_.timeout_ms / 1000) + " s with " +
                           std::to_string(at_end.size() - ended) + " partition(s) not read to their end");
      }
      continue;
    }
    last_progress = now;
    const int32_t p = msg->partition;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // The end of what is committed so far; the partition's end once it
      // reaches the end read above (before, a transaction's marker is still
      // to be written, and records of it to become readable).
      const int64_t offset = msg->offset;
      rd_kafka_message_destroy(msg);
      if (p >= 0 && p < *partitions && !at_end[p] && offset >= end[p]) {
        at_end[p] = true;
        ++ended;
      }
      continue;
    }
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "tallyctl restore: %s (retrying)\n", rd_kafka_message_errstr(msg));
      rd_kafka_message_destroy(msg);
      continue;
    }
    if (at_end[p]) {  // written after its end was reached: read on
      at_end[p] = false;
      --ended;
    }
    const int64_t offset = msg->offset;
    std::string envelope(static_cast<const char*>(msg->payload), msg->len);
    // A copy: the header's view dies with the message.
    const auto header_view = kafka::HeaderValue(msg, kafka::kHeaderPosition);
    const std::optional<std::string> header =
        header_view ? std::optional<std::string>(std::string(*header_view)) : std::nullopt;
    rd_kafka_message_destroy(msg);
    auto env = events::VerifyEnvelope(envelope);
    if (!env.ok()) {
      return fail(1, "partition " + std::to_string(p) + " offset " + std::to_string(offset) +
                         ": the record is not a valid event: " + env.error().message());
    }
    const uint64_t position = (*env)->position();
    if (!header || *header != std::to_string(position)) {
      return fail(1, "partition " + std::to_string(p) + " offset " + std::to_string(offset) +
                         ": the position header does not match the event's position " + std::to_string(position));
    }
    if (!queues_[p].empty() && position <= queues_[p].back().position) {
      return fail(1, "partition " + std::to_string(p) + ": position " + std::to_string(position) +
                         " after " + std::to_string(queues_[p].back().position));
    }
    queues_[p].push_back({position, std::move(envelope)});
    if (Status s = Drain(); !s.ok()) {
      const ErrorCode code = s.error().code();
      return fail(code == ErrorCode::kCorruption || code == ErrorCode::kLogDamaged ? 1 : 2, s.error().ToString());
    }
    // A gap: every partition is read to its end or waits with a later
    // position at its head, so no partition can still bring next_.
    bool gap = true, waiting = false;
    for (int32_t q = 0; q < *partitions; ++q) {
      if (queues_[q].empty()) {
        gap = gap && at_end[q];
      } else {
        waiting = true;
        gap = gap && queues_[q].front().position > next_;
      }
    }
    if (gap && waiting) return fail(1, "position " + std::to_string(next_) + " is in no partition: the topic has a gap");
    for (int32_t q = 0; q < *partitions; ++q) {
      if (!paused[q] && queues_[q].size() > kPauseAbove) pause(q, true);
      if (paused[q] && queues_[q].size() < kResumeBelow) pause(q, false);
    }
  }
  rd_kafka_consumer_close(rk);
  if (Status s = Flush(); !s.ok()) {
    std::fprintf(stderr, "tallyctl restore: %s\n", s.error().ToString().c_str());
    return s.error().code() == ErrorCode::kCorruption ? 1 : 2;
  }
  for (const auto& queue : queues_) {
    if (!queue.empty()) {
      std::fprintf(stderr, "tallyctl restore: position %llu is in no partition: the topic has a gap\n",
                   static_cast<unsigned long long>(next_));
      return 1;
    }
  }
  return 0;
}

}  // namespace

int RestoreFromKafka(const RestoreFromKafkaOptions& options) {
  namespace fs = std::filesystem;
  if (options.keys_file.empty() == !options.without_keys) {
    std::fprintf(stderr, "tallyctl restore: give a key backup (--keys FILE, from tallyctl keys export) or say "
                         "--without-keys (every customer's personal fields then stay unreadable)\n");
    return 2;
  }
  std::error_code ec;
  if (fs::exists(options.data + "/log", ec)) {
    std::fprintf(stderr, "tallyctl restore: %s/log exists: restore into a new data folder\n", options.data.c_str());
    return 2;
  }
  std::optional<std::map<std::string, std::optional<personal::Key>>> keys;
  if (!LoadKeyBackup(options.keys_file, keys)) return 2;
  fs::create_directories(options.data, ec);
  if (!options.partners_file.empty()) {
    fs::copy_file(options.partners_file, options.data + "/partners.json", ec);
    if (ec) {
      std::fprintf(stderr, "tallyctl restore: copying %s: %s\n", options.partners_file.c_str(), ec.message().c_str());
      return 2;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  uint64_t head = 0, without_key = 0, duplicates = 0;
  {
    auto log = RocksDbEventLog::Open(options.data + "/log");
    if (!log.ok()) {
      std::fprintf(stderr, "tallyctl restore: %s\n", log.error().ToString().c_str());
      return 2;
    }
    Restorer restorer(options, **log, keys ? &*keys : nullptr);
    if (const int rc = restorer.Run(); rc != 0) {
      std::fprintf(stderr, "tallyctl restore: stopped at position %llu; %s is not a usable data folder: remove it\n",
                   static_cast<unsigned long long>((*log)->Head()), options.data.c_str());
      return rc;
    }
    head = (*log)->Head();
    without_key = restorer.customers_without_key;
    duplicates = restorer.duplicates;
    auto report = VerifyChain(**log);
    if (!report.ok() || !report->ok()) {
      std::fprintf(stderr, "tallyctl restore: the restored log does not verify: %s\n",
                   report.ok() ? report->reason.c_str() : report.error().ToString().c_str());
      return 1;
    }
    if (auto s = (*log)->Flush(); !s.ok()) {
      std::fprintf(stderr, "tallyctl restore: %s\n", s.error().ToString().c_str());
      return 2;
    }
  }
  std::printf("OK: restored %llu events from %s into %s/log in %.1fs; chain verified",
              static_cast<unsigned long long>(head), options.topic.c_str(), options.data.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (duplicates > 0) std::printf("; %llu repeated records skipped", static_cast<unsigned long long>(duplicates));
  std::printf("\n");
  if (without_key > 0) {
    std::printf("note: %llu customers have no key in %s: their personal fields stay unreadable (shown as erased)\n",
                static_cast<unsigned long long>(without_key),
                options.without_keys ? "a restore --without-keys" : options.keys_file.c_str());
  }
  return 0;
}

int HealFromKafka(const RestoreFromKafkaOptions& options) {
  namespace fs = std::filesystem;
  const std::string log_dir = options.data + "/log";
  std::error_code ec;
  if (!fs::exists(log_dir, ec)) {
    std::fprintf(stderr, "tallyctl restore --heal: %s does not exist: restore into a new folder without --heal\n",
                 log_dir.c_str());
    return 2;
  }
  std::optional<std::map<std::string, std::optional<personal::Key>>> keys;
  if (!LoadKeyBackup(options.keys_file, keys)) return 2;
  auto mark = ReadHeadMark(log_dir);
  const uint64_t marked = mark.ok() && mark->has_value() ? (*mark)->position : 0;
  const auto start = std::chrono::steady_clock::now();
  // Opened first (a running tallyd holds the folder: refused before
  // anything is copied), then copied before anything changes.
  auto log = RocksDbEventLog::Open(log_dir);
  const bool salvage = !log.ok() && log.error().code() == ErrorCode::kCorruption;
  if (!log.ok() && !salvage) {
    std::fprintf(stderr, "tallyctl restore --heal: %s (is tallyd running on it? stop it first)\n",
                 log.error().ToString().c_str());
    return 2;
  }
  auto kept = tools::KeepDamagedCopy(log_dir);
  if (!kept.ok()) {
    std::fprintf(stderr, "tallyctl restore --heal: %s\n", kept.error().ToString().c_str());
    return 2;
  }
  std::fprintf(stderr, "tallyctl restore --heal: the damaged log is kept as it was in %s\n", kept->c_str());
  if (salvage) {
    std::fprintf(stderr, "tallyctl restore --heal: %s; recovering the write-ahead log to its last good record\n",
                 log.error().message().c_str());
    RocksDbEventLogOptions salvage_options;
    salvage_options.salvage_wal = true;
    log = RocksDbEventLog::Open(log_dir, salvage_options);
  }
  if (!log.ok()) {
    std::fprintf(stderr, "tallyctl restore --heal: %s\n", log.error().ToString().c_str());
    return 2;
  }
  const uint64_t before = (*log)->Head();
  std::fprintf(stderr, "tallyctl restore --heal: the log holds positions 1..%llu%s\n",
               static_cast<unsigned long long>(before),
               marked > before ? (", its head mark " + std::to_string(marked)).c_str() : "");
  Restorer restorer(options, **log, keys ? &*keys : nullptr);
  const int rc = restorer.Run();
  const uint64_t head = (*log)->Head();
  if (rc != 0) {
    std::fprintf(stderr, "tallyctl restore --heal: stopped at position %llu (healed %llu positions); the log is "
                         "consistent up to there\n",
                 static_cast<unsigned long long>(head), static_cast<unsigned long long>(head - before));
    return rc;
  }
  auto report = VerifyChain(**log);
  if (!report.ok() || !report->ok()) {
    std::fprintf(stderr, "tallyctl restore --heal: the healed log does not verify: %s\n",
                 report.ok() ? ("position " + std::to_string(report->first_bad) + ": " + report->reason).c_str()
                             : report.error().ToString().c_str());
    return 1;
  }
  if (auto s = (*log)->Flush(); !s.ok()) {
    std::fprintf(stderr, "tallyctl restore --heal: %s\n", s.error().ToString().c_str());
    return 2;
  }
  // The read models are witnesses too: a heal that leaves them ahead of
  // the log is not done.
  uint64_t models = 0;
  std::string model_name;
  if (auto read = projections::ReadCheckpointPositions(options.data + "/projections", projections::ModelNames());
      read.ok()) {
    for (const auto& [model, position] : *read) {
      if (position > models) {
        models = position;
        model_name = model;
      }
    }
  }
  const uint64_t witnessed = std::max(marked, models);
  std::printf("%s: the log held positions 1..%llu (%llu compared with the topic: the same bytes; %llu changed, put "
              "back); %llu positions healed from %s; head %llu; chain verified in %.1fs\n",
              witnessed > head ? "INCOMPLETE" : "OK", static_cast<unsigned long long>(before),
              static_cast<unsigned long long>(restorer.matched), static_cast<unsigned long long>(restorer.repaired()),
              static_cast<unsigned long long>(head - before), options.topic.c_str(),
              static_cast<unsigned long long>(head),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (restorer.customers_without_key > 0) {
    std::printf("note: %llu customers created in the healed positions have no key (give --keys from a key "
                "backup): their personal fields stay unreadable\n",
                static_cast<unsigned long long>(restorer.customers_without_key));
  }
  if (witnessed > head) {
    std::printf("positions %llu-%llu were durable (%s) but are in no copy: they are lost (tallyctl accept-loss)\n",
                static_cast<unsigned long long>(head + 1), static_cast<unsigned long long>(witnessed),
                marked >= models ? "the head mark" : ("the read model " + model_name).c_str());
    return 1;
  }
  // The whole chain verifies: what readers had recorded is resolved.
  if (auto aside = tools::SetRecordedDamageAside(log_dir); !aside.ok()) {
    std::fprintf(stderr, "tallyctl %s: %s\n", "restore --heal", aside.error().ToString().c_str());
    return 2;
  } else if (!aside->empty()) {
    std::fprintf(stderr, "tallyctl %s: the damage recorded beside the log is resolved (kept in %s)\n", "restore --heal", aside->c_str());
  }
  return 0;
}

int KeysExport(const std::string& data, const std::string& out) {
  auto log = RocksDbEventLog::OpenReadOnly(data + "/log");
  if (!log.ok()) {
    std::fprintf(stderr, "tallyctl keys export: %s\n", log.error().ToString().c_str());
    return 2;
  }
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    std::fprintf(stderr, "tallyctl keys export: cannot create %s (it must not exist): %s\n", out.c_str(),
                 std::strerror(errno));
    return 2;
  }
  std::string text;
  uint64_t present = 0, erased = 0;
  Status s = (*log)->ForEachKey([&](std::string_view customer, const personal::KeyRecord& record) {
    nlohmann::json line = {{"customer", customer}};
    if (record.state == personal::KeyState::kPresent) {
      line["key"] = Hex(record.key);
      ++present;
    } else {
      line["erasedAt"] = record.erased_at_position;
      ++erased;
    }
    text += line.dump() + "\n";
    return true;
  });
  bool written = s.ok();
  for (size_t at = 0; written && at < text.size();) {
    const ssize_t n = ::write(fd, text.data() + at, text.size() - at);
    written = n > 0;
    at += written ? static_cast<size_t>(n) : 0;
  }
  written = written && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    std::fprintf(stderr, "tallyctl keys export: %s\n",
                 s.ok() ? ("writing " + out + " failed").c_str() : s.error().ToString().c_str());
    ::unlink(out.c_str());
    return 2;
  }
  std::printf("OK: %llu keys and %llu erasures of the log at position %llu written to %s\n",
              static_cast<unsigned long long>(present), static_cast<unsigned long long>(erased),
              static_cast<unsigned long long>((*log)->Head()), out.c_str());
  return 0;
}

}  // namespace tally
