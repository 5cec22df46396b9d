// The embedded Kafka: librdkafka's in-process mock cluster, a real
// Kafka-protocol broker set on loopback that any Kafka client (kcat, another
// tally process) can use through bootstraps(). Its records live in this
// process's memory only: a restart starts an empty cluster (the relay then
// publishes the log again from position 1).
#pragma once

#include <librdkafka/rdkafka.h>
// rdkafka_mock.h needs rdkafka.h first.
#include <librdkafka/rdkafka_mock.h>

#include <string>

#include "engine/kafka/client.h"

namespace tally::kafka {

class EmbeddedKafka {
 public:
  // Starts `brokers` brokers and creates `topic` with `partitions`
  // partitions (replication factor 1).
  static Result<std::unique_ptr<EmbeddedKafka>> Start(int brokers, const std::string& topic, int partitions);
  ~EmbeddedKafka();
  EmbeddedKafka(const EmbeddedKafka&) = delete;
  EmbeddedKafka& operator=(const EmbeddedKafka&) = delete;

  // "127.0.0.1:port,...": the value for bootstrap.servers.
  const std::string& bootstraps() const { return bootstraps_; }
  // For tests that take brokers down (rd_kafka_mock_broker_set_down).
  rd_kafka_mock_cluster_t* cluster() const { return cluster_; }

 private:
  EmbeddedKafka() = default;
  Handle owner_;  // the client handle the mock cluster belongs to
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstraps_;
};

}  // namespace tally::kafka
