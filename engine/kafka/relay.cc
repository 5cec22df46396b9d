#include "engine/kafka/relay.h"

#include <pthread.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "events/codec.h"

namespace tally::kafka {
namespace {

std::string_view KeyOf(const events::Envelope& env) {
  auto customer = events::View(env.customer_id());
  return customer.empty() ? events::View(env.stream_id()) : customer;
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Relay::Relay(const EventLog& log, RelayOptions options) : log_(log), options_(std::move(options)) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "tally-relay");
    Run();
  });
}

Relay::~Relay() { Stop(); }

void Relay::Stop(std::chrono::milliseconds flush) {
  flush_ms_ = static_cast<int>(flush.count());
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

RelayStatus Relay::Status() const {
  RelayStatus s;
  s.head = std::max<uint64_t>(head_, log_.Head());  // the relay thread may be waiting on Kafka
  s.published = published_;
  s.sent = sent_;
  s.transactions = transactions_;
  s.reconnects = reconnects_;
  s.partitions = partitions_;
  s.connected = connected_ && !brokers_down_;
  int64_t oldest = oldest_unpublished_us_;
  // Events the relay thread has not looked at yet (it may be waiting on
  // Kafka, or on the retention check while every broker is down).
  if (s.lag() > 0 && oldest == 0) oldest = RecordedAt(s.published + 1);
  if (s.lag() > 0 && oldest > 0) s.lag_seconds = std::max<int64_t>(0, NowUs() - oldest) / 1e6;
  MutexLock lock(&error_mu_);
  s.last_error = last_error_;
  if (s.last_error.empty() && connected_ && brokers_down_) {
    s.last_error = "every broker is down; events wait in the log";
  }
  s.truncated = truncated_;
  return s;
}

void Relay::CheckRetention() {
  std::string truncated;
  for (int32_t p = 0; p < partitions_; ++p) {
    int64_t low = 0, high = 0;
    if (rd_kafka_query_watermark_offsets(producer_.get(), options_.topic.c_str(), p, &low, &high, 1000) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      return;  // asked again at the next check
    }
    if (low > 0) truncated += (truncated.empty() ? "" : ",") + std::to_string(p) + "@" + std::to_string(low);
  }
  brokers_down_ = false;  // every partition's leader answered
  MutexLock lock(&error_mu_);
  if (truncated != truncated_ && !truncated.empty()) {
    std::fprintf(stderr,
                 "tally kafka: the topic %s no longer holds its start (partition@first offset: %s): a consumer "
                 "reading it from the start would miss events\n",
                 options_.topic.c_str(), truncated.c_str());
  }
  truncated_ = std::move(truncated);
}

void Relay::SetError(const Error& e) {
  MutexLock lock(&error_mu_);
  last_error_ = e.ToString();
}

void Relay::Run() {
  auto pause = [this](std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (!stop_ && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  // Kafka failed us: a new producer, whose Connect aborts the open
  // transaction (its records are sent again).
  auto reconnect = [&](const Error& e) {
    SetError(e);
    Disconnect();
    ++reconnects_;
    pause(options_.retry);
  };
  while (!stop_) {
    head_ = log_.Head();
    if (!producer_) {
      if (auto s = Connect(); !s.ok()) {
        SetError(s.error());
        Disconnect();
        Publish();
        pause(options_.retry);
        continue;
      }
    }
    rd_kafka_poll(producer_.get(), 0);  // delivery reports
    if (delivery_failed_) {
      reconnect(Error(ErrorCode::kKafka, delivery_error_ + "; reconnecting"));
      continue;
    }
    Publish();
    if (committing_) {  // a commit that has not finished yet: nothing is produced meanwhile
      if (auto s = Commit(kCommitSliceMs); !s.ok()) {
        reconnect(Error(s.error().code(), s.error().message() + "; reconnecting"));
      }
      continue;
    }
    if (next_ <= head_) {
      tally::Status s = Produce();
      if (!s.ok() && (s.error().code() == ErrorCode::kCorruption || s.error().code() == ErrorCode::kLogDamaged)) {
        // The log, not Kafka: what was produced before the bad record is
        // committed; look at the record again later.
        SetError(s.error());
        DropChunks();
        if (Commit(kCommitSliceMs).ok()) Publish();
        pause(options_.retry);
        continue;
      }
      if (s.ok() && CommitDue(/*caught_up=*/false)) s = Commit(kCommitSliceMs);
      if (!s.ok()) reconnect(Error(s.error().code(), s.error().message() + "; reconnecting"));
      continue;
    }
    if (CommitDue(/*caught_up=*/true)) {
      if (auto s = Commit(kCommitSliceMs); !s.ok()) {
        reconnect(Error(s.error().code(), s.error().message() + "; reconnecting"));
      }
      continue;
    }
    if (options_.refresh) options_.refresh();
    // Only while idle: never ahead of producing what is due.
    if (std::chrono::steady_clock::now() >= next_retention_check_) {
      CheckRetention();
      next_retention_check_ = std::chrono::steady_clock::now() + options_.retention_check;
    }
    if (log_.Head() < next_) rd_kafka_poll(producer_.get(), static_cast<int>(options_.poll.count()));
  }
  if (producer_) {
    rd_kafka_poll(producer_.get(), 0);
    // Commits what was produced, waiting up to flush_ms_; what is still
    // uncommitted then is aborted by Disconnect and sent after a restart.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(flush_ms_);
    while (!delivery_failed_ && Commit(kCommitSliceMs).ok() && committing_ && std::chrono::steady_clock::now() < until) {
      continue;
    }
    if (!committing_) Publish();
    Disconnect();
  }
}

bool Relay::CommitDue(bool caught_up) const {
  if (!in_transaction_) return committed_ + 1 < next_;  // records that were already in Kafka
  return caught_up || transaction_records_ >= kMaxTransactionRecords ||
         std::chrono::steady_clock::now() - transaction_began_ >= options_.commit_interval;
}

tally::Status Relay::Commit(int timeout_ms) {
  if (in_transaction_) {
    // Flushes the transaction's records, then commits it. A commit that
    // times out is resumed by the next call (librdkafka's resumable API).
    committing_ = true;
    if (rd_kafka_error_t* error = rd_kafka_commit_transaction(producer_.get(), timeout_ms); error != nullptr) {
      const bool retriable = rd_kafka_error_is_retriable(error);
      Error e(ErrorCode::kKafka, std::string("committing a transaction: ") + rd_kafka_error_string(error));
      rd_kafka_error_destroy(error);
      if (retriable) return OkStatus();  // still committing_
      return e;
    }
    committing_ = false;
    in_transaction_ = false;
    ++transactions_;
  }
  rd_kafka_poll(producer_.get(), 0);  // delivery reports of the last records
  committed_ = next_ - 1;
  return OkStatus();
}

Config RelayProducerDefaults() {
  return {{"linger.ms", "5"},
          {"batch.num.messages", "10000"},
          // Ordered and bounded: at most 5 requests in flight per broker, the
          // most idempotence keeps in order after a retry.
          {"max.in.flight.requests.per.connection", "5"},
          {"compression.type", "zstd"}};
}

Config RelayProducerGuarantees() {
  // Exactly once per partition and never a silent drop: these are not the
  // user's to change. acks=all waits for min.insync.replicas copies; a
  // record not delivered within the transaction's timeout fails its
  // transaction, which is then aborted and sent again.
  return {{"enable.idempotence", "true"}, {"acks", "all"}};
}

tally::Status Relay::Connect() {
  Config config = RelayProducerDefaults();
  config.emplace_back("transactional.id", "tally-relay." + options_.topic);
  // Short, so that a killed tallyd's open transaction stops holding back
  // read_committed consumers soon (a restarted relay aborts it at once).
  config.emplace_back("transaction.timeout.ms", "10000");
  config.insert(config.end(), options_.config.begin(), options_.config.end());
  const Config guarantees = RelayProducerGuarantees();
  config.insert(config.end(), guarantees.begin(), guarantees.end());
  auto conf = MakeConf(config);
  if (!conf.ok()) return conf.error();
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &Relay::OnDelivery);
  rd_kafka_conf_set_opaque(conf->get(), this);
  auto producer = NewHandle(RD_KAFKA_PRODUCER, std::move(*conf), &Relay::OnError);
  if (!producer.ok()) return producer.error();
  producer_ = std::move(*producer);
  topic_ = rd_kafka_topic_new(producer_.get(), options_.topic.c_str(), nullptr);
  if (topic_ == nullptr) return FromKafka(rd_kafka_last_error(), "topic " + options_.topic);
  // Fences every earlier producer of this transactional id (a killed
  // tallyd's) and aborts its open transaction, before the tails are read.
  if (rd_kafka_error_t* error = rd_kafka_init_transactions(producer_.get(), options_.request_timeout_ms);
      error != nullptr) {
    Error e(ErrorCode::kKafka, std::string("initialising the transactional producer: ") + rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    return e;
  }

  auto partitions = PartitionCount(producer_.get(), options_.topic, options_.request_timeout_ms);
  if (!partitions.ok()) return partitions.error();
  auto tails = ReadPartitionTails(options_.config, options_.topic, *partitions, options_.request_timeout_ms);
  if (!tails.ok()) return tails.error();
  const uint64_t head = log_.Head();
  std::vector<uint64_t> last(*partitions, 0);
  for (int32_t p = 0; p < *partitions; ++p) {
    const PartitionTail& tail = (*tails)[p];
    if (tail.position == 0) continue;
    const std::string where = options_.topic + " partition " + std::to_string(p) + " ends at position " +
                              std::to_string(tail.position);
    if (tail.position > head) {
      // Positions the topic holds and the log lacks: lost from the log (a
      // damaged write-ahead log), unless the log was restored from an older
      // backup or the topic is another log's. Either way a write now would
      // give a published position to another event: the log refuses writes.
      log_.damage().Report({head + 1, tail.position, "kafka topic " + options_.topic,
                            "missing: partition " + std::to_string(p) + " holds position " +
                                std::to_string(tail.position) + " but the log ends at " + std::to_string(head) +
                                " (or the topic belongs to another log)"});
      return Error(ErrorCode::kKafka, where + ", beyond this log's head " + std::to_string(head) +
                                          ": the topic belongs to another log (or the log was restored from "
                                          "an older backup); not publishing");
    }
    auto stored = log_.Read(tail.position, 1);
    if (!stored.ok()) return stored.error();
    if (stored->empty()) return Error(ErrorCode::kNotFound, where + ", which this log lacks");
    auto env = events::VerifyEnvelope((*stored)[0].envelope);
    if (!env.ok()) return env.error();
    if (events::View((*env)->event_id()) != tail.event_id) {
      log_.damage().Report({tail.position, tail.position, "kafka topic " + options_.topic,
                            "differs: the topic's event " + tail.event_id + " is not the log's " +
                                std::string(events::View((*env)->event_id())) +
                                " (or the topic belongs to another log)"});
      return Error(ErrorCode::kKafka, where + " with event " + tail.event_id + ", but this log has event " +
                                          std::string(events::View((*env)->event_id())) +
                                          " there: the topic belongs to another log; not publishing");
    }
    if (PartitionFor(KeyOf(**env), *partitions) != p) {
      return Error(ErrorCode::kKafka, where + ", which belongs in another partition: was the topic's "
                                              "partition count changed? not publishing");
    }
    last[p] = tail.position;
  }
  partition_last_ = std::move(last);
  const uint64_t published = *std::min_element(partition_last_.begin(), partition_last_.end());
  in_flight_.clear();
  next_ = published + 1;
  committed_ = published;
  published_ = published;
  partitions_ = *partitions;
  delivery_failed_ = false;
  connected_ = true;
  brokers_down_ = false;
  MutexLock lock(&error_mu_);
  last_error_.clear();
  return OkStatus();
}

void Relay::Disconnect() {
  connected_ = false;
  if (producer_ && in_transaction_) {
    // Best effort: the next Connect aborts it in any case (its records are
    // sent again), but an abort now lets read_committed consumers go on
    // without waiting for the transaction's timeout. It purges what is
    // still queued.
    if (rd_kafka_error_t* error = rd_kafka_abort_transaction(producer_.get(), 1000); error != nullptr) {
      rd_kafka_error_destroy(error);
    }
  }
  in_transaction_ = false;
  committing_ = false;
  if (producer_) {
    // Purged records come back as failed deliveries; they are not errors here.
    rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(producer_.get(), 0);
  }
  if (topic_ != nullptr) rd_kafka_topic_destroy(topic_);
  topic_ = nullptr;
  producer_.reset();
  DropChunks();
  in_flight_.clear();
  next_ = published_ + 1;
  delivery_failed_ = false;
}

void Relay::ReadChunk(const EventLog& log, uint64_t from, uint64_t to, int32_t partitions,
                      const std::atomic<bool>& stop, Chunk& c) {
  // Bounds: enough records that reading overlaps producing well, few enough
  // bytes that a chunk stays in the CPU's cache while it is produced.
  constexpr uint64_t kMaxRecords = 2048;
  constexpr size_t kMaxBytes = 1 << 20;
  c.from = from;
  c.next = from;
  c.partitions = partitions;
  c.records.clear();
  c.bytes.clear();
  c.done = 0;
  c.failure = OkStatus();
  if (to >= from + kMaxRecords) to = from + kMaxRecords - 1;
  auto append = [&c](std::string_view bytes, size_t align) {
    c.bytes.append((align - c.bytes.size() % align) % align, '\0');
    const size_t at = c.bytes.size();
    c.bytes.append(bytes);
    return at;
  };
  tally::Status scanned = log.Scan(from, to, [&](const EventView& v) {
    if (stop) return false;
    if (v.position != c.next) {
      c.failure = Error(ErrorCode::kCorruption, "missing event: position " + std::to_string(c.next) +
                                                    " is followed by " + std::to_string(v.position) +
                                                    "; not publishing");
      return false;
    }
    auto env = events::VerifyEnvelope(v.envelope);
    if (!env.ok()) {
      c.failure = Error(ErrorCode::kCorruption,
                        "position " + std::to_string(v.position) + ": " + env.error().message() + "; not publishing");
      return false;
    }
    const events::Envelope& e = **env;
    const std::string_view key = KeyOf(e);
    Chunk::Record r;
    r.position = v.position;
    r.recorded_at_us = e.recorded_at_us();
    r.partition = PartitionFor(key, partitions);
    r.schema_version = e.schema_version();
    r.type = events::EventTypeName(e.payload_type());
    r.value_len = v.envelope.size();
    r.value = append(v.envelope, 8);
    r.key_len = key.size();
    r.key = append(key, 1);
    const std::string_view event_id = events::View(e.event_id());
    r.event_id_len = event_id.size();
    r.event_id = append(event_id, 1);
    c.records.push_back(r);
    ++c.next;
    if (c.bytes.size() < kMaxBytes) return true;
    to = c.next - 1;  // full: the rest is the next chunk's
    return false;
  });
  if (!scanned.ok() && c.failure.ok()) c.failure = scanned;
  if (c.failure.ok() && !stop && c.next <= to) {  // the log ends before the head it reported
    c.failure = Error(ErrorCode::kCorruption, "missing event at position " + std::to_string(c.next) + "; not publishing");
  }
}

void Relay::DropChunks() {
  if (read_ahead_.pending()) spare_ = read_ahead_.Take();
  chunk_.reset();
}

tally::Status Relay::Produce() {
  const uint64_t head = head_;
  const int32_t partitions = partitions_;
  if (!chunk_ || (chunk_->done == chunk_->records.size() && chunk_->failure.ok())) {
    if (chunk_) spare_ = std::move(*chunk_);
    chunk_.reset();
    if (read_ahead_.pending()) {
      Chunk next = read_ahead_.Take();
      if (next.from == next_ && next.partitions == partitions) {
        chunk_ = std::move(next);
      } else {
        spare_ = std::move(next);
      }
    }
    if (!chunk_) {
      chunk_ = std::move(spare_);
      ReadChunk(log_, next_, head, partitions, stop_, *chunk_);
    }
    // Read the chunk after this one meanwhile, when the log has more.
    if (chunk_->failure.ok() && chunk_->next <= head && !stop_) {
      (void)read_ahead_.Start(
          [this, from = chunk_->next, head, partitions](Chunk& c) { ReadChunk(log_, from, head, partitions, stop_, c); },
          spare_);  // false: no helper thread; the next chunk is read when it is due
    }
  }
  Chunk& c = *chunk_;
  char position_text[24], version_text[8];
  while (c.done < c.records.size() && !stop_) {
    const Chunk::Record& r = c.records[c.done];
    const std::string_view key(c.bytes.data() + r.key, r.key_len);
    if (r.position <= partition_last_[r.partition]) {  // already in Kafka
      in_flight_.push_back({r.position, r.recorded_at_us, true});
    } else {
      if (!in_transaction_) {
        if (rd_kafka_error_t* error = rd_kafka_begin_transaction(producer_.get()); error != nullptr) {
          Error e(ErrorCode::kKafka, std::string("beginning a transaction: ") + rd_kafka_error_string(error));
          rd_kafka_error_destroy(error);
          return e;
        }
        in_transaction_ = true;
        transaction_records_ = 0;
        transaction_began_ = std::chrono::steady_clock::now();
      }
      const std::string_view event_id(c.bytes.data() + r.event_id, r.event_id_len);
      const size_t position_len =
          std::to_chars(position_text, position_text + sizeof position_text, r.position).ptr - position_text;
      const size_t version_len =
          std::to_chars(version_text, version_text + sizeof version_text, r.schema_version).ptr - version_text;
      rd_kafka_resp_err_t err = rd_kafka_producev(
          producer_.get(), RD_KAFKA_V_RKT(topic_), RD_KAFKA_V_PARTITION(r.partition),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(c.bytes.data() + r.value), r.value_len),
          RD_KAFKA_V_HEADER(kHeaderEventType, r.type.data(), static_cast<ssize_t>(r.type.size())),
          RD_KAFKA_V_HEADER(kHeaderPosition, position_text, static_cast<ssize_t>(position_len)),
          RD_KAFKA_V_HEADER(kHeaderEventId, event_id.data(), static_cast<ssize_t>(event_id.size())),
          RD_KAFKA_V_HEADER(kHeaderSchemaVersion, version_text, static_cast<ssize_t>(version_len)),
          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(r.position))), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        // Wait for deliveries; the rest of the chunk waits in memory.
        rd_kafka_poll(producer_.get(), 10);
        return OkStatus();
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return FromKafka(err, "producing position " + std::to_string(r.position));
      in_flight_.push_back({r.position, r.recorded_at_us, false});
      ++transaction_records_;
    }
    next_ = r.position + 1;
    // Serve delivery reports as they come, so acknowledged records leave
    // librdkafka's queue while the chunk is produced.
    if (++c.done % 1024 == 0) rd_kafka_poll(producer_.get(), 0);
  }
  if (c.done == c.records.size() && !c.failure.ok()) return c.failure;
  return OkStatus();
}

void Relay::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  static_cast<Relay*>(opaque)->Acknowledge(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(msg->_private)),
                                           msg->err);
}

