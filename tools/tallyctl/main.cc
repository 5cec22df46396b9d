// tallyctl: the operators' and auditors' command line.
//
//   tallyctl verify  [--data DIR] [--from N] [--to N]
//   tallyctl replay  [--data DIR] [--from N] [--to N] [--stream ID] [--type NAME]
//   tallyctl status  [--data DIR]
//   tallyctl project [--data DIR]                 bring the read models up to the log's head
//   tallyctl rebuild MODEL... [--data DIR]         blue/green rebuild (customer, license, relationship, billing, all)
//   tallyctl as-of CUSTOMER TIME [--data DIR]      one customer's state at a time, as JSON
//   tallyctl charges --customer C --from D --to D [--as-of T] [--csv]   billing lines for a billing clerk
//   tallyctl backup DIR [--data DIR]               consistent backup (through tallyd when it runs)
//   tallyctl restore DIR --data NEWDIR             restore into a new folder, then verify the chain
//   tallyctl restore --from-kafka --bootstrap LIST --data NEWDIR (--keys FILE | --without-keys) [--partners FILE]
//                                                  rebuild the log from the topic alone, verify it, project it
//   tallyctl restore --from-kafka --bootstrap LIST --heal --data DIR [--keys FILE]
//                                                  heal a damaged log from the topic (tallyd stopped)
//   tallyctl accept-loss --reason TEXT [--data DIR] (--bootstrap LIST [--topic T] | --no-kafka)
//                                                  record that a damaged log's lost positions are gone
//   tallyctl keys export FILE [--data DIR]         back up the customers' personal-data keys (mode 0600)
//
// The log is always opened read-only (so these may run beside tallyd; they
// then see the log as of their own start). project and rebuild write the
// read models, so they need the folder's projection store, which a running
// tallyd holds: they then ask tallyd to do it (see ControlClient).
// Exit codes: 0 ok, 1 verification failed, 2 usage or I/O error.
#include <CLI/CLI.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>

#include "engine/command_processor.h"
#include "engine/domain/decide.h"
#include "engine/domain/ids.h"
#include "engine/rocksdb_event_log.h"
#include "tools/tallyd/server/partners.h"
#include "events/codec.h"
#include "projections/as_of.h"
#include "tools/tallyctl/charges.h"
#include "projections/rebuild.h"
#include "tools/common/backup.h"
#include "tools/common/cli.h"
#include "tools/common/control.h"
#include "tools/common/forget.h"
#include "tools/common/progress.h"
#include "tools/tallyctl/audit.h"
#include "tools/tallyctl/consume.h"
#include "tools/tallyctl/accept_loss.h"
#include "tools/tallyctl/restore_kafka.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace tally {

std::unique_ptr<RocksDbEventLog> OpenOrDie(const std::string& data) {
  auto log = RocksDbEventLog::OpenReadOnly(data + "/log");
  if (!log.ok()) {
    std::fprintf(stderr, "tallyctl: cannot open %s/log: %s\n", data.c_str(),
                 log.error().ToString().c_str());
    std::exit(2);
  }
  return std::move(*log);
}

std::unique_ptr<projections::ProjectionStore> OpenStoreOrDie(const std::string& data, bool read_only) {
  projections::ProjectionStoreOptions options;
  options.read_only = read_only;
  auto store = projections::ProjectionStore::Open(data + "/projections", projections::ModelNames(), options);
  if (!store.ok()) {
    std::fprintf(stderr, "tallyctl: cannot open the read models in %s/projections: %s\n", data.c_str(),
                 store.error().ToString().c_str());
    std::exit(2);
  }
  return std::move(*store);
}

