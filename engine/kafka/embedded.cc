#include "engine/kafka/embedded.h"

namespace tally::kafka {

Result<std::unique_ptr<EmbeddedKafka>> EmbeddedKafka::Start(int brokers, const std::string& topic,
                                                            int partitions) {
  std::unique_ptr<EmbeddedKafka> k(new EmbeddedKafka());
  // The cluster lives on a client handle of its own that never connects.
  auto conf = MakeConf({{"log_level", "3"}});
  if (!conf.ok()) return conf.error();
  auto owner = NewHandle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!owner.ok()) return owner.error();
  k->owner_ = std::move(*owner);
  k->cluster_ = rd_kafka_mock_cluster_new(k->owner_.get(), brokers);
  if (k->cluster_ == nullptr) return Error(ErrorCode::kKafka, "starting the embedded Kafka (mock cluster) failed");
  k->bootstraps_ = rd_kafka_mock_cluster_bootstraps(k->cluster_);
  if (auto err = rd_kafka_mock_topic_create(k->cluster_, topic.c_str(), partitions, 1);
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return FromKafka(err, "creating topic " + topic + " in the embedded Kafka");
  }
  return k;
}

EmbeddedKafka::~EmbeddedKafka() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
}

}  // namespace tally::kafka