void Relay::OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  PrintError(rk, err, reason);
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) static_cast<Relay*>(opaque)->brokers_down_ = true;
}

void Relay::Acknowledge(uint64_t position, rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) brokers_down_ = false;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) return;
    if (!delivery_failed_) {
      delivery_failed_ = true;
      delivery_error_ = "delivering position " + std::to_string(position) + ": " + rd_kafka_err2str(err);
    }
    return;
  }
  if (in_flight_.empty() || position < in_flight_.front().position) return;
  const uint64_t index = position - in_flight_.front().position;
  if (index >= in_flight_.size()) return;
  in_flight_[index].acked = true;
  ++sent_;
}

void Relay::Publish() {
  uint64_t published = published_;
  // Published: acknowledged and committed (read_committed consumers see it).
  while (!in_flight_.empty() && in_flight_.front().acked && in_flight_.front().position <= committed_) {
    published = in_flight_.front().position;
    in_flight_.pop_front();
  }
  published_ = published;
  if (!in_flight_.empty()) {
    oldest_unpublished_us_ = in_flight_.front().recorded_at_us;
  } else if (published < head_) {
    if (const int64_t at = RecordedAt(published + 1); at != 0) oldest_unpublished_us_ = at;
  } else {
    oldest_unpublished_us_ = 0;
  }
}

int64_t Relay::RecordedAt(uint64_t position) const {
  auto stored = log_.Read(position, 1);
  if (!stored.ok() || stored->empty()) return 0;
  auto env = events::VerifyEnvelope((*stored)[0].envelope);
  return env.ok() ? (*env)->recorded_at_us() : 0;
}

}  // namespace tally::kafka
