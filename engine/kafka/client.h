// librdkafka at tally's boundary: owning handles, configuration from
// key/value pairs, errors converted to tally's Error once, and the topic
// contract every producer and consumer of tally.events shares (see
// events/TOPIC.md).
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/base/result.h"

namespace tally::kafka {

inline constexpr std::string_view kDefaultTopic = "tally.events";

// Header names on every record (values are UTF-8 text).
inline constexpr const char* kHeaderEventType = "event_type";          // e.g. "CustomerCreated"
inline constexpr const char* kHeaderPosition = "position";             // decimal global position
inline constexpr const char* kHeaderEventId = "event_id";              // UUID
inline constexpr const char* kHeaderSchemaVersion = "schema_version";  // decimal

// librdkafka properties, applied in order ("bootstrap.servers", ...).
using Config = std::vector<std::pair<std::string, std::string>>;

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// `what` says what was being done.
Error FromKafka(rd_kafka_resp_err_t err, std::string_view what);

// "KEY=VALUE" arguments (--kafka-property) as a Config; a malformed one is
// kInvalidArgument naming it.
Result<Config> ParseProperties(const std::vector<std::string>& properties);

// A configuration holding `config`; a rejected property is kInvalidArgument
// naming it.
Result<Conf> MakeConf(const Config& config);

// librdkafka's error callback type.
using ErrorCallback = void (*)(rd_kafka_t* rk, int err, const char* reason, void* opaque);

// A client handle of `type` (takes `conf` on success). Its log lines and
// errors go to stderr as "tally kafka: <client> <level> [<facility>] ...",
// each once (librdkafka would print errors twice, in its own format).
// `on_error`, if given, replaces the printing of errors: it should call
// PrintError itself.
Result<Handle> NewHandle(rd_kafka_type_t type, Conf conf, ErrorCallback on_error = nullptr);

// Prints a client error as NewHandle's handles do.
void PrintError(rd_kafka_t* rk, int err, const char* reason);

// The partition of a record keyed by `key` in a topic of `partitions`:
// murmur2, as Kafka's Java clients and librdkafka's "murmur2" partitioner
// choose, so that any client that computes it agrees.
int32_t PartitionFor(std::string_view key, int32_t partitions);

// The number of partitions of `topic`, from the cluster's metadata.
Result<int32_t> PartitionCount(rd_kafka_t* rk, const std::string& topic, int timeout_ms);

// Creates `topic` with `partitions` and `replication_factor`, its
// `topic_config` (e.g. {"min.insync.replicas", "2"}) set, through the
// cluster at `config`'s bootstrap.servers (the admin API). A topic that
// exists already is an error (kKafka) unless `exists_ok`; its settings are
// then left as they are.
Status CreateTopic(const Config& config, const std::string& topic, int32_t partitions, int replication_factor,
                   const Config& topic_config, int timeout_ms, bool exists_ok = false);

// A header's value as text, or nullopt when the message lacks it.
std::optional<std::string_view> HeaderValue(const rd_kafka_message_t* msg, const char* name);

// Whether a partition-EOF event (RD_KAFKA_RESP_ERR__PARTITION_EOF) of a
// read_committed consumer is its partition's end: at or above the high
// watermark its last fetch saw. Below it, the end of what is committed so
// far: a transaction's commit is answered before its markers are written,
// and its records become readable a moment later.
bool AtPartitionEnd(rd_kafka_t* consumer, const rd_kafka_message_t* eof);

}  // namespace tally::kafka
