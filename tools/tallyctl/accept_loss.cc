#include "tools/tallyctl/accept_loss.h"

#include <cstdio>
#include <filesystem>
#include <random>

#include "engine/chain_verifier.h"
#include "engine/head_mark.h"
#include "engine/kafka/partition_tails.h"
#include "engine/rocksdb_event_log.h"
#include "events/codec.h"
#include "events/uuid.h"
#include "projections/projection.h"
#include "projections/store.h"
#include "tools/common/backup.h"

namespace tally {
namespace {

constexpr char kStream[] = "tally-log";

}  // namespace

int AcceptLoss(const AcceptLossOptions& options) {
  namespace fs = std::filesystem;
  if (options.reason.empty()) {
    std::fprintf(stderr, "tallyctl accept-loss: say why (--reason TEXT): it is recorded in the log\n");
    return 2;
  }
  const std::string log_dir = options.data + "/log";
  // Every witness of where the log ended.
  uint64_t highest = 0;
  std::string witnesses;
  auto saw = [&](const std::string& name, uint64_t position) {
    if (position == 0) return;
    if (position > highest) highest = position;
    witnesses += (witnesses.empty() ? "" : ", ") + name + " " + std::to_string(position);
  };
  auto mark = ReadHeadMark(log_dir);
  if (mark.ok() && mark->has_value()) saw("head mark", (*mark)->position);
  auto models = projections::ReadCheckpointPositions(options.data + "/projections", projections::ModelNames());
  if (!models.ok()) {
    std::fprintf(stderr, "tallyctl accept-loss: %s\n", models.error().ToString().c_str());
    return 2;
  }
  for (const auto& [model, position] : *models) saw("read model " + model, position);
  uint64_t topic_highest = 0;
  if (options.bootstrap.empty() && !options.no_kafka) {
    std::fprintf(stderr, "tallyctl accept-loss: name the Kafka topic tallyd published to (--bootstrap, --topic), so "
                         "that positions it holds are healed from it, not accepted as lost; or say --no-kafka\n");
    return 2;
  }
  if (!options.bootstrap.empty()) {
    kafka::Config config = {{"bootstrap.servers", options.bootstrap}};
    config.insert(config.end(), options.properties.begin(), options.properties.end());
    auto tails = kafka::ReadTopicTails(config, options.topic, 30000);
    if (!tails.ok()) {
      std::fprintf(stderr, "tallyctl accept-loss: the topic cannot be read: %s\n", tails.error().ToString().c_str());
      return 2;
    }
    for (const auto& t : *tails) topic_highest = std::max(topic_highest, t.position);
    saw("kafka topic " + options.topic, topic_highest);
  }
  auto log = RocksDbEventLog::Open(log_dir);
  if (!log.ok() && log.error().code() == ErrorCode::kCorruption) {
    std::fprintf(stderr, "tallyctl accept-loss: %s; recovering the write-ahead log to its last good record\n",
                 log.error().message().c_str());
    auto kept = tools::KeepDamagedCopy(log_dir);
    if (!kept.ok()) {
      std::fprintf(stderr, "tallyctl accept-loss: %s\n", kept.error().ToString().c_str());
      return 2;
    }
    std::fprintf(stderr, "tallyctl accept-loss: the damaged log is kept as it was in %s\n", kept->c_str());
    RocksDbEventLogOptions salvage;
    salvage.salvage_wal = true;
    log = RocksDbEventLog::Open(log_dir, salvage);
  }
  if (!log.ok()) {
    std::fprintf(stderr, "tallyctl accept-loss: %s\n", log.error().ToString().c_str());
    return 2;
  }
  const uint64_t head = (*log)->Head();
  if (highest <= head) {
    std::printf("OK: nothing is lost: the log reaches position %llu, and its witnesses saw no further (%s)\n",
                static_cast<unsigned long long>(head), witnesses.empty() ? "none" : witnesses.c_str());
    return 0;
  }
  if (topic_highest > head) {
    std::fprintf(stderr,
                 "tallyctl accept-loss: the topic %s holds positions up to %llu, beyond the log's %llu: it is a copy. "
                 "Heal from it first (tallyctl restore --from-kafka --heal); accept only what it does not hold\n",
                 options.topic.c_str(), static_cast<unsigned long long>(topic_highest),
                 static_cast<unsigned long long>(head));
    return 1;
  }
  const uint64_t first = head + 1;
  // The read models hold what the lost events did: set aside first (a
  // rerun after a crash below then still finds the loss through the head
  // mark); tallyd builds them again from the log at its next start.
  std::string set_aside;
  if (fs::exists(options.data + "/projections")) {
    set_aside = options.data + "/projections.before-loss-" + tools::UtcStamp();
    std::error_code ec;
    fs::rename(options.data + "/projections", set_aside, ec);
    if (ec) {
      std::fprintf(stderr, "tallyctl accept-loss: moving the read models aside: %s\n", ec.message().c_str());
      return 2;
    }
  }
  // One event at each lost position, in synced writes of at most
  // kChunkEvents events (memory stays bounded for a large loss).
  constexpr uint64_t kChunkEvents = 10000;
  std::random_device seed;
  std::mt19937_64 ids((static_cast<uint64_t>(seed()) << 32) ^ seed());
  const std::string partner = "operator:" + (options.operator_name.empty() ? std::string("tallyctl") : options.operator_name);
  for (uint64_t from = first; from <= highest; from += kChunkEvents) {
    const uint64_t to = std::min(highest, from + kChunkEvents - 1);
    AppendRequest request;
    request.request_id = "accept-loss-" + std::to_string(first) + "-" + std::to_string(highest) + "-at-" +
                         std::to_string(from);
    request.fingerprint = request.request_id;
    for (uint64_t p = from; p <= to; ++p) {
      flatbuffers::FlatBufferBuilder fbb;
      auto payload =
          events::CreateLogPositionsLostDirect(fbb, first, highest, witnesses.c_str(), options.reason.c_str()).Union();
      const std::string event_id = events::FormatUuidV4(ids(), ids());
      request.events.push_back(events::FinishEnvelope(
          fbb, {kStream, event_id, request.request_id, request.request_id, partner, ""},
          events::Payload::LogPositionsLost, payload));
    }
    std::vector<AppendRequest> batch;
    batch.push_back(std::move(request));
    auto appended = (*log)->AppendBatch(batch);
    if (!appended[0].ok()) {
      std::fprintf(stderr, "tallyctl accept-loss: %s\n", appended[0].error().ToString().c_str());
      return 2;
    }
  }
  auto report = VerifyChain(**log);
  if (!report.ok() || !report->ok()) {
    std::fprintf(stderr, "tallyctl accept-loss: the log does not verify: %s\n",
                 report.ok() ? report->reason.c_str() : report.error().ToString().c_str());
    return 1;
  }
  log->reset();
  // The whole chain verifies: what readers had recorded is resolved.
  if (auto aside = tools::SetRecordedDamageAside(log_dir); !aside.ok()) {
    std::fprintf(stderr, "tallyctl %s: %s\n", "accept-loss", aside.error().ToString().c_str());
    return 2;
  } else if (!aside->empty()) {
    std::fprintf(stderr, "tallyctl %s: the damage recorded beside the log is resolved (kept in %s)\n", "accept-loss", aside->c_str());
  }
  std::printf("ACCEPTED: positions %llu-%llu are lost (seen by: %s); a LogPositionsLost event now stands at each of "
              "them, so no position is given twice; the chain verifies to %llu\n",
              static_cast<unsigned long long>(first), static_cast<unsigned long long>(highest), witnesses.c_str(),
              static_cast<unsigned long long>(highest));
  if (!set_aside.empty()) {
    std::printf("the read models were set aside in %s: tallyd builds them again from the log at its next start\n",
                set_aside.c_str());
  }
  return 0;
}

}  // namespace tally
