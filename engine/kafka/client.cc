#include "engine/kafka/client.h"

#include <cstdio>
#include <cstring>

namespace tally::kafka {

Error FromKafka(rd_kafka_resp_err_t err, std::string_view what) {
  return Error(ErrorCode::kKafka, std::string(what) + ": " + rd_kafka_err2str(err));
}

Result<Config> ParseProperties(const std::vector<std::string>& properties) {
  Config config;
  for (const auto& property : properties) {
    const size_t eq = property.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error(ErrorCode::kInvalidArgument, "a Kafka property must be KEY=VALUE, got '" + property + "'");
    }
    config.emplace_back(property.substr(0, eq), property.substr(eq + 1));
  }
  if (auto checked = MakeConf(config); !checked.ok()) return checked.error();
  return config;
}

Result<Conf> MakeConf(const Config& config) {
  Conf conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& [key, value] : config) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return Error(ErrorCode::kInvalidArgument, "Kafka property " + key + ": " + err);
    }
  }
  return conf;
}

namespace {

const char* LevelName(int level) {
  switch (level) {
    case 0: return "emergency";
    case 1: return "alert";
    case 2: return "critical";
    case 3: return "error";
    case 4: return "warning";
    case 5: return "notice";
    case 6: return "info";
    default: return "debug";
  }
}

// librdkafka's own lines, in tally's form on stderr: "tally kafka:
// <client> <level> [<facility>] <message>". Called on librdkafka's threads;
// one fprintf per line, so lines do not interleave.
void LogLine(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  std::fprintf(stderr, "tally kafka: %s %s [%s] %s\n", rk != nullptr ? rd_kafka_name(rk) : "-", LevelName(level),
               facility, message);
}

// Without an error callback librdkafka logs every error a second time (as
// "ERROR [thrd:app]"). A broker's connection and name-resolution failures
// are in its log lines already (FAIL); every other error is printed here.
void ErrorLine(rd_kafka_t* rk, int err, const char* reason, void* /*opaque*/) { PrintError(rk, err, reason); }

}  // namespace

void PrintError(rd_kafka_t* rk, int err, const char* reason) {
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__TRANSPORT || code == RD_KAFKA_RESP_ERR__RESOLVE) return;
  if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    std::fprintf(stderr, "tally kafka: %s error every broker is down; events wait in the log: %s\n",
                 rd_kafka_name(rk), reason);
    return;
  }
  std::fprintf(stderr, "tally kafka: %s error %s: %s\n", rd_kafka_name(rk), rd_kafka_err2name(code), reason);
}

Result<Handle> NewHandle(rd_kafka_type_t type, Conf conf, ErrorCallback on_error) {
  rd_kafka_conf_set_log_cb(conf.get(), &LogLine);
  rd_kafka_conf_set_error_cb(conf.get(), on_error != nullptr ? on_error : &ErrorLine);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof err);
  if (rk == nullptr) return Error(ErrorCode::kKafka, std::string("creating a Kafka client: ") + err);
  (void)conf.release();  // rd_kafka_new owns it now
  return Handle(rk);
}

int32_t PartitionFor(std::string_view key, int32_t partitions) {
  // Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2).
  const auto* data = reinterpret_cast<const uint8_t*>(key.data());
  const size_t length = key.size();
  constexpr uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  uint32_t h = 0x9747b28c ^ static_cast<uint32_t>(length);
  const size_t blocks = length / 4;
  for (size_t i = 0; i < blocks; ++i) {
    uint32_t k;
    std::memcpy(&k, data + 4 * i, 4);  // little-endian on the machines tally runs on
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const uint8_t* tail = data + 4 * blocks;
  switch (length % 4) {
    case 3: h ^= static_cast<uint32_t>(tail[2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<uint32_t>(tail[1]) << 8; [[fallthrough]];
    case 1:
      h ^= tail[0];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>((h & 0x7fffffff) % static_cast<uint32_t>(partitions));
}

Result<int32_t> PartitionCount(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rkt == nullptr) return FromKafka(rd_kafka_last_error(), "topic " + topic);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return FromKafka(err, "reading the metadata of topic " + topic);
  Result<int32_t> out = Error(ErrorCode::kKafka, "the cluster's metadata lacks topic " + topic);
  if (md->topic_cnt == 1) {
    if (md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      out = FromKafka(md->topics[0].err, "topic " + topic);
    } else if (md->topics[0].partition_cnt <= 0) {
      out = Error(ErrorCode::kKafka, "topic " + topic + " has no partitions");
    } else {
      out = md->topics[0].partition_cnt;
    }
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

Status CreateTopic(const Config& config, const std::string& topic, int32_t partitions, int replication_factor,
                   const Config& topic_config, int timeout_ms, bool exists_ok) {
  auto conf = MakeConf(config);
  if (!conf.ok()) return conf.error();
  auto admin = NewHandle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!admin.ok()) return admin.error();
  rd_kafka_t* rk = admin->get();
  char err[512];
  rd_kafka_NewTopic_t* new_topic = rd_kafka_NewTopic_new(topic.c_str(), partitions, replication_factor, err, sizeof err);
  if (new_topic == nullptr) return Error(ErrorCode::kInvalidArgument, "topic " + topic + ": " + err);
  for (const auto& [name, value] : topic_config) {
    if (auto e = rd_kafka_NewTopic_set_config(new_topic, name.c_str(), value.c_str()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_NewTopic_destroy(new_topic);
      return FromKafka(e, "topic " + topic + ": setting " + name);
    }
  }
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(options, timeout_ms, err, sizeof err);
  rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms, err, sizeof err);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &new_topic, 1, options, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, timeout_ms + 1000);
  Status out = Error(ErrorCode::kKafka, "creating topic " + topic + ": no answer in time");
  if (event != nullptr) {
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event);
    size_t count = 0;
    const rd_kafka_topic_result_t** topics = result ? rd_kafka_CreateTopics_result_topics(result, &count) : nullptr;
    if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      out = FromKafka(rd_kafka_event_error(event), "creating topic " + topic);
    } else if (count == 1 && rd_kafka_topic_result_error(topics[0]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      out = exists_ok ? OkStatus() : Error(ErrorCode::kKafka, "topic " + topic + " exists already");
    } else if (count == 1 && rd_kafka_topic_result_error(topics[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* why = rd_kafka_topic_result_error_string(topics[0]);
      out = Error(ErrorCode::kKafka, "creating topic " + topic + ": " + (why ? why : "failed"));
    } else {
      out = OkStatus();
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy(new_topic);
  return out;
}

std::optional<std::string_view> HeaderValue(const rd_kafka_message_t* msg, const char* name) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(msg, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(headers, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  if (value == nullptr) return std::string_view();
  return std::string_view(static_cast<const char*>(value), size);
}

bool AtPartitionEnd(rd_kafka_t* consumer, const rd_kafka_message_t* eof) {
  int64_t low = 0, high = 0;
  if (rd_kafka_get_watermark_offsets(consumer, rd_kafka_topic_name(eof->rkt), eof->partition, &low, &high) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return true;  // no fetch seen: nothing to wait for
  }
  return eof->offset >= high;
}

}  // namespace tally::kafka