namespace {

// The --kafka-property values of `command` as librdkafka properties in
// `out`; false, after saying which one is malformed, otherwise.
bool KafkaProperties(const char* command, const std::vector<std::string>& given, kafka::Config& out) {
  auto properties = kafka::ParseProperties(given);
  if (!properties.ok()) {
    std::fprintf(stderr, "tallyctl %s: %s\n", command, properties.error().message().c_str());
    return false;
  }
  out = std::move(*properties);
  return true;
}

// Applies `log` to the read models in `store` up to its head. Returns the
// events applied, or nullopt after printing the error.
std::optional<uint64_t> CatchUpModels(const RocksDbEventLog& log, projections::ProjectionStore& store, size_t batch,
                                      bool progress_lines) {
  projections::LogEventSource source(log);
  projections::RunnerOptions options;
  options.batch_events = batch;
  projections::ProjectionRunner runner(source, store, options);
  for (const auto& model : projections::ModelNames()) {
    Status added = runner.Add(projections::MakeProjection(model, store, store.Active(model), source.Keys()));
    if (!added.ok()) {
      std::fprintf(stderr, "tallyctl project: %s\n", added.error().ToString().c_str());
      return std::nullopt;
    }
  }
  uint64_t from = log.Head();
  for (const auto& s : runner.Statuses()) from = std::min(from, s.checkpoint.position);
  tools::Progress progress("project", log.Head() - from);
  Status s = runner.CatchUp(log.Head(), [&](uint64_t position) {
    progress.Update(position - from);
    if (progress_lines) {
      std::printf("at %llu\n", static_cast<unsigned long long>(position));
      std::fflush(stdout);
    }
  });
  progress.Done();
  if (!s.ok()) {
    std::fprintf(stderr, "tallyctl project: %s\n", s.error().ToString().c_str());
    return std::nullopt;
  }
  return log.Head() - from;
}

// Applies the log to the read models up to its head (a stopped folder).
int Project(const std::string& data, size_t batch, bool progress_lines) {
  auto log = OpenOrDie(data);
  auto store = OpenStoreOrDie(data, false);
  const auto start = std::chrono::steady_clock::now();
  auto applied = CatchUpModels(*log, *store, batch, progress_lines);
  if (!applied) return 2;
  std::printf("OK: read models at position %llu (%llu events applied in %.2fs)\n",
              static_cast<unsigned long long>(log->Head()), static_cast<unsigned long long>(*applied),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}

// Sends one request to a running tallyd (tools/common/control.h) and
// returns its last line ("ok ..." or "error ..."), handing "progress" lines
// to `on_progress`. Returns nullopt when no tallyd listens on the folder's
// control socket.
std::optional<std::string> AskTallyd(const std::string& data, const std::string& request,
                                     const std::function<void(uint64_t)>& on_progress) {
  const std::string path = tools::ControlSocketPath(data);
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return std::nullopt;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return std::nullopt;  // no tallyd (or a stale socket file)
  }
  const std::string line_out = request + "\n";
  if (send(fd, line_out.data(), line_out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line_out.size())) {
    close(fd);
    return std::string("error cannot talk to tallyd on " + path);
  }
  std::string line, last;
  char c = 0;
  while (recv(fd, &c, 1, 0) == 1) {
    if (c != '\n') {
      line.push_back(c);
      continue;
    }
    unsigned long long position = 0, total = 0;
    if (std::sscanf(line.c_str(), "progress %llu %llu", &position, &total) == 2) {
      on_progress(position);
    } else {
      last = line;
    }
    line.clear();
  }
  close(fd);
  return last.empty() ? std::string("error tallyd gave no answer") : last;
}

std::optional<int> RebuildThroughTallyd(const std::string& data, const std::vector<std::string>& models,
                                        uint64_t head) {
  std::string request = "rebuild";
  for (const auto& m : models) request += " " + m;
  tools::Progress progress("rebuild (in tallyd)", head);
  auto answer = AskTallyd(data, request, [&](uint64_t position) { progress.Update(position); });
  progress.Done();
  if (!answer) return std::nullopt;
  if (*answer == "ok") {
    std::printf("OK: tallyd rebuilt %zu read model(s) in %.2fs and swapped them in\n", models.size(),
                progress.Elapsed());
    return 0;
  }
  std::fprintf(stderr, "tallyctl rebuild: tallyd says: %s\n", answer->c_str());
  return 2;
}

int BackupCmd(const std::string& data, const std::string& dir) {
  std::error_code ec;
  const std::string target = std::filesystem::absolute(dir, ec).lexically_normal().string();
  if (auto answer = AskTallyd(data, "backup " + target, [](uint64_t) {})) {
    if (answer->rfind("ok ", 0) == 0) {
      std::printf("OK: tallyd backed the log up to position %s into %s\n", answer->c_str() + 3, target.c_str());
      return 0;
    }
    std::fprintf(stderr, "tallyctl backup: tallyd says: %s\n", answer->c_str());
    return 2;
  }
  // No tallyd: the folder is stopped; open it for writing (a checkpoint
  // needs a writable database) and back it up here.
  auto log = RocksDbEventLog::Open(data + "/log");
  if (!log.ok()) {
    std::fprintf(stderr, "tallyctl backup: %s\n", log.error().ToString().c_str());
    return 2;
  }
  std::unique_ptr<projections::ProjectionStore> store;
  if (std::filesystem::exists(data + "/projections")) store = OpenStoreOrDie(data, false);
  auto manifest = tools::CreateBackup(**log, store.get(), target);
  if (!manifest.ok()) {
    std::fprintf(stderr, "tallyctl backup: %s\n", manifest.error().ToString().c_str());
    return 2;
  }
  std::printf("OK: backed the log up to position %llu into %s\n",
              static_cast<unsigned long long>(manifest->head), target.c_str());
  return 0;
}

int RestoreCmd(const std::string& data, const std::string& dir) {
  auto report = tools::RestoreBackup(dir, data);
  if (!report.ok()) {
    std::fprintf(stderr, "tallyctl restore: %s\n", report.error().ToString().c_str());
    return report.error().code() == ErrorCode::kCorruption ? 1 : 2;
  }
  std::printf("OK: restored %s into %s; %llu events verified, head %llu matches the backup\n", dir.c_str(),
              data.c_str(), static_cast<unsigned long long>(report->verified),
              static_cast<unsigned long long>(report->manifest.head));
  return 0;
}

int RebuildCmd(const std::string& data, std::vector<std::string> models, size_t bulk_events) {
  if (models.size() == 1 && models[0] == "all") models = projections::ModelNames();
  const auto& known = projections::ModelNames();
  for (const auto& m : models) {
    if (std::find(known.begin(), known.end(), m) == known.end()) {
      std::string names;
      for (const auto& k : known) names += k + ", ";
      std::fprintf(stderr, "tallyctl rebuild: no read model named '%s' (%sall)\n", m.c_str(), names.c_str());
      return 2;
    }
  }
  auto log = OpenOrDie(data);
  if (auto through_tallyd = RebuildThroughTallyd(data, models, log->Head())) {
    if (bulk_events > 0) std::fprintf(stderr, "tallyctl rebuild: --bulk-events applies to a stopped folder only; tallyd rebuilt through its memtables\n");
    return *through_tallyd;
  }
  auto store = OpenStoreOrDie(data, false);
  projections::LogEventSource source(*log);
  tools::Progress progress("rebuild", log->Head());
  projections::RebuildOptions options;
  options.progress = [&](uint64_t position, uint64_t) { progress.Update(position); };
  options.bulk_events = bulk_events;
  Status s = projections::Rebuild(source, *store, models, nullptr, options);
  progress.Done();
  if (!s.ok()) {
    std::fprintf(stderr, "tallyctl rebuild: %s\n", s.error().ToString().c_str());
    return 2;
  }
  for (const auto& m : models) {
    std::printf("OK: %s rebuilt to position %llu (copy %llu) in %.2fs\n", m.c_str(),
                static_cast<unsigned long long>(log->Head()),
                static_cast<unsigned long long>(store->Active(m)->generation()), progress.Elapsed());
  }
  return 0;
}


void PrintForgotten(const tools::ForgetResult& r, const char* by) {
  if (r.erased_before) {
    std::printf("OK: customer %s had its personal data erased before; nothing to do\n", r.customer_id.c_str());
    return;
  }
  std::printf("OK: %s erased the personal data of customer %s: its key is destroyed, "
              "CustomerPersonalDataErased is at position %llu, the read models no longer show it\n",
              by, r.customer_id.c_str(), static_cast<unsigned long long>(r.position));
}

// Erases a customer's personal data: through a running tallyd, or on the
// stopped folder (then the read models are brought up to date here too).
int ForgetCmd(const std::string& data, const std::string& customer, const std::string& reason) {
  if (auto answer = AskTallyd(data, tools::ForgetRequest(customer, reason), [](uint64_t) {})) {
    auto result = tools::ParseForgetAnswer(*answer);
    if (!result.ok()) {
      std::fprintf(stderr, "tallyctl forget: tallyd says: %s\n", result.error().message().c_str());
      return 2;
    }
    PrintForgotten(*result, "tallyd");
    return 0;
  }
  std::error_code ec;
  if (!std::filesystem::exists(data + "/log", ec)) {
    std::fprintf(stderr, "tallyctl forget: no event log in %s\n", data.c_str());
    return 2;
  }
  auto log = RocksDbEventLog::Open(data + "/log");
  if (!log.ok()) {
    std::fprintf(stderr, "tallyctl forget: %s\n", log.error().ToString().c_str());
    return 2;
  }
  auto id = projections::ResolveCustomer(**log, customer);
  if (!id.ok()) {
    std::fprintf(stderr, "tallyctl forget: %s\n", id.error().ToString().c_str());
    return 2;
  }
  // ForgetCustomer reads neither the catalog nor the instance.
  const domain::Catalog no_offers;
  domain::RandomIdSource ids;
  CommandProcessor processor(**log, no_offers, domain::Instance::kGlobal, ids);
  auto outcome = processor.Execute(domain::ForgetCustomer{*id, reason}, {domain::kOperatorId, "", ""});
  if (!outcome.ok()) {
    std::fprintf(stderr, "tallyctl forget: %s\n", outcome.error().ToString().c_str());
    return 2;
  }
  std::unique_ptr<projections::ProjectionStore> store;
  if (std::filesystem::exists(data + "/projections", ec)) {
    store = OpenStoreOrDie(data, false);
    if (!CatchUpModels(**log, *store, 16384, false)) return 2;
  }
  if (Status s = tools::PurgeErasedCopies(**log, store.get(), *id); !s.ok()) {
    std::fprintf(stderr, "tallyctl forget: the key is destroyed; purging old copies failed: %s\n",
                 s.error().ToString().c_str());
    return 2;
  }
  PrintForgotten({*id, outcome->last_position, outcome->last_position == 0}, "tallyctl");
  return 0;
}

// The Kafka relay lives in a running tallyd: ask it.
void PrintRelayState(const std::string& data) {
  auto answer = AskTallyd(data, "relay", [](uint64_t) {});
  if (!answer) {
    std::printf("kafka relay: tallyd is not running (its relay resumes from Kafka at the next start)\n");
    return;
  }
  unsigned long long published = 0, head = 0;
  double lag_seconds = 0;
  int connected = 0, consumed = 0;
  char topic[256] = {0}, bootstrap[1024] = {0}, truncated[1024] = {0};
  if (std::sscanf(answer->c_str(), "ok %llu %llu %lf %d %255s %1023s %1023s %n", &published, &head, &lag_seconds,
                  &connected, topic, bootstrap, truncated, &consumed) < 7) {
    std::printf("kafka relay: %s\n", answer->c_str());
    return;
  }
  const std::string error = consumed > 0 ? answer->substr(consumed) : "";
  std::printf("kafka relay: topic %s at %s, %s; published through %llu of %llu (lag %llu events, %.3f s)%s%s\n",
              topic, bootstrap, connected ? "connected" : "NOT connected", published, head,
              head > published ? head - published : 0ULL, lag_seconds, error.empty() ? "" : "; last error: ",
              error.c_str());
  if (std::string(truncated) != "-") {
    std::printf("kafka topic: NOT the whole log: partitions no longer start at offset 0 (partition@first offset: "
                "%s); a consumer reading from the start misses events\n",
                truncated);
  }
}

int StatusCmd(const std::string& data) {
  auto log = OpenOrDie(data);
  std::map<std::string, uint64_t> by_type;
  auto s = log->Scan(1, log->Head(), [&](const EventView& v) {
    auto env = events::VerifyEnvelope(v.envelope);
    ++by_type[env.ok() ? std::string(events::EventTypeName((*env)->payload_type())) : "(corrupt)"];
    return true;
  });
  if (!s.ok()) {
    std::fprintf(stderr, "tallyctl status: %s\n", s.error().ToString().c_str());
    return 2;
  }
  std::printf("log head: %llu\n", static_cast<unsigned long long>(log->Head()));
  std::printf("events by type:\n");
  for (const auto& [name, n] : by_type) {
    std::printf("  %-32s %llu\n", name.c_str(), static_cast<unsigned long long>(n));
  }
  projections::ProjectionStoreOptions options;
  options.read_only = true;
  auto store = projections::ProjectionStore::Open(data + "/projections", projections::ModelNames(), options);
  if (!store.ok()) {
    std::printf("read models: none yet (%s)\n", store.error().message().c_str());
    return 0;
  }
  PrintRelayState(data);
  std::printf("read models:\n");
  for (const auto& model : projections::ModelNames()) {
    auto copy = (*store)->Active(model);
    auto checkpoint = (*store)->ReadCheckpoint(*copy);
    if (!checkpoint.ok()) {
      std::printf("  %-14s unreadable checkpoint: %s\n", model.c_str(), checkpoint.error().message().c_str());
      continue;
    }
    std::printf("  %-14s copy %llu, at position %llu, lag %llu, %llu unknown events skipped\n", model.c_str(),
                static_cast<unsigned long long>(copy->generation()),
                static_cast<unsigned long long>(checkpoint->position),
                static_cast<unsigned long long>(log->Head() - std::min(log->Head(), checkpoint->position)),
                static_cast<unsigned long long>(checkpoint->skipped_unknown));
  }
  return 0;
}

// `kind`: "partners" (API callers) or "operators" (the /admin API).
int TokenAdd(const std::string& data, const std::string& kind, const std::string& name) {
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  auto directory = server::PartnerDirectory::Load(data + "/" + kind + ".json");
  if (!directory.ok()) {
    std::fprintf(stderr, "tallyctl %s add: %s\n", kind.c_str(), directory.error().ToString().c_str());
    return 2;
  }
  auto added = (*directory)->Add(name);
  if (!added.ok()) {
    std::fprintf(stderr, "tallyctl %s add: %s\n", kind.c_str(), added.error().message().c_str());
    return 2;
  }
  // The token is shown this once; only its SHA-256 is kept.
  std::fprintf(stderr, "%s '%s' added; its bearer token (shown only now) is on stdout\n",
               kind == "partners" ? "partner" : "operator", added->first.id.c_str());
  std::printf("%s\n", added->second.c_str());
  return 0;
}

}  // namespace
}  // namespace tally

