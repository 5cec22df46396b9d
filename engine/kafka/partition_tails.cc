#include "engine/kafka/partition_tails.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <memory>

namespace tally::kafka {

Result<std::vector<PartitionTail>> ReadPartitionTails(const Config& config, const std::string& topic,
                                                      int32_t partitions, int timeout_ms) {
  Config c = config;
  // librdkafka wants a group.id even for assign(); nothing is committed.
  c.emplace_back("group.id", "tally-relay-resume");
  c.emplace_back("enable.auto.commit", "false");
  c.emplace_back("enable.partition.eof", "true");
  c.emplace_back("isolation.level", "read_committed");
  auto conf = MakeConf(c);
  if (!conf.ok()) return conf.error();
  auto consumer = NewHandle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!consumer.ok()) return consumer.error();
  rd_kafka_t* rk = consumer->get();

  // One deadline for the whole call, so that an unreachable cluster holds a
  // caller (and a relay's Stop) for timeout_ms, not once per partition.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto remaining_ms = [&] {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<int64_t>(1, left.count()));
  };
  std::vector<PartitionTail> tails(partitions);
  // Per partition: its first offset, its end (the high watermark) and where
  // the current look starts; a partition is done once it has a tail or was
  // read from its first offset.
  std::vector<int64_t> low(partitions, 0), high(partitions, 0), from(partitions, 0);
  std::vector<bool> pending(partitions, false);
  for (int32_t p = 0; p < partitions; ++p) {
    if (auto err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low[p], &high[p], remaining_ms());
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return FromKafka(err, "reading the offsets of " + topic + " partition " + std::to_string(p));
    }
    // The last record, its commit marker, and a little more.
    from[p] = std::max(low[p], high[p] - 16);
    pending[p] = high[p] > low[p];
  }
  tally::Status failure = OkStatus();
  while (failure.ok() && std::find(pending.begin(), pending.end(), true) != pending.end()) {
    std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)> list(
        rd_kafka_topic_partition_list_new(partitions), &rd_kafka_topic_partition_list_destroy);
    size_t looking = 0;
    for (int32_t p = 0; p < partitions; ++p) {
      if (!pending[p]) continue;
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = from[p];
      ++looking;
    }
    if (auto err = rd_kafka_assign(rk, list.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return FromKafka(err, "assigning the partitions of " + topic);
    }
    std::vector<bool> at_end(partitions, false);
    while (looking > 0 && failure.ok()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        rd_kafka_assign(rk, nullptr);
        rd_kafka_consumer_close(rk);
        return Error(ErrorCode::kKafka, "timed out reading the last committed record of " + std::to_string(looking) +
                                            " partition(s) of " + topic);
      }
      rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, 100);
      if (msg == nullptr) continue;
      const int32_t p = msg->partition;
      if (p >= 0 && p < partitions && pending[p] && !at_end[p]) {
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          // The end of what is committed so far. Only at the high watermark
          // is it the partition's end: below it a transaction's marker is
          // still to be written (a commit is answered before its markers).
          if (msg->offset >= high[p]) {
            at_end[p] = true;
            --looking;
          }
        } else if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          auto position = HeaderValue(msg, kHeaderPosition);
          auto event_id = HeaderValue(msg, kHeaderEventId);
          uint64_t value = 0;
          if (!position || !event_id ||
              std::from_chars(position->data(), position->data() + position->size(), value).ec != std::errc() ||
              value == 0) {
            failure = Error(ErrorCode::kCorruption, topic + " partition " + std::to_string(p) + " offset " +
                                                        std::to_string(msg->offset) +
                                                        ": the record lacks a valid position or event_id header");
          } else {
            tails[p] = PartitionTail{value, std::string(*event_id)};  // the latest so far
          }
        }
      }
      rd_kafka_message_destroy(msg);
    }
    rd_kafka_assign(rk, nullptr);
    for (int32_t p = 0; p < partitions; ++p) {
      if (!pending[p]) continue;
      if (tails[p].position != 0 || from[p] == low[p]) {
        pending[p] = false;
      } else {
        // Only markers and aborted records there: look eight times further back.
        from[p] = std::max(low[p], high[p] - (high[p] - from[p]) * 8);
      }
    }
  }
  rd_kafka_consumer_close(rk);
  if (!failure.ok()) return failure.error();
  return tails;
}

}  // namespace tally::kafka

namespace tally::kafka {

Result<std::vector<PartitionTail>> ReadTopicTails(const Config& config, const std::string& topic, int timeout_ms) {
  const auto started = std::chrono::steady_clock::now();
  auto conf = MakeConf(config);
  if (!conf.ok()) return conf.error();
  auto probe = NewHandle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!probe.ok()) return probe.error();
  auto partitions = PartitionCount(probe->get(), topic, timeout_ms);
  if (!partitions.ok()) return partitions.error();
  const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return ReadPartitionTails(config, topic, *partitions,
                            static_cast<int>(std::max<int64_t>(1, timeout_ms - spent.count())));
}

}  // namespace tally::kafka
