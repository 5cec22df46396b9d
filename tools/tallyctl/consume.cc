#include "tools/tallyctl/consume.h"

#include <csignal>
#include <cstdio>
#include <chrono>
#include <set>
#include <thread>

#include <atomic>
#include <filesystem>

#include "events/codec.h"
#include "engine/personal/event_json.h"
#include "events/json.h"
#include "projections/kafka_feed.h"
#include "tools/common/followed_log.h"

namespace tally {
namespace {

volatile std::sig_atomic_t g_stop_consuming = 0;
extern "C" void StopConsuming(int) { g_stop_consuming = 1; }

// True when every partition currently assigned to `rk` is in `at_end`.
bool AllAtEnd(rd_kafka_t* rk, const std::set<int32_t>& at_end) {
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(rk, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  bool all = assigned->cnt > 0;
  for (int i = 0; i < assigned->cnt; ++i) all = all && at_end.count(assigned->elems[i].partition) > 0;
  rd_kafka_topic_partition_list_destroy(assigned);
  return all;
}

// The key ring of --keys-from, or null without it.
Result<std::unique_ptr<tools::FollowedKeyRing>> OpenKeys(const ConsumeOptions& options) {
  if (options.keys_from.empty()) return std::unique_ptr<tools::FollowedKeyRing>();
  return tools::FollowedKeyRing::Open(options.keys_from);
}

}  // namespace

int Consume(const ConsumeOptions& options) {
  auto keys = OpenKeys(options);
  if (!keys.ok()) {
    std::fprintf(stderr, "tallyctl consume: --keys-from %s: %s\n", options.keys_from.c_str(),
                 keys.error().ToString().c_str());
    return 2;
  }
  kafka::Config config = {{"bootstrap.servers", options.bootstrap},
                          {"group.id", options.group},
                          {"auto.offset.reset", "earliest"},
                          {"enable.partition.eof", options.exit_at_end ? "true" : "false"},
                          // Committed records only (the relay's transactions; librdkafka's default too).
                          {"isolation.level", "read_committed"},
                          {"client.id", "tallyctl-consume"},
                          // A member that vanished without leaving holds up the group this long.
                          {"session.timeout.ms", "6000"}};
  config.insert(config.end(), options.properties.begin(), options.properties.end());
  auto conf = kafka::MakeConf(config);
  if (!conf.ok()) {
    std::fprintf(stderr, "tallyctl consume: %s\n", conf.error().ToString().c_str());
    return 2;
  }
  auto handle = kafka::NewHandle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!handle.ok()) {
    std::fprintf(stderr, "tallyctl consume: %s\n", handle.error().ToString().c_str());
    return 2;
  }
  rd_kafka_t* rk = handle->get();
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, options.topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "tallyctl consume: subscribing to %s: %s\n", options.topic.c_str(), rd_kafka_err2str(err));
    return 2;
  }
  std::signal(SIGINT, StopConsuming);
  std::signal(SIGTERM, StopConsuming);
  std::signal(SIGPIPE, SIG_IGN);
  events::JsonRenderer renderer;
  std::set<int32_t> at_end;
  int rc = 0;
  std::string value;
  while (!g_stop_consuming) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, 200);
    if (msg == nullptr) continue;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (kafka::AtPartitionEnd(rk, msg)) at_end.insert(msg->partition);
      rd_kafka_message_destroy(msg);
      if (options.exit_at_end && AllAtEnd(rk, at_end)) break;
      continue;
    }
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Transient errors (a broker away) are retried by librdkafka; say so once each.
      std::fprintf(stderr, "tallyctl consume: %s\n", rd_kafka_message_errstr(msg));
      const bool fatal = msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
      rd_kafka_message_destroy(msg);
      if (fatal) {
        rc = 2;
        break;
      }
      continue;
    }
    at_end.erase(msg->partition);
    const std::string_view key(static_cast<const char*>(msg->key), msg->key_len);
    const bool wanted_customer = options.customer.empty() || key == options.customer;
    const auto type = kafka::HeaderValue(msg, kafka::kHeaderEventType);
    const bool wanted_type = options.type.empty() || (type && *type == options.type);
    if (wanted_customer && wanted_type) {
      value.assign(static_cast<const char*>(msg->payload), msg->len);  // heap copy: aligned for FlatBuffers
      auto json = personal::RenderEvent(renderer, value, keys->get());
      if (!json.ok()) {
        std::fprintf(stderr, "tallyctl consume: partition %d offset %lld: %s\n", msg->partition,
                     static_cast<long long>(msg->offset), json.error().ToString().c_str());
        rc = 2;
      } else {
        std::fwrite(json->data(), 1, json->size(), stdout);
        std::fputc('\n', stdout);
        if (std::fflush(stdout) != 0 || std::ferror(stdout)) g_stop_consuming = 1;  // the reader went away
      }
    }
    rd_kafka_message_destroy(msg);
  }
  rd_kafka_consumer_close(rk);  // commits the offsets of what was printed
  return rc;
}

int ProjectFromKafka(const std::string& data, const ConsumeOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  auto store = projections::ProjectionStore::Open(data + "/projections", projections::ModelNames());
  if (!store.ok()) {
    std::fprintf(stderr, "tallyctl project: %s\n", store.error().ToString().c_str());
    return 2;
  }
  auto keys = OpenKeys(options);
  if (!keys.ok()) {
    std::fprintf(stderr, "tallyctl project: --keys-from %s: %s\n", options.keys_from.c_str(),
                 keys.error().ToString().c_str());
    return 2;
  }
  const personal::KeyRing* keyring = keys->get();
  std::vector<std::unique_ptr<projections::Projection>> models;
  for (const auto& model : projections::ModelNames()) {
    models.push_back(projections::MakeProjection(model, **store, (*store)->Active(model), keyring));
  }
  projections::KafkaFeedOptions feed_options;
  feed_options.config = {{"bootstrap.servers", options.bootstrap},
                         {"group.id", options.group},
                         {"client.id", "tallyctl-project"},
                         {"session.timeout.ms", "6000"}};
  feed_options.config.insert(feed_options.config.end(), options.properties.begin(), options.properties.end());
  feed_options.topic = options.topic;
  feed_options.exit_at_end = options.exit_at_end;
  feed_options.batch_events = options.batch;
  if (options.progress_lines) {
    feed_options.on_write = [](uint64_t applied) {
      std::printf("applied %llu\n", static_cast<unsigned long long>(applied));
      std::fflush(stdout);
    };
  }
  feed_options.log = [](const std::string& line) { std::fprintf(stderr, "tallyctl project: %s\n", line.c_str()); };
  std::signal(SIGINT, StopConsuming);
  std::signal(SIGTERM, StopConsuming);
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    while (!stop) {
      if (g_stop_consuming) stop = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  projections::KafkaFeed feed(**store, std::move(models), feed_options);
  Status s = feed.Run(stop);
  stop = true;
  watcher.join();
  if (!s.ok()) {
    std::fprintf(stderr, "tallyctl project: %s\n", s.error().ToString().c_str());
    return 2;
  }
  std::printf("OK: %llu events applied from %s\n", static_cast<unsigned long long>(feed.applied()),
              options.topic.c_str());
  return 0;
}

}  // namespace tally
