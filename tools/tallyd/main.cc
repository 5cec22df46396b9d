// tallyd: the tally server.
//
// Loads and validates the offer catalog, opens (or creates) the event log in
// --data, runs the command pipeline (group-commit writer and domain
// processor), the read models (customer, license, relationship: a runner
// thread tailing the log into --data/projections), the control socket for
// tallyctl, the Kafka relay (to --kafka-bootstrap, or to an embedded mock
// cluster it starts and prints) and the HTTP API on --listen. On a first
// start with no partner it creates a dev partner and prints its token once.
// SIGINT/SIGTERM: stop accepting, answer requests in flight, flush, exit 0.
#include <CLI/CLI.hpp>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "engine/command_processor.h"
#include "engine/domain/catalog.h"
#include "engine/group_commit_writer.h"
#include "engine/kafka/embedded.h"
#include "engine/kafka/relay.h"
#include "engine/head_mark.h"
#include "engine/rocksdb_event_log.h"
#include "events/codec.h"
#include "projections/as_of.h"
#include "tools/tallyd/server/api.h"
#include "tools/tallyd/server/http_server.h"
#include "tools/tallyd/server/metrics.h"
#include "tools/tallyd/server/partners.h"
#include "projections/projection.h"
#include "projections/runner.h"
#include "tools/common/allocator.h"
#include "tools/common/backup.h"
#include "tools/common/cli.h"
#include "tools/common/control.h"
#include "tools/tallyd/control_server.h"
#include "tools/tallyd/descriptors.h"
#include "tools/tallyd/log_check.h"
#include "tools/tallyd/scheduler.h"

