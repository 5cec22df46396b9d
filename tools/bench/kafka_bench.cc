// tally-bench kafka: the relay's throughput (events from the log to
// acknowledged in Kafka) next to a raw librdkafka producer sending the same
// records (key, value, headers, partition) to the same cluster (an embedded
// mock cluster, or a real one with --bootstrap)
// with the same producer settings, from memory; then the relay's lag while
// writers append.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <unistd.h>
#include <thread>

#include "engine/kafka/embedded.h"
#include "engine/kafka/relay.h"
#include "events/codec.h"
#include "events/samples.h"
#include "tools/bench/bench.h"

namespace tally::bench {
namespace {

struct Record {
  int32_t partition;
  std::string key, value, type, position, event_id, version;
};

// Appends `events` one-event commands (one customer in 97 per command) in
// batches of 1000 per sync.
Status Generate(RocksDbEventLog& log, uint64_t events, uint64_t seed) {
  events::SampleEvents samples(seed);
  std::vector<AppendRequest> batch;
  for (uint64_t i = 0; i < events;) {
    batch.clear();
    for (; batch.size() < 1000 && i < events; ++i) {
      AppendRequest r;
      const std::string customer = "c" + std::to_string((i * 7919) % 10007);
      r.events.push_back(i % 5 == 0 ? samples.CustomerCreated(customer, "") : samples.SubscriptionCreated(customer, "", 1 + i % 50));
      batch.push_back(std::move(r));
    }
    for (auto& result : log.AppendBatch(batch)) {
      if (!result.ok()) return result.error();
    }
  }
  return OkStatus();
}

// `threads_after`: the per-thread CPU sample taken before the producer's
// threads go.
int64_t RawProduce(const kafka::Config& user_config, const std::string& topic, const std::vector<Record>& records,
                   double* seconds, ThreadCpu* threads_after) {
  // The relay's settings, in the relay's order.
  kafka::Config config = kafka::RelayProducerDefaults();
  config.insert(config.end(), user_config.begin(), user_config.end());
  const kafka::Config guarantees = kafka::RelayProducerGuarantees();
  config.insert(config.end(), guarantees.begin(), guarantees.end());
  auto conf = kafka::MakeConf(config);
  if (!conf.ok()) return -1;
  static std::atomic<int64_t> acked;
  acked = 0;
  rd_kafka_conf_set_dr_msg_cb(conf->get(), [](rd_kafka_t*, const rd_kafka_message_t* m, void*) {
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) ++acked;
  });
  auto handle = kafka::NewHandle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!handle.ok()) return -1;
  rd_kafka_t* rk = handle->get();
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  Clock clock;
  for (const Record& r : records) {
    for (;;) {
      auto err = rd_kafka_producev(
          rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(r.partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(r.key.data(), r.key.size()), RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
          RD_KAFKA_V_HEADER(kafka::kHeaderEventType, r.type.data(), static_cast<ssize_t>(r.type.size())),
          RD_KAFKA_V_HEADER(kafka::kHeaderPosition, r.position.data(), static_cast<ssize_t>(r.position.size())),
          RD_KAFKA_V_HEADER(kafka::kHeaderEventId, r.event_id.data(), static_cast<ssize_t>(r.event_id.size())),
          RD_KAFKA_V_HEADER(kafka::kHeaderSchemaVersion, r.version.data(), static_cast<ssize_t>(r.version.size())),
          RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      rd_kafka_poll(rk, 10);
    }
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 600000);
  *seconds = clock.Seconds();
  *threads_after = SampleThreadCpu();
  rd_kafka_topic_destroy(rkt);
  return acked;
}

// The number of brokers of the cluster at `config`.
Result<int> BrokerCount(const kafka::Config& config) {
  auto conf = kafka::MakeConf(config);
  if (!conf.ok()) return conf.error();
  auto handle = kafka::NewHandle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!handle.ok()) return handle.error();
  const rd_kafka_metadata_t* md = nullptr;
  if (auto err = rd_kafka_metadata(handle->get(), 0, nullptr, &md, 10000); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka::FromKafka(err, "reading the cluster's metadata");
  }
  const int brokers = md->broker_cnt;
  rd_kafka_metadata_destroy(md);
  return brokers;
}

}  // namespace

