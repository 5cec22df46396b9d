// The Kafka relay (the outbox): tails the event log and produces every event
// to one topic, exactly once, with librdkafka's transactional producer
// (idempotent, acks=all). Record key = customer id (the stream id when an
// event has none), value = the envelope bytes, headers as in client.h; the
// partition is PartitionFor(key), so one customer's events stay in order in
// one partition. The contract for consumers is events/TOPIC.md.
//
// Exactly once, across restarts and SIGKILLs: records are produced in
// transactions, committed when the relay has caught up with the log, when a
// transaction holds kMaxTransactionRecords, or after commit_interval. On
// (re)connecting, the relay first initialises its transactional id, which
// fences any earlier producer of that id (a killed tallyd's in-flight
// records are refused, its open transaction aborted), then reads the last
// committed record of every partition and learns the highest position
// published there. Within a partition committed records are in position
// order with no gaps, so an event is sent again only if its position is
// above its partition's last one; that last record's event id must match the
// log's event at that position, or the topic belongs to another log and the
// relay refuses to publish. Consumers read committed records only
// (librdkafka's default; Java's is read_uncommitted).
//
// Commands never wait for the relay: it runs on its own thread. When Kafka is
// unreachable it falls behind (its lag is in Status) and catches up later;
// a delivery or transaction error makes it reconnect and resume as above
// (what the failed transaction held is aborted and sent again).
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
#include "engine/kafka/partition_tails.h"

namespace tally::kafka {

// The producer settings the relay starts from (RelayOptions::config comes
// after them and may change them): linger, batch size, in-flight bound,
// compression. README's "Kafka" section gives the measured reasons.
Config RelayProducerDefaults();
// The settings it applies last, whatever the config says: idempotence and
// acks=all. The transactional id is the relay's own ("tally-relay.<topic>")
// unless the config names one; a delivery waits up to the transaction's
// timeout (transaction.timeout.ms, 10 s by default here), and a transaction
// that fails is aborted and sent again.
Config RelayProducerGuarantees();

// Transactions are committed at least this often, in records.
inline constexpr uint64_t kMaxTransactionRecords = 100000;

struct RelayOptions {
  std::string topic{kDefaultTopic};
  // librdkafka properties; must name bootstrap.servers. Applied after
  // RelayProducerDefaults() and before RelayProducerGuarantees().
  Config config;
  // How long the relay waits for new events when there are none.
  std::chrono::milliseconds poll{10};
  // How long it waits before reconnecting after an error.
  std::chrono::milliseconds retry{1000};
  // How long a transaction stays open while the log has more to publish
  // (consumers see its records when it commits; it commits sooner once the
  // relay has caught up, or holds kMaxTransactionRecords).
  std::chrono::milliseconds commit_interval{100};
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
  uint64_t published = 0;  // every event up to this position is in a committed transaction
  uint64_t lag() const { return head > published ? head - published : 0; }
  double lag_seconds = 0;  // age of the oldest event not yet acknowledged (0 when none)
  uint64_t sent = 0;       // records acknowledged since Start (resends after a reconnect included)
  uint64_t transactions = 0;  // committed since Start
  uint64_t reconnects = 0;
  int32_t partitions = 0;
  bool connected = false;  // resumed and producing, and some broker reachable
  std::string last_error;  // the latest error, empty once resumed again
  // Partitions that no longer start at offset 0, as "partition@first
  // offset" separated by commas ("3@871,4@902"); empty while the topic
  // holds its whole history (as far as the relay last looked).
  std::string truncated;
};

class Relay {
 public:
  // `log` must outlive the relay. Starts the relay thread; errors (Kafka
  // unreachable, topic missing) are retried there and shown in Status.
  Relay(const EventLog& log, RelayOptions options);
  ~Relay();  // Stop()
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Stops producing, commits what it produced (waiting up to `flush`), stops
  // the thread. A transaction not committed by then is aborted and its
  // records sent again after a restart (see the class comment).
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
  // Whether the open transaction is to be committed now (`caught_up`: the
  // relay has produced everything it saw).
  bool CommitDue(bool caught_up) const;
  // Commits the open transaction, after which every position below next_ is
  // published. Waits up to timeout_ms: if the commit has not finished by
  // then, committing_ stays set and the next call resumes it. An error
  // leaves the transaction open: the caller reconnects, which aborts it.
  tally::Status Commit(int timeout_ms);
  // How long one Commit call waits, so that the relay thread keeps its
  // status fresh and hears Stop while Kafka is slow or away.
  static constexpr int kCommitSliceMs = 200;
  void Acknowledge(uint64_t position, rd_kafka_resp_err_t err);
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque);
  // librdkafka's errors: every broker down makes the relay not connected
  // until a broker answers again (a delivery or the retention check).
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  void SetError(const Error& e);
  void Publish();  // updates the status atomics from in_flight_
  // When the event at `position` was recorded (0 if unreadable); any thread.
  int64_t RecordedAt(uint64_t position) const;

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
  bool in_transaction_ = false;           // begun, not yet committed
  bool committing_ = false;               // its commit began and has not finished
  uint64_t transaction_records_ = 0;      // produced in it
  std::chrono::steady_clock::time_point transaction_began_{};
  uint64_t committed_ = 0;                // every position up to this is committed (or was already in Kafka)

  // Status, written by the relay thread.
  std::atomic<uint64_t> head_{0}, published_{0}, sent_{0}, transactions_{0}, reconnects_{0};
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