int main(int argc, char** argv) {
  CLI::App app{"tallyctl: audit and operate a tally data folder"};
  app.require_subcommand(1);
  std::string data = "./var";
  uint64_t from = 1, to = 0;
  std::string stream, type;

  auto* verify = app.add_subcommand("verify", "recompute the hash chain and verify every event");
  auto* replay = app.add_subcommand("replay", "print events as JSON lines");
  auto* status = app.add_subcommand("status", "log head and events per type");
  for (auto* sub : {verify, replay, status}) {
    sub->add_option("--data", data, "data folder (tallyd --data)")->capture_default_str();
  }
  for (auto* sub : {verify, replay}) {
    sub->add_option("--from", from, "first position")->check(CLI::PositiveNumber);
    sub->add_option("--to", to, "last position (default: the head)");
  }
  size_t batch = 16384;
  auto* project = app.add_subcommand("project", "apply the log to the read models up to its head");
  project->add_option("--batch", batch, "events per write")->capture_default_str()->check(CLI::PositiveNumber);
  bool progress_lines = false;
  project->add_flag("--progress-lines", progress_lines, "print 'at POSITION' (with --from-kafka: 'applied EVENTS') after each write, for scripts");
  bool from_kafka = false;
  tally::ConsumeOptions project_kafka;
  project_kafka.group = "tally-projections";
  std::vector<std::string> project_properties;
  project->add_flag("--from-kafka", from_kafka, "feed the read models from the Kafka topic, not the log");
  project->add_option("--bootstrap", project_kafka.bootstrap, "with --from-kafka: Kafka bootstrap.servers");
  project->add_option("--topic", project_kafka.topic, "with --from-kafka: the topic")->capture_default_str();
  project->add_option("--group", project_kafka.group, "with --from-kafka: the consumer group projecting processes share")
      ->capture_default_str();
  project->add_flag("--exit-at-end", project_kafka.exit_at_end, "with --from-kafka: stop at the end of the assigned partitions");
  project->add_option("--property", project_properties, "with --from-kafka: librdkafka property KEY=VALUE (repeatable)");
  std::vector<std::string> models;
  auto* rebuild = app.add_subcommand("rebuild", "rebuild read models beside the live ones, then swap");
  rebuild->add_option("models", models, "customer, license, relationship, billing, or all")->required();
  size_t bulk_events = 0;
  rebuild->add_option("--bulk-events", bulk_events,
                      "stopped folder only: fold this many events in memory, then load the rows as sorted table "
                      "files (faster, ~2.4 GiB peak for 1048576 on 5M events; 0: through the memtable)")
      ->capture_default_str();
  std::string customer, time;
  auto* as_of = app.add_subcommand("as-of", "one customer's state at a time (JSON)");
  as_of->add_option("customer", customer, "customer id or domain")->required();
  as_of->add_option("time", time, "YYYY-MM-DD (end of that day, UTC) or YYYY-MM-DDTHH:MM:SS[.ffffff]Z")
      ->required();
  std::string history_customer;
  auto* history = app.add_subcommand("history", "one customer's story: who did what and when");
  std::string charges_customer, charges_from, charges_to, charges_as_of;
  bool charges_csv = false;
  auto* charges = app.add_subcommand("charges", "one customer's billing lines between two dates (the billing model)");
  charges->add_option("--customer", charges_customer, "customer id or domain")->required();
  charges->add_option("--from", charges_from, "YYYY-MM-DD (from that day) or YYYY-MM-DDTHH:MM:SS[.ffffff]Z")->required();
  charges->add_option("--to", charges_to, "YYYY-MM-DD (through that day) or YYYY-MM-DDTHH:MM:SS[.ffffff]Z")->required();
  charges->add_option("--as-of", charges_as_of, "the lines as they were then: YYYY-MM-DD (end of day) or a UTC date-time");
  charges->add_flag("--csv", charges_csv, "CSV with a header line, amounts in major units");
  history->add_option("customer", history_customer, "customer id or domain")->required();
  std::string backup_dir;
  auto* backup = app.add_subcommand("backup", "consistent backup of the log and read models into a new folder");
  backup->add_option("dir", backup_dir, "backup folder (must not exist)")->required();
  auto* restore = app.add_subcommand("restore", "restore a backup (or the Kafka topic) into a new data folder and verify it");
  restore->add_option("dir", backup_dir, "backup folder");
  bool restore_from_kafka = false;
  tally::RestoreFromKafkaOptions restore_kafka;
  std::vector<std::string> restore_properties;
  restore->add_flag("--from-kafka", restore_from_kafka, "rebuild the log from the Kafka topic alone (no backup folder)");
  restore->add_option("--bootstrap", restore_kafka.bootstrap, "with --from-kafka: Kafka bootstrap.servers");
  restore->add_option("--topic", restore_kafka.topic, "with --from-kafka: the topic")->capture_default_str();
  restore->add_option("--keys", restore_kafka.keys_file, "with --from-kafka: a key backup (tallyctl keys export)");
  restore->add_flag("--without-keys", restore_kafka.without_keys,
                    "with --from-kafka and no key backup: personal fields stay unreadable (shown as erased)");
  restore->add_flag("--heal", restore_kafka.heal,
                    "with --from-kafka: heal the damaged log in --data from the topic (keeps a copy of it, compares "
                    "what it holds with the topic, appends what it lost; tallyd stopped; --keys optional)");
  restore->add_option("--partners", restore_kafka.partners_file,
                      "with --from-kafka: a partners.json to copy (partner and operator tokens are not in the topic)");
  restore->add_option("--property,--kafka-property", restore_properties,
                      "with --from-kafka: librdkafka property KEY=VALUE (repeatable)");
  auto* keys = app.add_subcommand("keys", "the customers' personal-data keys");
  keys->require_subcommand(1);
  std::string keys_out;
  auto* keys_export = keys->add_subcommand("export", "write every key record to a new file (mode 0600): a key backup");
  keys_export->add_option("file", keys_out, "the file to write (must not exist)")->required();
  auto* consume = app.add_subcommand("consume", "follow the Kafka topic as a consumer group; events as JSON lines");
  tally::ConsumeOptions consume_options;
  std::vector<std::string> consume_properties;
  consume->add_option("--bootstrap", consume_options.bootstrap,
                      "Kafka bootstrap.servers (tallyd prints its embedded one; also in GET /healthz)")->required();
  consume->add_option("--topic", consume_options.topic)->capture_default_str();
  consume->add_option("--group", consume_options.group, "consumer group (offsets are committed)")->capture_default_str();
  consume->add_option("--type", consume_options.type, "only this event type");
  consume->add_option("--customer", consume_options.customer, "only this customer id (the record key)");
  consume->add_flag("--exit-at-end", consume_options.exit_at_end, "stop once the assigned partitions are read to their end");
  consume->add_option("--property", consume_properties, "extra librdkafka property KEY=VALUE (repeatable)");
  auto* forget = app.add_subcommand("forget", "erase a customer's personal data (destroys its key; history stays)");
  std::string forget_customer, forget_reason = "erasure requested";
  forget->add_option("customer", forget_customer, "customer id or domain")->required();
  forget->add_option("--reason", forget_reason, "recorded in the CustomerPersonalDataErased event (no personal data)")
      ->capture_default_str();
  consume->add_option("--keys-from", consume_options.keys_from,
                      "data folder of the tallyd whose keys open personal fields (else shown as sealed)");
  project->add_option("--keys-from", project_kafka.keys_from,
                      "with --from-kafka: data folder of the tallyd whose keys open personal fields");
  auto* partners = app.add_subcommand("partners", "API partners and their bearer tokens");
  partners->require_subcommand(1);
  std::string partner_name;
  auto* partners_add = partners->add_subcommand("add", "add a partner; prints its new token once");
  partners_add->add_option("name", partner_name, "partner id: 1-64 letters, digits, '-', '_', '.'")->required();
  auto* operators = app.add_subcommand("operators", "operators of the /admin API (erasure) and their bearer tokens");
  operators->require_subcommand(1);
  std::string operator_name;
  auto* operators_add = operators->add_subcommand("add", "add an operator; prints its new token once");
  operators_add->add_option("name", operator_name, "operator name: 1-64 letters, digits, '-', '_', '.'")->required();
  for (auto* sub : {project, rebuild, as_of, history, charges, backup, restore, partners_add, operators_add, forget,
                    keys_export}) {
    sub->add_option("--data", data, "data folder (tallyd --data)")->capture_default_str();
  }
  replay->add_option("--stream", stream, "only this stream, e.g. customer-<id>");
  replay->add_option("--type", type, "only this event type, e.g. CustomerCreated");
  std::string replay_customer, replay_partner, since, until;
  replay->add_option("--customer", replay_customer, "only this customer's stream (its id)")->excludes("--stream");
  replay->add_option("--partner", replay_partner, "only events of commands by this partner");
  replay->add_option("--since", since, "only events recorded at or after: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.ffffff]Z");
  replay->add_option("--until", until, "only events recorded at or before (a date alone: the end of that day)");
  bool follow = false;
  replay->add_flag("--follow", follow, "after the head, keep printing what tallyd appends (until --to, or Ctrl-C)");

  tally::AcceptLossOptions accept;
  std::vector<std::string> accept_properties;
  auto* accept_loss = app.add_subcommand(
      "accept-loss",
      "record, with tallyd stopped, that positions a damaged log lost are gone for good (no copy holds them): "
      "one LogPositionsLost event at each, read models set aside to be rebuilt");
  accept_loss->add_option("--data", data, "data folder (tallyd --data)")->capture_default_str();
  accept_loss->add_option("--reason", accept.reason, "why, in the operator's words (recorded in the log)")->required();
  accept_loss->add_option("--operator", accept.operator_name, "who accepts it (recorded as operator:NAME)");
  accept_loss->add_option("--bootstrap", accept.bootstrap,
                          "the Kafka topic's bootstrap.servers: checked first (a topic holding lost positions is a "
                          "copy: heal from it instead)");
  accept_loss->add_option("--topic", accept.topic, "with --bootstrap: the topic")->capture_default_str();
  accept_loss->add_flag("--no-kafka", accept.no_kafka,
                        "no topic to check: tallyd published to its embedded Kafka only, or the topic is gone");
  accept_loss->add_option("--property,--kafka-property", accept_properties,
                          "with --bootstrap: librdkafka property KEY=VALUE (repeatable)");

  if (auto rc = tally::tools::ParseArgs(app, argc, argv)) return *rc;
  if (*verify) return tally::Verify(data, from, to);
  if (*accept_loss) {
    if (!tally::KafkaProperties("accept-loss", accept_properties, accept.properties)) return 2;
    accept.data = data;
    return tally::AcceptLoss(accept);
  }
  if (*replay) {
    tally::ReplayFilter filter{type, replay_partner, std::nullopt, std::nullopt, follow};
    for (auto [text, target] : {std::pair{&since, &filter.since_us}, std::pair{&until, &filter.until_us}}) {
      if (text->empty()) continue;
      auto t = tally::projections::ParseUtcTime(*text);
      if (!t.ok()) {
        std::fprintf(stderr, "tallyctl replay: %s\n", t.error().message().c_str());
        return 2;
      }
      *target = *t;
    }
    if (filter.since_us && !since.empty() && since.size() == 10) *filter.since_us -= 86'400'000'000LL - 1;  // the start of that day
    if (!replay_customer.empty()) stream = "customer-" + replay_customer;
    return tally::Replay(data, from, to, stream, filter);
  }
  if (*status) return tally::StatusCmd(data);
  if (*project && from_kafka) {
    if (project_kafka.bootstrap.empty()) {
      std::fprintf(stderr, "tallyctl project: --from-kafka needs --bootstrap\n");
      return 2;
    }
    if (!tally::KafkaProperties("project", project_properties, project_kafka.properties)) return 2;
    project_kafka.batch = batch;
    project_kafka.progress_lines = progress_lines;
    return tally::ProjectFromKafka(data, project_kafka);
  }
  if (*project) return tally::Project(data, batch, progress_lines);
  if (*rebuild) return tally::RebuildCmd(data, models, bulk_events);
  if (*as_of) return tally::AsOfCmd(data, customer, time);
  if (*charges) return tally::ChargesCmd(data, charges_customer, charges_from, charges_to, charges_as_of, charges_csv);
  if (*history) return tally::HistoryCmd(data, history_customer);
  if (*backup) return tally::BackupCmd(data, backup_dir);
  if (*restore && restore_from_kafka) {
    if (!backup_dir.empty() || restore_kafka.bootstrap.empty()) {
      std::fprintf(stderr, "tallyctl restore: --from-kafka takes --bootstrap and no backup folder\n");
      return 2;
    }
    if (!tally::KafkaProperties("restore", restore_properties, restore_kafka.properties)) return 2;
    restore_kafka.data = data;
    if (restore_kafka.heal) return tally::HealFromKafka(restore_kafka);  // tallyd's start catches the models up
    if (const int rc = tally::RestoreFromKafka(restore_kafka); rc != 0) return rc;
    return tally::Project(data, batch, false);  // the read models, from the restored log
  }
  if (*restore) {
    if (backup_dir.empty()) {
      std::fprintf(stderr, "tallyctl restore: name the backup folder (or --from-kafka)\n");
      return 2;
    }
    return tally::RestoreCmd(data, backup_dir);
  }
  if (*keys_export) return tally::KeysExport(data, keys_out);
  if (*partners_add) return tally::TokenAdd(data, "partners", partner_name);
  if (*operators_add) return tally::TokenAdd(data, "operators", operator_name);
  if (*forget) return tally::ForgetCmd(data, forget_customer, forget_reason);
  if (*consume) {
    if (!tally::KafkaProperties("consume", consume_properties, consume_options.properties)) return 2;
    return tally::Consume(consume_options);
  }
  return 2;
}