int RunKafkaBench(const KafkaBenchOptions& o) {
  auto properties = kafka::ParseProperties(o.properties);
  if (!properties.ok()) {
    std::fprintf(stderr, "--property: %s\n", properties.error().message().c_str());
    return 2;
  }
  std::string properties_text;
  for (const auto& [k, v] : *properties) properties_text += " " + k + "=" + v;
  std::printf("tally-bench kafka: relay (log -> acknowledged in Kafka) vs a raw librdkafka producer, %llu events, "
              "%s, %d partitions; producer settings: the relay's%s%s\n",
              static_cast<unsigned long long>(o.events),
              o.bootstrap.empty() ? "embedded mock cluster" : ("cluster at " + o.bootstrap).c_str(), o.partitions,
              properties_text.empty() ? "" : " +", properties_text.c_str());
  const std::string dir = FreshDir(o.dir, "kafka-log");
  auto log = RocksDbEventLog::Open(dir);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.error().ToString().c_str());
    return 2;
  }
  Clock gen;
  if (auto s = Generate(**log, o.events, 1); !s.ok()) {
    std::fprintf(stderr, "generating the log: %s\n", s.error().ToString().c_str());
    return 2;
  }
  // Both phases run on a quiet log: no memtable flush of the generated
  // events competing for the CPU with either of them.
  if (auto s = (*log)->Flush(); !s.ok()) {
    std::fprintf(stderr, "flushing the log: %s\n", s.error().ToString().c_str());
    return 2;
  }
  std::printf("  generated %llu events in %.1fs\n", static_cast<unsigned long long>((*log)->Head()), gen.Seconds());

  // The same records the relay will send, in memory, for the raw producer.
  std::vector<Record> records;
  records.reserve(o.events);
  auto scanned = (*log)->Scan(1, (*log)->Head(), [&](const EventView& v) {
    auto env = events::VerifyEnvelope(v.envelope);
    if (!env.ok()) return false;
    Record r;
    r.key = std::string(events::View((*env)->customer_id()));
    r.partition = kafka::PartitionFor(r.key, o.partitions);
    r.value = std::string(v.envelope);
    r.type = std::string(events::EventTypeName((*env)->payload_type()));
    r.position = std::to_string(v.position);
    r.event_id = std::string(events::View((*env)->event_id()));
    r.version = std::to_string((*env)->schema_version());
    records.push_back(std::move(r));
    return true;
  });
  if (!scanned.ok() || records.size() != o.events) {
    std::fprintf(stderr, "reading the generated log failed\n");
    return 2;
  }

  // Three topics: the raw producer's, the relay's, the relay's under load.
  std::unique_ptr<kafka::EmbeddedKafka> embedded;
  std::string bootstraps = o.bootstrap;
  std::string raw_topic = "bench.raw", relay_topic = "bench.relay", load_topic = "bench.load";
  if (bootstraps.empty()) {
    auto cluster = kafka::EmbeddedKafka::Start(1, raw_topic, o.partitions);
    if (!cluster.ok()) {
      std::fprintf(stderr, "%s\n", cluster.error().ToString().c_str());
      return 2;
    }
    embedded = std::move(*cluster);
    bootstraps = embedded->bootstraps();
    for (const std::string& t : {relay_topic, load_topic}) {
      if (auto err = rd_kafka_mock_topic_create(embedded->cluster(), t.c_str(), o.partitions, 1); err) {
        std::fprintf(stderr, "creating %s: %s\n", t.c_str(), rd_kafka_err2str(err));
        return 2;
      }
    }
  } else {
    auto brokers = BrokerCount({{"bootstrap.servers", bootstraps}});
    if (!brokers.ok()) {
      std::fprintf(stderr, "%s\n", brokers.error().ToString().c_str());
      return 2;
    }
    const int rf = std::min(*brokers, 3), isr = std::min(*brokers, 2);
    const std::string suffix = "." + std::to_string(::getpid()) + "." + std::to_string(std::time(nullptr));
    for (std::string* t : {&raw_topic, &relay_topic, &load_topic}) {
      *t += suffix;
      auto s = kafka::CreateTopic({{"bootstrap.servers", bootstraps}}, *t, o.partitions, rf,
                                  {{"min.insync.replicas", std::to_string(isr)}}, 30000);
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", s.error().ToString().c_str());
        return 2;
      }
    }
    std::printf("  topics %s, %s, %s: replication factor %d, min.insync.replicas %d (%d brokers)\n",
                raw_topic.c_str(), relay_topic.c_str(), load_topic.c_str(), rf, isr, *brokers);
  }
  kafka::Config client_config = {{"bootstrap.servers", bootstraps}};
  client_config.insert(client_config.end(), properties->begin(), properties->end());

  double raw_secs = 0;
  CpuClock raw_cpu;
  const ThreadCpu raw_threads_before = SampleThreadCpu();
  ThreadCpu raw_threads_after;
  const int64_t raw_acked = RawProduce(client_config, raw_topic, records, &raw_secs, &raw_threads_after);
  if (raw_acked != static_cast<int64_t>(records.size())) {
    std::fprintf(stderr, "raw producer: %lld of %zu acknowledged\n", static_cast<long long>(raw_acked), records.size());
    return 2;
  }
  const double raw_cpu_secs = raw_cpu.Seconds();
  const std::string raw_threads = DescribeThreadCpu(raw_threads_before, raw_threads_after);
  records.clear();
  records.shrink_to_fit();

  kafka::RelayOptions relay_options;
  relay_options.topic = relay_topic;
  relay_options.config = client_config;
  if (o.commit_interval_ms > 0) relay_options.commit_interval = std::chrono::milliseconds(o.commit_interval_ms);
  Clock relay_clock;
  CpuClock relay_cpu;
  const ThreadCpu relay_threads_before = SampleThreadCpu();
  std::string relay_threads;
  double relay_secs = 0, connect_secs = 0, relay_cpu_secs = 0;
  uint64_t transactions = 0;
  {
    kafka::Relay relay(**log, relay_options);
    while (relay.Status().published < o.events) {
      if (connect_secs == 0 && relay.Status().connected) connect_secs = relay_clock.Seconds();
      if (!relay.Status().last_error.empty() && relay_clock.Seconds() > 30) {
        std::fprintf(stderr, "relay: %s\n", relay.Status().last_error.c_str());
        return 2;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    relay_secs = relay_clock.Seconds();
    relay_cpu_secs = relay_cpu.Seconds();
    transactions = relay.Status().transactions;
    relay_threads = DescribeThreadCpu(relay_threads_before, SampleThreadCpu());
  }
  const double raw_rate = o.events / raw_secs, relay_rate = o.events / relay_secs;
  std::printf("  raw producer      %10.0f events/s  (%.2fs, %.2f CPU-s; same records from memory, same producer settings)\n",
              raw_rate, raw_secs, raw_cpu_secs);
  std::printf("  relay             %10.0f events/s  (%.2fs, %.2f CPU-s; connect + resume (%.2fs) + scan + verify + produce + acks"
              " in %llu transactions, committed at least every %d ms)\n",
              relay_rate, relay_secs, relay_cpu_secs, connect_secs, static_cast<unsigned long long>(transactions),
              static_cast<int>(relay_options.commit_interval.count()));
  std::printf("  ratio relay/raw   %.2f  (goal >= 0.70)\n", relay_rate / raw_rate);
  std::printf("  CPU-s by thread   raw: %s\n                    relay: %s\n"
              "                    (threads that ended before the sample count in the totals only)\n",
              raw_threads.c_str(), relay_threads.c_str());

  // Lag while a writer appends: batches of 100 events, synced, as fast as
  // the disk allows, for --load-events events.
  relay_options.topic = load_topic;
  kafka::Relay relay(**log, relay_options);
  while (relay.Status().published < (*log)->Head()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::atomic<bool> done{false};
  uint64_t max_lag = 0;
  double max_lag_seconds = 0;
  std::thread sampler([&] {
    while (!done) {
      const auto s = relay.Status();
      const uint64_t head = (*log)->Head();
      max_lag = std::max(max_lag, head > s.published ? head - s.published : 0);
      max_lag_seconds = std::max(max_lag_seconds, s.lag_seconds);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  Clock load_clock;
  events::SampleEvents samples(2);
  for (uint64_t i = 0; i < o.load_events; i += 100) {
    std::vector<AppendRequest> batch(100);
    for (size_t j = 0; j < batch.size(); ++j) {
      batch[j].events.push_back(samples.SubscriptionCreated("c" + std::to_string((i + j) % 10007), "", 1));
    }
    for (auto& result : (*log)->AppendBatch(batch)) {
      if (!result.ok()) {
        std::fprintf(stderr, "append: %s\n", result.error().ToString().c_str());
        return 2;
      }
    }
  }
  const double load_secs = load_clock.Seconds();
  while (relay.Status().published < (*log)->Head()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double drained_secs = load_clock.Seconds();
  done = true;
  sampler.join();
  relay.Stop();  // before the log it reads goes
  std::printf("  under load        %llu events appended at %.0f events/s; relay done %.2fs after the last append;\n"
              "                    max lag %llu events, %.3f s (sampled every 10 ms)\n",
              static_cast<unsigned long long>(o.load_events), o.load_events / load_secs, drained_secs - load_secs,
              static_cast<unsigned long long>(max_lag), max_lag_seconds);
  if (!o.keep) {
    log->reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return 0;
}

}  // namespace tally::bench
