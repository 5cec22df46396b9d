// Read models fed from the Kafka topic instead of the local log, for
// projections running in another process (`tallyctl project --from-kafka`).
//
// The same Projection code as the local runner (Apply, Flush, one atomic
// WriteBatch per batch of events) with a different bookkeeping: the topic
// has no single position to resume from, so each copy stores, beside its
// rows and in the same WriteBatch, the next offset of every partition it has
// applied. On assignment the feed resumes each partition from there (not
// from the group's committed offsets, which it commits only for monitoring),
// so a crash neither loses nor doubles an event in the read models.
//
// Several processes in one consumer group share the partitions; each
// process's store then holds the read models of the customers in the
// partitions assigned to it. At each assignment the feed drops the rows
// (and the stored offset) of every partition it holds but was not given, so
// that no store keeps stale rows of a partition another process now
// updates; a partition that comes back is read again from its start.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/kafka/client.h"
#include "projections/projection.h"
#include "projections/store.h"

namespace tally::projections {

struct KafkaFeedOptions {
  kafka::Config config;  // bootstrap.servers and group.id at least
  std::string topic{kafka::kDefaultTopic};
  size_t batch_events = 4096;                  // events applied between two writes
  std::chrono::milliseconds flush_every{200};  // and at most this long
  bool exit_at_end = false;                    // return once every assigned partition is read to its end
  std::function<void(const std::string&)> log; // assignments and progress, for the operator
  std::function<void(uint64_t)> on_write;       // after each write, with the events applied so far
};

// The key, in every copy, of a partition's next offset; sorts after rows.
std::string KafkaOffsetKey(std::string_view topic, int32_t partition);

class KafkaFeed {
 public:
  // `store` and the projections' copies must outlive the feed.
  KafkaFeed(ProjectionStore& store, std::vector<std::unique_ptr<Projection>> projections, KafkaFeedOptions options);
  ~KafkaFeed();
  KafkaFeed(const KafkaFeed&) = delete;
  KafkaFeed& operator=(const KafkaFeed&) = delete;

  // Consumes and applies until `stop` or, with exit_at_end, the end of every
  // assigned partition; writes what it applied before returning. An error:
  // Kafka refused, a write failed, or a model cannot apply an event (named
  // by partition, offset and position; nothing after the last write counts).
  Status Run(const std::atomic<bool>& stop);

  uint64_t applied() const { return applied_; }

 private:
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                          void* opaque);
  void Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions);
  Status Apply(const rd_kafka_message_t* msg);
  // The error for a partition that lost records: it should go on at `next`
  // but `instead`.
  static Error Lost(int32_t partition, int64_t next, const std::string& instead);
  Status DropUnassigned(const rd_kafka_topic_partition_list_t* assigned);
  Status Flush();
  Result<std::optional<int64_t>> StoredOffset(int32_t partition) const;
  void Log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }

  ProjectionStore& store_;
  std::vector<std::unique_ptr<Projection>> projections_;
  KafkaFeedOptions options_;
  kafka::Handle consumer_;
  std::vector<Checkpoint> checkpoints_;        // per projection, as applied
  std::map<int32_t, int64_t> pending_offsets_; // partition -> next offset, applied but not written
  size_t pending_events_ = 0;
  int32_t partition_count_ = 0;
  uint64_t applied_ = 0;
  Status failure_ = OkStatus();                // from the rebalance callback
  std::string value_;                          // aligned copy of a record's value
};

}  // namespace tally::projections
