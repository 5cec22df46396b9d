// The Kafka relay (the outbox): tails the event log and produces every event
// to one topic, exactly once, with librdkafka's idempotent producer (acks=all,
// no delivery timeout). Record key = customer id (the stream id when an event
// has none), value = the envelope bytes, headers as in client.h; the
// partition is PartitionFor(key), so one customer's events stay in order in
// one partition. The contract for consumers is events/TOPIC.md.
//
// Exactly once without Kafka transactions: on (re)connecting, the relay
// reads the last record of every partition and learns the highest position
// published there. Within a partition records are in position order with no
// gaps (idempotence), so an event is sent again only if its position is above
// its partition's last one; that last record's event id must match the log's
// event at that position, or the topic belongs to another log and the relay
// refuses to publish.
//
// Commands never wait for the relay: it runs on its own thread. When Kafka is
// unreachable it falls behind (its lag is in Status) and catches up later;
// a delivery error makes it reconnect and resume as above.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/base/mutex.h"
#include "engine/base/read_ahead.h"
#include "engine/event_log.h"
#include "engine/kafka/client.h"

namespace tally::kafka {

// The producer settings the relay starts from (RelayOptions::config comes
// after them and may change them): linger, batch size, in-flight bound,
// compression. README's "Kafka" section gives the measured reasons.
Config RelayProducerDefaults();
// The settings it applies last, whatever the config says: idempotence,
// acks=all, no delivery timeout.
Config RelayProducerGuarantees();

struct RelayOptions {
  std::string topic{kDefaultTopic};
  // librdkafka properties; must name bootstrap.servers. Applied after
  // RelayProducerDefaults() and before RelayProducerGuarantees().
  Config config;
  // How long the relay waits for new events when there are none.
  std::chrono::milliseconds poll{10};
  // How long it waits before reconnecting after an error.
  std::chrono::milliseconds retry{1000};
  // Timeout of each metadata and resume request.
  int request_timeout_ms = 5000;
  // Called on the relay thread whenever it has published everything it saw
  // (a follower log catches up with its writer here). May be empty.
  std::function<void()> refresh;
  // How often the relay asks the brokers where each partition now starts:
  // a partition that no longer starts at offset 0 has lost records (the
  // embedded mock cluster keeps ~5 MiB per partition; a real cluster's
  // retention), and a consumer reading from the start would miss events.
  std::chrono::milliseconds retention_check{10000};
};

struct RelayStatus {
  uint64_t head = 0;       // the log's head as the relay last saw it
  uint64_t published = 0;  // every event up to this position is acknowledged by Kafka
  uint64_t lag() const { return head > published ? head - published : 0; }
  double lag_seconds = 0;  // age of the oldest event not yet acknowledged (0 when none)
  uint64_t sent = 0;       // records acknowledged since Start (resends after a reconnect included)
  uint64_t reconnects = 0;
  int32_t partitions = 0;
  bool connected = false;  // resumed and producing, and some broker reachable
  std::string last_error;  // the latest error, empty once resumed again
  // Partitions that no longer start at offset 0, as "partition@first
  // offset" separated by commas ("3@871,4@902"); empty while the topic
  // holds its whole history (as far as the relay last looked).
  std::string truncated;
};

// The positions already in the topic: for each partition, the position in
// its last record (0 for an empty partition), and that record's event id.
struct PartitionTail {
  uint64_t position = 0;
  std::string event_id;
};
Result<std::vector<PartitionTail>> ReadPartitionTails(const Config& config, const std::string& topic,
                                                      int32_t partitions, int timeout_ms);

class Relay {
 public:
  // `log` must outlive the relay. Starts the relay thread; errors (Kafka
  // unreachable, topic missing) are retried there and shown in Status.
  Relay(const EventLog& log, RelayOptions options);
  ~Relay();  // Stop()
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Stops producing, waits up to `flush` for records in flight, stops the
  // thread. Records not acknowledged by then are sent again after a restart
  // (only if they never reached Kafka: see the class comment).
  void Stop(std::chrono::milliseconds flush = std::chrono::seconds(5));

  RelayStatus Status() const;

 private:
  struct InFlight {
    uint64_t position;
    int64_t recorded_at_us;
    bool acked;
  };
  // Records read from the log, verified and ready to produce: the relay
  // thread produces one chunk while a helper reads the next, so the scan and
  // the FlatBuffers verification overlap with librdkafka's producev.
  struct Chunk {
    struct Record {
      uint64_t position;
      int64_t recorded_at_us;
      int32_t partition;
      uint32_t schema_version;
      std::string_view type;  // static
      size_t key, key_len, value, value_len, event_id, event_id_len;  // in bytes
    };
    uint64_t from = 0;        // first position asked for
    uint64_t next = 0;        // the position after the last record read
    int32_t partitions = 0;   // the partition count records were mapped with
    std::vector<Record> records;
    std::string bytes;        // keys, values and event ids, 8-byte aligned values
    size_t done = 0;          // records produced so far
    tally::Status failure = OkStatus();  // a bad record at `next`, after the records
  };
  // Reads positions [from, to] (fewer if large or stopped) into `c`,
  // reusing its buffers.
  static void ReadChunk(const EventLog& log, uint64_t from, uint64_t to, int32_t partitions,
                        const std::atomic<bool>& stop, Chunk& c);
  // Waits for a chunk being read ahead and drops it and the current one.
  void DropChunks();
  void Run();
  tally::Status Connect();
  void Disconnect();
  // Produces events from next_ on until the head, a full queue or a stop.
  tally::Status Produce();
  void Acknowledge(uint64_t position, rd_kafka_resp_err_t err);
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque);
  // librdkafka's errors: every broker down makes the relay not connected
  // until a broker answers again (a delivery or the retention check).
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  void SetError(const Error& e);
  void Publish();  // updates the status atomics from in_flight_

  const EventLog& log_;
  RelayOptions options_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> flush_ms_{5000};

  // Relay thread only.
  Handle producer_;
  rd_kafka_topic_t* topic_ = nullptr;     // of producer_
  std::vector<uint64_t> partition_last_;  // per partition: highest position in Kafka at resume
  uint64_t next_ = 1;                     // next position to look at
  std::deque<InFlight> in_flight_;        // positions published_+1 .. next_-1
  std::optional<Chunk> chunk_;            // being produced (records before `done` are)
  ReadAhead<Chunk> read_ahead_{"tally-relay-rd"};  // the chunk after chunk_, being read
  Chunk spare_;                           // a produced chunk, its buffers kept for reuse
  bool delivery_failed_ = false;
  std::string delivery_error_;

  // Status, written by the relay thread.
  std::atomic<uint64_t> head_{0}, published_{0}, sent_{0}, reconnects_{0};
  std::atomic<int64_t> oldest_unpublished_us_{0};
  std::atomic<int32_t> partitions_{0};
  std::atomic<bool> connected_{false};
  std::atomic<bool> brokers_down_{false};  // set by OnError, cleared by an answer
  mutable Mutex error_mu_;
  std::string last_error_ GUARDED_BY(error_mu_);
  std::string truncated_ GUARDED_BY(error_mu_);  // RelayStatus::truncated
  std::chrono::steady_clock::time_point next_retention_check_{};  // relay thread only
  // Asks each partition's first offset (relay thread, connected).
  void CheckRetention();
};

}  // namespace tally::kafka
