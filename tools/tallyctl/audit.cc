// tallyctl verify, replay, history and as-of: what an auditor runs. The
// log is opened read-only (beside a running tallyd it is seen as of the
// command's start; replay --follow tails it through a secondary instance).
#include "tools/tallyctl/audit.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "engine/chain_verifier.h"
#include "engine/log_witnesses.h"
#include "engine/domain/decide.h"
#include "engine/personal/event_json.h"
#include "events/codec.h"
#include "events/json.h"
#include "projections/as_of.h"
#include "projections/projection.h"
#include "tools/common/followed_log.h"
#include "tools/common/progress.h"

namespace tally {
namespace {

volatile std::sig_atomic_t g_stop_following = 0;
extern "C" void StopFollowing(int) { g_stop_following = 1; }

void Leaves(const nlohmann::json& j, const std::string& prefix, std::string& out) {
  for (const auto& [key, value] : j.items()) {
    const std::string name = prefix.empty() ? key : prefix + "." + key;
    if (value.is_object()) {
      Leaves(value, name, out);
    } else if (value.is_array()) {
      if (!value.empty()) out += " " + name + "=" + value.dump();
    } else if (!(value.is_string() && value.get<std::string>().empty()) && key != "customer_id") {
      out += " " + name + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
}

}  // namespace

int Verify(const std::string& data, uint64_t from, uint64_t to) {
  const std::string log_dir = data + "/log";
  // The witnesses first, then the log: beside a running tallyd they may
  // only be behind the log as this command sees it, never ahead.
  std::vector<Witness> witnesses;
  if (auto models = projections::ReadCheckpointPositions(data + "/projections", projections::ModelNames()); models.ok()) {
    for (const auto& [model, position] : *models) witnesses.push_back({"read model " + model, position, ""});
  } else {
    std::fprintf(stderr, "tallyctl verify: the read models are not checked: %s\n", models.error().ToString().c_str());
  }
  auto mark = ReadHeadMark(log_dir);
  if (!mark.ok()) std::fprintf(stderr, "tallyctl verify: the head mark is unusable: %s\n", mark.error().ToString().c_str());
  const uint64_t marked = mark.ok() && mark->has_value() ? (*mark)->position : 0;
  auto opened = RocksDbEventLog::OpenReadOnly(log_dir);
  if (!opened.ok() && opened.error().code() == ErrorCode::kCorruption) {
    // A damaged write-ahead log: where do its good records end?
    auto salvaged = RocksDbEventLog::OpenReadOnly(log_dir, /*salvage_wal=*/true);
    if (!salvaged.ok()) {
      std::printf("FAILED: the log cannot be read even to its last good record: %s\n",
                  salvaged.error().ToString().c_str());
      return 1;
    }
    const uint64_t good = (*salvaged)->Head();
    std::printf("FAILED at position %llu: the write-ahead log is unreadable after position %llu%s: %s\n",
                static_cast<unsigned long long>(good + 1), static_cast<unsigned long long>(good),
                marked > good ? (" (the head mark saw " + std::to_string(marked) + " durable)").c_str() : "",
                opened.error().message().c_str());
    return 1;
  }
  if (!opened.ok()) {
    std::fprintf(stderr, "tallyctl: cannot open %s: %s\n", log_dir.c_str(), opened.error().ToString().c_str());
    return 2;
  }
  auto& log = *opened;
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
  // The chain holds; does the log still end where its witnesses saw it end
  // (a cut write-ahead log leaves a shorter log whose chain holds)? Asked
  // when the range reaches the head; recorded findings when they fall in it.
  const bool to_head = to == 0 || to >= log->Head();
  if (!to_head) {
    witnesses.clear();
    if (mark.ok()) *mark = std::nullopt;
  }
  auto checked = CheckAgainstWitnesses(*log, mark.ok() ? *mark : std::nullopt, witnesses, /*tail_without_mark=*/0);
  if (!checked.ok()) {
    std::fprintf(stderr, "tallyctl verify: %s\n", checked.error().ToString().c_str());
    return 2;
  }
  // Found earlier by a reader (the relay, a rebuild, a command's load) and
  // recorded beside the log; a heal or an accepted loss sets them aside.
  auto recorded = ReadRecordedDamage(log_dir + "/" + kDamageFile);
  if (recorded.ok()) {
    for (const LogDamage& d : *recorded) {
      if (std::find(checked->damage.begin(), checked->damage.end(), d) != checked->damage.end()) continue;  // found now
      if (d.last < from || (!to_head && d.first > last)) continue;  // outside the range asked for
      checked->damage.push_back({d.first, d.last, "recorded: " + d.witness, d.detail});
    }
  }
  if (!checked->damage.empty()) {
    const LogDamage& d = checked->damage.front();
    std::printf("FAILED at position %llu: %s\n", static_cast<unsigned long long>(d.first), d.ToString().c_str());
    for (size_t i = 1; i < checked->damage.size(); ++i) std::printf("also: %s\n", checked->damage[i].ToString().c_str());
    return 1;
  }
  std::printf("OK: %llu events verified (positions %llu..%llu) in %.2fs; the log ends where its witnesses saw it "
              "(head mark %s, %zu read models)\n",
              static_cast<unsigned long long>(report->checked),
              static_cast<unsigned long long>(from), static_cast<unsigned long long>(last), secs,
              marked ? std::to_string(marked).c_str() : "none", witnesses.size());
  return 0;
}

int Replay(const std::string& data, uint64_t from, uint64_t to, const std::string& stream,
           const ReplayFilter& filter) {
  // With --follow, a RocksDB secondary instance sees what tallyd appends.
  std::unique_ptr<tools::FollowedLog> followed;
  std::unique_ptr<RocksDbEventLog> opened;
  if (filter.follow) {
    auto f = tools::FollowedLog::Open(data);
    if (!f.ok()) {
      std::fprintf(stderr, "tallyctl replay: %s\n", f.error().ToString().c_str());
      return 2;
    }
    followed = std::move(*f);
  } else {
    opened = OpenOrDie(data);
  }
  RocksDbEventLog* log = followed ? &followed->log() : opened.get();
  const std::string& type = filter.type;
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
    if (!filter.partner.empty() &&
        ((*env)->partner_id() == nullptr || (*env)->partner_id()->string_view() != filter.partner)) {
      return true;
    }
    if (filter.since_us && (*env)->recorded_at_us() < *filter.since_us) return true;
    if (filter.until_us && (*env)->recorded_at_us() > *filter.until_us) return true;
    auto json = personal::RenderEvent(renderer, envelope, log);
    if (!json.ok()) {
      std::fprintf(stderr, "tallyctl replay: position %llu: %s\n", static_cast<unsigned long long>(position),
                   json.error().ToString().c_str());
      rc = 2;
      return false;
    }
    std::fwrite(json->data(), 1, json->size(), stdout);
    std::fputc('\n', stdout);
    return true;
  };
  if (filter.follow) {
    // Positions in order, then every 200 ms what tallyd appended since;
    // until --to is reached, Ctrl-C or SIGTERM, or the reader goes away.
    // Each of those ends the loop normally, so the follower's scratch folder goes too.
    std::signal(SIGINT, StopFollowing);
    std::signal(SIGTERM, StopFollowing);
    std::signal(SIGPIPE, SIG_IGN);
    uint64_t next = from;
    while ((to == 0 || next <= to) && !g_stop_following) {
      const uint64_t head = log->Head();
      const uint64_t last = to == 0 ? head : std::min(to, head);
      if (next <= last) {
        auto s = log->Scan(next, last, [&](const EventView& v) {
          if (!stream.empty()) {
            auto env = events::VerifyEnvelope(v.envelope);
            if (env.ok() && ((*env)->stream_id() == nullptr || (*env)->stream_id()->string_view() != stream)) {
              return true;
            }
          }
          return print(v.position, v.envelope);
        });
        if (!s.ok()) {
          std::fprintf(stderr, "tallyctl replay: %s\n", s.error().ToString().c_str());
          return 2;
        }
        if (rc != 0) return rc;
        if (std::fflush(stdout) != 0 || std::ferror(stdout)) return 0;  // the reader went away
        next = last + 1;
        continue;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (Status s = log->CatchUp(); !s.ok()) {
        std::fprintf(stderr, "tallyctl replay: %s\n", s.error().ToString().c_str());
        return 2;
      }
    }
    return rc;
  }
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

int AsOfCmd(const std::string& data, const std::string& customer, const std::string& time) {
  auto at = projections::ParseUtcTime(time);
  if (!at.ok()) {
    std::fprintf(stderr, "tallyctl as-of: %s\n", at.error().message().c_str());
    return 2;
  }
  auto log = OpenOrDie(data);
  auto as_of = projections::CustomerAsOf(*log, customer, *at);
  if (!as_of.ok()) {
    std::fprintf(stderr, "tallyctl as-of: %s\n", as_of.error().ToString().c_str());
    return 2;
  }
  std::printf("%s\n", projections::AsOfJson(*as_of, *at).dump(2).c_str());
  return 0;
}

// "key=value" for every non-empty leaf of `j`, nested keys joined by '.'.
int HistoryCmd(const std::string& data, const std::string& customer) {
  auto log = OpenOrDie(data);
  auto id = projections::ResolveCustomer(*log, customer);
  if (!id.ok()) {
    std::fprintf(stderr, "tallyctl history: %s\n", id.error().ToString().c_str());
    return 2;
  }
  auto events = log->ReadStream(domain::CustomerStreamId(*id), 1, SIZE_MAX);
  if (!events.ok()) {
    std::fprintf(stderr, "tallyctl history: %s\n", events.error().ToString().c_str());
    return 2;
  }
  if (events->empty()) {
    std::fprintf(stderr, "tallyctl history: no customer %s\n", customer.c_str());
    return 2;
  }
  events::JsonRenderer renderer;
  std::printf("customer %s: %zu events\n", id->c_str(), events->size());
  for (const auto& e : *events) {
    auto rendered = personal::RenderEvent(renderer, e.envelope, log.get());
    if (!rendered.ok()) {
      std::fprintf(stderr, "tallyctl history: position %llu: %s\n", static_cast<unsigned long long>(e.position),
                   rendered.error().ToString().c_str());
      return 2;
    }
    const auto j = nlohmann::json::parse(*rendered);
    std::string what;
    Leaves(j.value("payload", nlohmann::json::object()), "", what);
    const std::string when = projections::FormatUtcTime(j.value("recorded_at_us", int64_t{0}));
    std::printf("%s  #%-6llu %-14s %s%s%s\n", when.substr(0, 19).append("Z").c_str(),
                static_cast<unsigned long long>(e.position), j.value("partner_id", "").c_str(),
                j.value("payload_type", "").c_str(), what.c_str(),
                j.value("request_id", "").empty() ? "" : ("  (request " + j.value("request_id", "") + ")").c_str());
  }
  return 0;
}

}  // namespace tally
