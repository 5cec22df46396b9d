// Reads a whole Kafka topic from the beginning, for tests: every committed
// record of every partition, up to each partition's high watermark at the
// time of the call (read_committed: offsets skip transaction markers and
// aborted records; a partition's end is reached once its last transaction's
// marker is written, which follows the commit's answer by a moment).
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "engine/kafka/client.h"
#include "tests/testing/http_client.h"

namespace tally::testing {

struct TopicRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::string event_type, position, event_id, schema_version;  // headers
};

// Records in partition order, then offset order. Fails the calling test
// (ADD_FAILURE) and returns what it has on timeout.
inline std::vector<TopicRecord> ReadTopic(const std::string& bootstraps, const std::string& topic,
                                          int timeout_ms = 20000) {
  std::vector<TopicRecord> out;
  auto conf = kafka::MakeConf({{"bootstrap.servers", bootstraps}, {"group.id", "tally-test-reader"}, {"enable.auto.commit", "false"},
                               {"enable.partition.eof", "true"}, {"isolation.level", "read_committed"}});
  if (!conf.ok()) { ADD_FAILURE() << conf.error().ToString(); return out; }
  auto handle = kafka::NewHandle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!handle.ok()) { ADD_FAILURE() << handle.error().ToString(); return out; }
  rd_kafka_t* rk = handle->get();
  auto partitions = kafka::PartitionCount(rk, topic, timeout_ms);
  if (!partitions.ok()) { ADD_FAILURE() << partitions.error().ToString(); return out; }
  std::vector<std::vector<TopicRecord>> by_partition(*partitions);
  std::vector<int64_t> high(*partitions, 0);
  std::vector<bool> done(*partitions, false);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(*partitions);
  for (int32_t p = 0; p < *partitions; ++p) {
    int64_t low = 0;
    auto err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high[p], timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) ADD_FAILURE() << "watermarks: " << rd_kafka_err2str(err);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  size_t remaining = static_cast<size_t>(*partitions);  // partitions not yet read to their high watermark
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (remaining > 0 && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, 100);
    if (msg == nullptr) continue;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // The end of what is committed so far: the whole partition once it
      // reaches the high watermark (before, a marker is still to come).
      if (!done[msg->partition] && msg->offset >= high[msg->partition]) {
        done[msg->partition] = true;
        --remaining;
      }
    } else if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      TopicRecord r;
      r.partition = msg->partition;
      r.offset = msg->offset;
      r.key.assign(static_cast<const char*>(msg->key), msg->key_len);
      r.value.assign(static_cast<const char*>(msg->payload), msg->len);
      auto header = [&](const char* name) {
        auto v = kafka::HeaderValue(msg, name);
        return v ? std::string(*v) : std::string("<missing>");
      };
      r.event_type = header(kafka::kHeaderEventType);
      r.position = header(kafka::kHeaderPosition);
      r.event_id = header(kafka::kHeaderEventId);
      r.schema_version = header(kafka::kHeaderSchemaVersion);
      by_partition[msg->partition].push_back(std::move(r));
    }
    rd_kafka_message_destroy(msg);
  }
  if (remaining > 0) ADD_FAILURE() << remaining << " partitions of " << topic << " not read to their end in time";
  rd_kafka_consumer_close(rk);
  for (auto& records : by_partition) {
    for (auto& r : records) out.push_back(std::move(r));
  }
  return out;
}

// Waits until tallyd's /healthz says its relay has published the whole log;
// returns the log's head (0, and a test failure, after `timeout`).
inline uint64_t WaitPublished(uint16_t port, std::chrono::seconds timeout = std::chrono::seconds(30)) {
  HttpClient anonymous(port);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto h = anonymous.Get("/healthz");
    if (h.status == 200 && h.json.contains("kafka")) {
      const uint64_t head = h.json["head"];
      if (head > 0 && h.json["kafka"]["published"] == head) return head;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "the relay did not catch up";
  return 0;
}

}  // namespace tally::testing