int main(int argc, char** argv) {
  CLI::App app{"tallyd: the tally event-sourced partner-center engine"};
  std::string data = "./var";
  std::string listen = "127.0.0.1:8080";
  std::string catalog_path = TALLY_DEFAULT_CATALOG;
  std::string instance_name = "global";
  app.add_option("--data", data, "data folder (created if missing)")->capture_default_str();
  app.add_option("--listen", listen, "HTTP address HOST:PORT")->capture_default_str();
  app.add_option("--catalog", catalog_path, "offer catalog (JSON)")->capture_default_str();
  app.add_option("--instance", instance_name, "global or usgov")->capture_default_str();
  std::string clock_spec = "real";
  app.add_option("--clock", clock_spec,
                 "real, or simulated:TIME (RFC 3339, UTC): a clock that moves only by POST /admin/v1/clock; "
                 "for tests and demonstrations, not for production")
      ->capture_default_str();
  int http_threads = 2;
  app.add_option("--http-threads", http_threads, "threads serving HTTP")->capture_default_str()->check(CLI::Range(1, 64));
  size_t max_connections = 1024;
  app.add_option("--max-connections", max_connections,
                 "HTTP connections held at once, further ones closed at once (lowered to leave 256 file "
                 "descriptors for the stores and Kafka)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1'000'000}));
  uint64_t min_free_mib = 128;
  app.add_option("--min-free-mib", min_free_mib,
                 "free disk space (MiB) kept for the read models, flushes and compactions: below it, writes "
                 "are refused with 503 storage_full until space returns (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 30));
  size_t customer_cache = tally::CommandProcessor::kDefaultMaxCachedCustomers;
  app.add_option("--customer-cache", customer_cache,
                 "customers' states kept in memory for deciding commands (least recently used dropped, "
                 "read from the log again when needed)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{100'000'000}));
  std::string kafka_bootstrap;
  std::string kafka_topic{tally::kafka::kDefaultTopic};
  int kafka_partitions = 6;
  std::vector<std::string> kafka_properties;
  app.add_option("--kafka-bootstrap", kafka_bootstrap,
                 "Kafka bootstrap.servers; empty: start an embedded Kafka (librdkafka's mock cluster, in memory)");
  app.add_option("--kafka-topic", kafka_topic, "topic the relay publishes every event to")->capture_default_str();
  app.add_option("--kafka-partitions", kafka_partitions, "partitions of the embedded Kafka's topic")
      ->capture_default_str()->check(CLI::Range(1, 1024));
  app.add_option("--kafka-property", kafka_properties,
                 "extra librdkafka property KEY=VALUE for the relay (repeatable), e.g. security.protocol=ssl");
  std::string on_damage = "refuse";
  app.add_option("--on-damage", on_damage,
                 "when the start-up check finds the event log damaged (acknowledged events lost or changed): "
                 "refuse (print the damage and exit 3) or read-only (serve reads, refuse writes with 503 "
                 "log_damaged)")
      ->capture_default_str()
      ->check(CLI::IsMember({"refuse", "read-only"}));
  if (auto rc = tally::tools::ParseArgs(app, argc, argv)) return *rc;
  auto kafka_config = tally::kafka::ParseProperties(kafka_properties);
  if (!kafka_config.ok()) {
    std::fprintf(stderr, "tallyd: --kafka-property: %s\n", kafka_config.error().message().c_str());
    return 2;
  }

  auto instance = tally::domain::ParseInstance(instance_name);
  if (!instance.ok()) {
    std::fprintf(stderr, "tallyd: --instance: %s\n", instance.error().message().c_str());
    return 2;
  }
  auto catalog = tally::domain::Catalog::Load(catalog_path);
  if (!catalog.ok()) {
    std::fprintf(stderr, "tallyd: %s\n", catalog.error().ToString().c_str());
    return 2;
  }
  if (catalog->ForInstance(*instance).empty()) {
    std::fprintf(stderr, "tallyd: the catalog %s has no offers for the %s instance\n",
                 catalog_path.c_str(), instance_name.c_str());
    return 2;
  }

  const size_t colon = listen.rfind(':');
  uint16_t port = 0;
  {
    const std::string digits = colon == std::string::npos ? "" : listen.substr(colon + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (colon == std::string::npos || colon == 0 || digits.empty() || ec != std::errc() ||
        end != digits.data() + digits.size()) {
      std::fprintf(stderr, "tallyd: --listen must be HOST:PORT (port 0-65535), got '%s'\n", listen.c_str());
      return 2;
    }
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  // Block the stop signals before any thread starts, so that only sigwait sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  if (ec) {
    std::fprintf(stderr, "tallyd: cannot create %s: %s\n", data.c_str(), ec.message().c_str());
    return 2;
  }
  // The one clock: events are stamped with it and commands decide by it.
  std::unique_ptr<tally::SimulatedClock> simulated;
  if (clock_spec != "real") {
    auto start = clock_spec.starts_with("simulated:") ? tally::projections::ParseUtcTime(clock_spec.substr(10))
                                                       : tally::Result<int64_t>(tally::Error(
                                                             tally::ErrorCode::kInvalidArgument, "unknown clock"));
    if (!start.ok()) {
      std::fprintf(stderr, "tallyd: --clock must be real or simulated:YYYY-MM-DDTHH:MM:SSZ (%s)\n",
                   start.error().message().c_str());
      return 2;
    }
    simulated = std::make_unique<tally::SimulatedClock>(*start);
  }
  tally::RocksDbEventLogOptions log_options;
  if (simulated) log_options.clock = simulated.get();
  log_options.min_free_bytes = min_free_mib << 20;
  const std::string log_dir = data + "/log";
  const bool kafka_witness = !kafka_bootstrap.empty();  // the embedded Kafka is emptied at every start
  // The log's witnesses, asked when a damaged WAL is met and at the start-up check.
  tally::StartCheckOptions check;
  check.log_dir = log_dir;
  check.kafka = kafka_witness;
  check.topic = kafka_topic;
  check.kafka_config = {{"bootstrap.servers", kafka_bootstrap}, {"client.id", "tallyd-check"}};
  check.kafka_config.insert(check.kafka_config.end(), kafka_config->begin(), kafka_config->end());
  auto log = tally::RocksDbEventLog::Open(log_dir, log_options);
  if (!log.ok() && log.error().code() == tally::ErrorCode::kCorruption) {
    // RocksDB refused a damaged write-ahead log: where do its good records
    // end, and what did the witnesses see?
    std::fprintf(stderr, "tallyd: the event log's storage is damaged: %s\n", log.error().message().c_str());
    auto salvaged = tally::RocksDbEventLog::OpenReadOnly(log_dir, /*salvage_wal=*/true);
    if (!salvaged.ok()) {
      std::fprintf(stderr, "tallyd: it cannot be read even to its last good record: %s\n",
                   salvaged.error().ToString().c_str());
      tally::PrintDamageAdvice(data, kafka_witness, kafka_bootstrap, kafka_topic);
      return 3;
    }
    const uint64_t good = (*salvaged)->Head();
    std::string seen;
    if (tally::OnlyAnUnacknowledgedTailIsDamaged(good, data, check, seen)) {
      // Writes a crash cut short before their sync: never acknowledged.
      // Dropped (a copy kept), as RocksDB drops a torn last record.
      salvaged->reset();
      auto kept = tally::tools::KeepDamagedCopy(log_dir);
      if (kept.ok()) {
        tally::RocksDbEventLogOptions salvage = log_options;
        salvage.salvage_wal = true;
        log = tally::RocksDbEventLog::Open(log_dir, salvage);
      }
      if (!kept.ok() || !log.ok()) {
        std::fprintf(stderr, "tallyd: %s\n", (kept.ok() ? log.error() : kept.error()).ToString().c_str());
        return 2;
      }
      std::fprintf(stderr,
                   "tallyd: WARNING: the write-ahead log ends in damaged records after position %llu, beyond "
                   "everything acknowledged (%s): writes a crash cut short before their sync. Dropped; the log as "
                   "it was is kept in %s\n",
                   static_cast<unsigned long long>(good), seen.c_str(), kept->c_str());
    } else {
      auto mark = tally::ReadHeadMark(log_dir);
      const uint64_t marked = mark.ok() && mark->has_value() ? (*mark)->position : 0;
      tally::LogDamage damage{good + 1, std::max(good + 1, marked), "write-ahead log",
                              "unreadable after position " + std::to_string(good) +
                                  (marked > good ? " (the head mark saw " + std::to_string(marked) + " durable)" : "") +
                                  ": " + log.error().message()};
      std::fprintf(stderr, "tallyd: the event log is DAMAGED:\ntallyd:   %s\n", damage.ToString().c_str());
      (*salvaged)->damage().Report(std::move(damage));
      if (on_damage == "refuse") {
        tally::PrintDamageAdvice(data, kafka_witness, kafka_bootstrap, kafka_topic);
        return 3;
      }
      std::fprintf(stderr, "tallyd: --on-damage=read-only: serving the log up to position %llu, refusing writes\n",
                   static_cast<unsigned long long>(good));
      log = std::move(salvaged);
    }
  }
  if (!log.ok()) {
    std::fprintf(stderr, "tallyd: %s\n", log.error().ToString().c_str());
    return 2;
  }
  if (simulated && (*log)->Head() > 0) {  // time never goes back, across restarts too
    auto last = (*log)->Read((*log)->Head(), 1);
    auto envelope = last.ok() && !last->empty() ? tally::events::VerifyEnvelope(last->front().envelope)
                                                : tally::Result<const tally::events::Envelope*>(nullptr);
    if (envelope.ok() && *envelope != nullptr && (*envelope)->recorded_at_us() > simulated->NowMicros()) {
      std::fprintf(stderr, "tallyd: --clock %s is before the log's last event (%s)\n", clock_spec.c_str(),
                   tally::projections::FormatUtcTime((*envelope)->recorded_at_us()).c_str());
      return 2;
    }
  }
  auto store = tally::projections::ProjectionStore::Open(data + "/projections", tally::projections::ModelNames());
  if (!store.ok()) {
    std::fprintf(stderr, "tallyd: %s\n", store.error().ToString().c_str());
    return 2;
  }
  tally::projections::LogEventSource source(**log);
  auto runner_owner = std::make_unique<tally::projections::ProjectionRunner>(source, **store);
  auto& runner = *runner_owner;
  for (const auto& model : tally::projections::ModelNames()) {
    auto added = runner.Add(tally::projections::MakeProjection(model, **store, (*store)->Active(model), source.Keys()));
    if (!added.ok()) {
      std::fprintf(stderr, "tallyd: %s\n", added.error().ToString().c_str());
      return 2;
    }
  }
  {
    // Before anything is served or published: the log against its witnesses.
    auto damaged = tally::CheckLogAtStart(**log, runner.Statuses(), check);
    if (!damaged.ok()) {
      std::fprintf(stderr, "tallyd: the start-up check of the event log could not read it: %s\n",
                   damaged.error().ToString().c_str());
      return 2;
    }
    (*log)->damage().PrintFindings();  // what readers find from now on
    if (*damaged) {
      if (on_damage == "refuse") {
        tally::PrintDamageAdvice(data, kafka_witness, kafka_bootstrap, kafka_topic);
        return 3;
      }
      std::fprintf(stderr, "tallyd: --on-damage=read-only: serving reads, refusing writes (503 log_damaged)\n");
    }
  }
  runner.Start();
  tally::domain::RandomIdSource ids;
  tally::CommandProcessor processor(**log, *catalog, *instance, ids, customer_cache);
  tally::GroupCommitWriterOptions writer_options;
  writer_options.on_commit = [&runner](uint64_t) { runner.Notify(); };
  tally::GroupCommitWriter writer(**log, writer_options);
  std::printf("tallyd: instance %s, %zu offers from %s; %s\n", instance_name.c_str(),
              catalog->ForInstance(*instance).size(), catalog_path.c_str(), tally::AllocatorName().c_str());
  std::printf("tallyd: event log %s/log open, head position %llu\n", data.c_str(),
              static_cast<unsigned long long>((*log)->Head()));
  for (const auto& m : runner.Statuses()) {
    std::printf("tallyd: read model %s (copy %llu) at position %llu, catching up in the background\n",
                m.model.c_str(), static_cast<unsigned long long>(m.generation),
                static_cast<unsigned long long>(m.checkpoint.position));
  }
  auto partners = tally::server::PartnerDirectory::Load(data + "/partners.json");
  if (!partners.ok()) {
    std::fprintf(stderr, "tallyd: %s\n", partners.error().ToString().c_str());
    return 2;
  }
  if ((*partners)->size() == 0) {
    auto dev = (*partners)->Add("dev");
    if (!dev.ok()) {
      std::fprintf(stderr, "tallyd: %s\n", dev.error().ToString().c_str());
      return 2;
    }
    // Shown this once; only its hash is kept.
    std::printf("tallyd: no partner yet: created partner 'dev' (id %s); its token, shown only now:\n"
                "TALLY_TOKEN=%s\n",
                dev->first.id.c_str(), dev->second.c_str());
  }
  // Operators of the /admin API: none until `tallyctl operators add NAME`
  // (read again when the file changes).
  auto operators = tally::server::PartnerDirectory::Load(data + "/operators.json");
  if (!operators.ok()) {
    std::fprintf(stderr, "tallyd: %s\n", operators.error().ToString().c_str());
    return 2;
  }
  std::unique_ptr<tally::kafka::EmbeddedKafka> embedded_kafka;
  if (kafka_bootstrap.empty()) {
    auto started = tally::kafka::EmbeddedKafka::Start(1, kafka_topic, kafka_partitions);
    if (!started.ok()) {
      std::fprintf(stderr, "tallyd: %s\n", started.error().ToString().c_str());
      return 2;
    }
    embedded_kafka = std::move(*started);
    kafka_bootstrap = embedded_kafka->bootstraps();
    std::printf("tallyd: embedded Kafka (in memory; emptied at every start, then refilled from the log) "
                "at %s, topic %s with %d partitions\n",
                kafka_bootstrap.c_str(), kafka_topic.c_str(), kafka_partitions);
  } else {
    std::printf("tallyd: Kafka at %s, topic %s\n", kafka_bootstrap.c_str(), kafka_topic.c_str());
  }
  tally::kafka::RelayOptions relay_options;
  relay_options.topic = kafka_topic;
  relay_options.config = {{"bootstrap.servers", kafka_bootstrap}, {"client.id", "tallyd-relay"}};
  relay_options.config.insert(relay_options.config.end(), kafka_config->begin(), kafka_config->end());
  tally::kafka::Relay relay(**log, relay_options);
  tally::ControlServer control(**log, source, **store, runner);
  control.SetRelay(&relay, kafka_topic, kafka_bootstrap);
  control.SetCommands(processor, writer);
  if (auto started = control.Start(tally::tools::ControlSocketPath(data)); !started.ok()) {
    std::fprintf(stderr, "tallyd: %s\n", started.error().ToString().c_str());
    return 2;
  }
  std::printf("tallyd: control socket %s (tallyctl rebuild and backup use it)\n",
              tally::tools::ControlSocketPath(data).c_str());
  tally::server::ApiContext api_context;
  api_context.processor = &processor;
  api_context.writer = &writer;
  api_context.catalog = &*catalog;
  api_context.instance = *instance;
  api_context.log = log->get();
  api_context.simulated_clock = simulated.get();
  api_context.store = store->get();
  api_context.runner = &runner;
  api_context.partners = partners->get();
  api_context.operators = operators->get();
  api_context.forget = [&control](const std::string& customer, const std::string& reason,
                                  const tally::domain::CommandMeta& meta) -> tally::Result<tally::server::ErasureResult> {
    auto r = control.ForgetCustomer(customer, reason, meta);
    if (!r.ok()) return r.error();
    return tally::server::ErasureResult{r->customer_id, r->position, r->erased_before};
  };
  api_context.rebuild = [&control](const std::vector<std::string>& models,
                                   const std::function<void(uint64_t, uint64_t)>& progress) {
    return control.RebuildModels(models, progress);
  };
  api_context.relay = &relay;
  api_context.kafka_bootstrap = kafka_bootstrap;
  api_context.kafka_topic = kafka_topic;
  // Time drives commands: renewals, expiry, disable and delete at their dates.
  tally::SchedulerOptions scheduler_options;
  if (simulated) scheduler_options.tick = std::chrono::milliseconds(1000);
  tally::Scheduler scheduler(processor, writer, **log, **store, runner, scheduler_options);
  api_context.on_clock_moved = [&scheduler] { scheduler.Wake(); };
  api_context.more_metrics = [&scheduler](std::string& out) {
    const tally::SchedulerStats s = scheduler.Stats();
    tally::server::AppendHelp(out, "tally_scheduler_passes_total", "counter", "Passes of the lifecycle scheduler.");
    tally::server::AppendSample(out, "tally_scheduler_passes_total", "", static_cast<double>(s.passes));
    tally::server::AppendHelp(out, "tally_scheduler_steps_total", "counter",
                              "Lifecycle steps (renew, expire, disable, delete) the scheduler took.");
    tally::server::AppendSample(out, "tally_scheduler_steps_total", "", static_cast<double>(s.steps));
    tally::server::AppendHelp(out, "tally_scheduler_failures_total", "counter",
                              "Lifecycle steps answered with an error (retried at the next pass).");
    tally::server::AppendSample(out, "tally_scheduler_failures_total", "", static_cast<double>(s.failures));
  };
  tally::server::Api api(api_context);
  tally::server::HttpServerOptions http_options;
  http_options.threads = http_threads;
  const tally::ConnectionBudget budget = tally::BudgetConnections(max_connections);
  http_options.max_connections = budget.max_connections;
  std::printf("tallyd: %s\n", budget.note.c_str());
  tally::server::HttpServer server(api, http_options);
  // The one shutdown order, after a signal or a failed start. (Before this
  // point a failed start leaves it to the destructors: nothing was served.)
  auto shut_down = [&] {
    api.Stop();        // finishes an erasure in progress and answers it; refuses new ones
    server.Stop();     // stops accepting; requests in flight are answered (a no-op if never started)
    control.Stop();    // waits for a rebuild in progress
    scheduler.Stop();  // finishes its pass (its commands are answered)
    writer.Stop();     // finishes queued commands
    runner.Stop();     // finishes the batch it is applying; the rest is applied at the next start
    relay.Stop();      // waits (bounded) for records in flight; the rest is sent at the next start
  };
  auto bound = server.Start(host, port);
  if (!bound.ok()) {
    std::fprintf(stderr, "tallyd: --listen %s: %s\n", listen.c_str(), bound.error().ToString().c_str());
    shut_down();
    return 2;
  }
  const std::string url_host = host.find(':') == std::string::npos ? host : "[" + host + "]";
  std::printf("tallyd: HTTP API on http://%s:%u\n", url_host.c_str(), static_cast<unsigned>(*bound));
  std::printf("tallyd: console on http://%s:%u/console/ (sign in with a partner's or an operator's token)\n",
              url_host.c_str(), static_cast<unsigned>(*bound));
  scheduler.Start();
  std::printf("tallyd: running; SIGINT or SIGTERM stops\n");
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop, &sig);
  std::printf("tallyd: signal %d, stopping\n", sig);
  shut_down();
  runner_owner.reset();  // before the store: its models hold the store's column families
  store->reset();
  log->reset();
  std::printf("tallyd: stopped\n");
  return 0;
}
