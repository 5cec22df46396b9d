// tallyctl: the operators' and auditors' command line.
//
//   tallyctl verify  [--data DIR] [--from N] [--to N]
//   tallyctl replay  [--data DIR] [--from N] [--to N] [--stream ID] [--type NAME]
//   tallyctl status  [--data DIR]
//
// Works on a data folder, opened read-only (so it may run beside tallyd; it
// then sees the log as of its own start). Exit codes: 0 ok, 1 verification
// failed, 2 usage or I/O error.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <map>

#include "engine/chain_verifier.h"
#include "engine/rocksdb_event_log.h"
#include "events/codec.h"
#include "events/json.h"
#include "tools/common/progress.h"
#include "tools/common/cli.h"

namespace tally {
namespace {

std::unique_ptr<RocksDbEventLog> OpenOrDie(const std::string& data) {
  auto log = RocksDbEventLog::OpenReadOnly(data + "/log");
  if (!log.ok()) {
    std::fprintf(stderr, "tallyctl: cannot open %s/log: %s\n", data.c_str(),
                 log.error().ToString().c_str());
    std::exit(2);
  }
  return std::move(*log);
}

int Verify(const std::string& data, uint64_t from, uint64_t to) {
  auto log = OpenOrDie(data);
  const uint64_t last = (to == 0 || to > log->Head()) ? log->Head() : to;
  tools::Progress progress("verify", last >= from ? last - from + 1 : 0);
  auto report = VerifyChain(*log, from, to, [&](uint64_t n) { progress.Update(n); });
  progress.Done();
  if (!report.ok()) {
    std::fprintf(stderr, "tallyctl verify: %s\n", report.error().ToString().c_str());
    return 2;
  }
  const double secs = progress.Elapsed();
  if (!report->ok()) {
    std::printf("FAILED at position %llu: %s (%llu records checked)\n",
                static_cast<unsigned long long>(report->first_bad), report->reason.c_str(),
                static_cast<unsigned long long>(report->checked));
    return 1;
  }
  std::printf("OK: %llu events verified (positions %llu..%llu) in %.2fs\n",
              static_cast<unsigned long long>(report->checked),
              static_cast<unsigned long long>(from), static_cast<unsigned long long>(last), secs);
  return 0;
}

int Replay(const std::string& data, uint64_t from, uint64_t to, const std::string& stream,
           const std::string& type) {
  auto log = OpenOrDie(data);
  events::JsonRenderer renderer;
  int rc = 0;
  auto print = [&](uint64_t position, std::string_view envelope) {
    auto env = events::VerifyEnvelope(envelope);
    if (!env.ok()) {
      std::fprintf(stderr, "tallyctl replay: position %llu: %s\n",
                   static_cast<unsigned long long>(position), env.error().ToString().c_str());
      rc = 2;
      return false;
    }
    if (!type.empty() && events::EventTypeName((*env)->payload_type()) != type) return true;
    auto json = renderer.Render(envelope);
    if (!json.ok()) {
      rc = 2;
      return false;
    }
    std::fwrite(json->data(), 1, json->size(), stdout);
    std::fputc('\n', stdout);
    return true;
  };
  if (!stream.empty()) {
    // One call: ReadStream walks the stream's index from its start, so
    // paging would repeat that walk per page.
    auto events = log->ReadStream(stream, 1, SIZE_MAX);
    if (!events.ok()) {
      std::fprintf(stderr, "tallyctl replay: %s\n", events.error().ToString().c_str());
      return 2;
    }
    for (const auto& e : *events) {
      if (e.position < from || (to != 0 && e.position > to)) continue;
      if (!print(e.position, e.envelope)) return rc;
    }
    return rc;
  }
  auto s = log->Scan(from, to == 0 ? log->Head() : to,
                     [&](const EventView& v) { return print(v.position, v.envelope); });
  if (!s.ok()) {
    std::fprintf(stderr, "tallyctl replay: %s\n", s.error().ToString().c_str());
    return 2;
  }
  return rc;
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
  replay->add_option("--stream", stream, "only this stream, e.g. customer-<id>");
  replay->add_option("--type", type, "only this event type, e.g. CustomerCreated");

  if (auto rc = tally::tools::ParseArgs(app, argc, argv)) return *rc;
  if (*verify) return tally::Verify(data, from, to);
  if (*replay) return tally::Replay(data, from, to, stream, type);
  if (*status) return tally::StatusCmd(data);
  return 2;
}
