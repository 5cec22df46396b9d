#include "projections/kafka_feed.h"

#include <rocksdb/write_batch.h>

#include <charconv>
#include <set>

#include "events/codec.h"

namespace tally::projections {

std::string KafkaOffsetKey(std::string_view topic, int32_t partition) {
  std::string key = "\xff\xff" "kafka/";
  key.append(topic);
  key.push_back('/');
  key.append(std::to_string(partition));
  return key;
}

KafkaFeed::KafkaFeed(ProjectionStore& store, std::vector<std::unique_ptr<Projection>> projections,
                     KafkaFeedOptions options)
    : store_(store), projections_(std::move(projections)), options_(std::move(options)) {}

KafkaFeed::~KafkaFeed() = default;

Result<std::optional<int64_t>> KafkaFeed::StoredOffset(int32_t partition) const {
  // Every copy holds the same offsets (written together); the first one says.
  auto stored = store_.Get(*projections_.front()->copy(), KafkaOffsetKey(options_.topic, partition));
  if (!stored.ok()) return stored.error();
  if (!stored->has_value()) return std::optional<int64_t>();
  int64_t offset = 0;
  const std::string& text = **stored;
  if (std::from_chars(text.data(), text.data() + text.size(), offset).ec != std::errc()) {
    return Error(ErrorCode::kCorruption, "malformed stored offset for partition " + std::to_string(partition));
  }
  return std::optional<int64_t>(offset);
}

void KafkaFeed::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                            void* opaque) {
  static_cast<KafkaFeed*>(opaque)->Rebalance(rk, err, partitions);
}

void KafkaFeed::Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions) {
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    std::string which;
    for (int i = 0; i < partitions->cnt; ++i) {
      auto& p = partitions->elems[i];
      auto stored = StoredOffset(p.partition);
      if (!stored.ok()) {
        if (failure_.ok()) failure_ = stored.error();
        continue;
      }
      p.offset = stored->has_value() ? **stored : RD_KAFKA_OFFSET_BEGINNING;
      // A partition that no longer holds the offset this store goes on at
      // (or offset 0) has lost records: a model built from it would lack
      // events. (Offsets themselves have gaps: transaction markers.)
      const int64_t next = stored->has_value() ? **stored : 0;
      int64_t low = 0, high = 0;
      if (auto err = rd_kafka_query_watermark_offsets(rk, options_.topic.c_str(), p.partition, &low, &high, 10000);
          err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (failure_.ok()) {
          failure_ = kafka::FromKafka(err, "reading where partition " + std::to_string(p.partition) + " starts");
        }
      } else if (low > next && failure_.ok()) {
        failure_ = Lost(p.partition, next, "it now starts at offset " + std::to_string(low));
      }
      which += " " + std::to_string(p.partition) + "@" + (stored->has_value() ? std::to_string(**stored) : "start");
    }
    Log("assigned partitions (partition@offset):" + which);
    if (Status s = DropUnassigned(partitions); !s.ok() && failure_.ok()) failure_ = s;
    rd_kafka_assign(rk, partitions);
    return;
  }
  // Revoked (or an error): write what was applied, then let go.
  if (Status s = Flush(); !s.ok() && failure_.ok()) failure_ = s;
  Log("partitions revoked");
  rd_kafka_assign(rk, nullptr);
}

Status KafkaFeed::DropUnassigned(const rd_kafka_topic_partition_list_t* assigned) {
  std::set<int32_t> mine, lost;
  for (int i = 0; i < assigned->cnt; ++i) mine.insert(assigned->elems[i].partition);
  for (int32_t p = 0; p < partition_count_; ++p) {
    if (mine.count(p) > 0) continue;
    auto stored = StoredOffset(p);
    if (!stored.ok()) return stored.error();
    if (stored->has_value()) lost.insert(p);
  }
  if (lost.empty()) return OkStatus();
  // Another process of the group has these partitions now: their customers'
  // rows here would go stale. Drop them with the offsets, in one write; if
  // a partition comes back, it is read again from its start.
  rocksdb::WriteBatch batch;
  size_t rows = 0;
  auto drop = [&](std::string_view customer) { return lost.count(kafka::PartitionFor(customer, partition_count_)) > 0; };
  for (auto& projection : projections_) {
    auto dropped = projection->DropCustomers(drop, batch);
    if (!dropped.ok()) return dropped.error();
    rows += *dropped;
    for (int32_t p : lost) {
      const rocksdb::Status s = batch.Delete(projection->copy()->cf(), KafkaOffsetKey(options_.topic, p));
      if (!s.ok()) return FromRocks(s, "staging a partition's offset");
    }
  }
  TALLY_RETURN_IF_ERROR(store_.Write(batch, /*wal=*/true));
  std::string which;
  for (int32_t p : lost) which += " " + std::to_string(p);
  Log("dropped " + std::to_string(rows) + " rows of partitions now read elsewhere:" + which);
  return OkStatus();
}

Error KafkaFeed::Lost(int32_t partition, int64_t next, const std::string& instead) {
  return Error(ErrorCode::kKafka, "partition " + std::to_string(partition) + " should go on at offset " +
                                      std::to_string(next) + " but " + instead +
                                      ": the topic no longer holds the records between (retention, or the embedded "
                                      "Kafka's bound), and a read model built without them would be partial; "
                                      "stopping (rebuild from the log instead)");
}

Status KafkaFeed::Apply(const rd_kafka_message_t* msg) {
  const std::string where = "partition " + std::to_string(msg->partition) + " offset " + std::to_string(msg->offset);
  value_.assign(static_cast<const char*>(msg->payload), msg->len);  // heap: aligned for FlatBuffers
  auto verified = events::VerifyEnvelope(value_);
  if (!verified.ok()) return Error(ErrorCode::kCorruption, where + ": " + verified.error().message());
  const events::Envelope& e = **verified;
  const bool known = e.payload_type() <= events::Payload::MAX;
  for (size_t i = 0; i < projections_.size(); ++i) {
    if (known) {
      Status applied = projections_[i]->Apply(e.position(), e);
      if (!applied.ok()) {
        return Error(applied.error().code(), projections_[i]->name() + " cannot apply " + where + " (position " +
                                                 std::to_string(e.position()) + "): " + applied.error().message());
      }
    } else {
      ++checkpoints_[i].skipped_unknown;
    }
    checkpoints_[i].position = std::max(checkpoints_[i].position, e.position());
    ++checkpoints_[i].events;
  }
  pending_offsets_[msg->partition] = msg->offset + 1;
  ++pending_events_;
  ++applied_;
  return OkStatus();
}

Status KafkaFeed::Flush() {
  if (pending_offsets_.empty()) return OkStatus();
  rocksdb::WriteBatch batch;
  for (size_t i = 0; i < projections_.size(); ++i) {
    auto& projection = *projections_[i];
    TALLY_RETURN_IF_ERROR(projection.Flush(batch));
    rocksdb::Status s = batch.Put(projection.copy()->cf(), kCheckpointKey, checkpoints_[i].Encode());
    for (const auto& [partition, offset] : pending_offsets_) {
      if (s.ok()) s = batch.Put(projection.copy()->cf(), KafkaOffsetKey(options_.topic, partition), std::to_string(offset));
    }
    if (!s.ok()) return FromRocks(s, "staging the checkpoint and offsets");
  }
  if (Status s = store_.Write(batch, /*wal=*/true); !s.ok()) return s;
  // The group's offsets follow, for lag monitoring only.
  if (consumer_) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(pending_offsets_.size()));
    for (const auto& [partition, offset] : pending_offsets_) {
      rd_kafka_topic_partition_list_add(list, options_.topic.c_str(), partition)->offset = offset;
    }
    rd_kafka_commit(consumer_.get(), list, /*async=*/1);
    rd_kafka_topic_partition_list_destroy(list);
  }
  pending_offsets_.clear();
  pending_events_ = 0;
  if (options_.on_write) options_.on_write(applied_);
  return OkStatus();
}

Status KafkaFeed::Run(const std::atomic<bool>& stop) {
  if (projections_.empty()) return Error(ErrorCode::kInvalidArgument, "no read model to feed");
  checkpoints_.clear();
  for (const auto& p : projections_) {
    auto checkpoint = store_.ReadCheckpoint(*p->copy());
    if (!checkpoint.ok()) return checkpoint.error();
    checkpoints_.push_back(*checkpoint);
  }
  kafka::Config config = options_.config;
  config.emplace_back("enable.auto.commit", "false");
  config.emplace_back("enable.partition.eof", options_.exit_at_end ? "true" : "false");
  // Committed records only (the relay's transactions), and an error, not a
  // silent jump, when the offset to go on at is no longer in the topic.
  config.emplace_back("isolation.level", "read_committed");
  config.emplace_back("auto.offset.reset", "error");
  auto conf = kafka::MakeConf(config);
  if (!conf.ok()) return conf.error();
  rd_kafka_conf_set_rebalance_cb(conf->get(), &KafkaFeed::OnRebalance);
  rd_kafka_conf_set_opaque(conf->get(), this);
  auto consumer = kafka::NewHandle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!consumer.ok()) return consumer.error();
  consumer_ = std::move(*consumer);
  rd_kafka_t* rk = consumer_.get();
  auto count = kafka::PartitionCount(rk, options_.topic, 10000);
  if (!count.ok()) return count.error();
  partition_count_ = *count;
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, options_.topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka::FromKafka(err, "subscribing to " + options_.topic);

  Status result = OkStatus();
  std::set<int32_t> at_end;
  auto last_flush = std::chrono::steady_clock::now();
  while (!stop && result.ok()) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, 100);
    if (!failure_.ok()) result = failure_;
    if (msg != nullptr) {
      if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (kafka::AtPartitionEnd(rk, msg)) at_end.insert(msg->partition);
      } else if (msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
        result = Lost(msg->partition, msg->offset, std::string("the topic answers ") + rd_kafka_message_errstr(msg));
      } else if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        Log(std::string("kafka: ") + rd_kafka_message_errstr(msg));  // librdkafka retries
      } else if (result.ok()) {
        at_end.erase(msg->partition);
        if (Status s = Apply(msg); !s.ok()) result = s;
      }
      rd_kafka_message_destroy(msg);
    }
    if (!result.ok()) break;
    const auto now = std::chrono::steady_clock::now();
    if (pending_events_ >= options_.batch_events || (pending_events_ > 0 && now - last_flush >= options_.flush_every)) {
      result = Flush();
      last_flush = now;
    }
    if (options_.exit_at_end && !at_end.empty()) {
      rd_kafka_topic_partition_list_t* assigned = nullptr;
      if (rd_kafka_assignment(rk, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        bool all = assigned->cnt > 0;
        for (int i = 0; i < assigned->cnt; ++i) all = all && at_end.count(assigned->elems[i].partition) > 0;
        rd_kafka_topic_partition_list_destroy(assigned);
        if (all) break;
      }
    }
  }
  if (result.ok()) {
    result = Flush();
  } else {
    // Nothing since the last write counts: the next run redoes it (and
    // stops at the same event, if that was the error).
    for (auto& p : projections_) p->Discard();
    pending_offsets_.clear();
  }
  rd_kafka_consumer_close(rk);  // revokes (the callback's flush finds nothing pending)
  consumer_.reset();
  return result;
}

}  // namespace tally::projections
