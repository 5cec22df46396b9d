#include "tools/tallyd/log_check.h"

#include <chrono>
#include <cstdio>

#include "engine/kafka/partition_tails.h"
#include "projections/projection.h"
#include "projections/store.h"

namespace tally {

Result<bool> CheckLogAtStart(const EventLog& log, const std::vector<projections::ModelStatus>& models,
                     const StartCheckOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  std::optional<HeadMarkEntry> mark;
  if (auto read = ReadHeadMark(options.log_dir); read.ok()) {
    mark = *read;
  } else {
    // A torn mark is not damage to the log: the check goes on without it.
    std::fprintf(stderr, "tallyd: the head mark is unusable (%s); checking without it\n",
                 read.error().ToString().c_str());
  }
  std::vector<Witness> witnesses;
  for (const auto& m : models) witnesses.push_back({"read model " + m.model, m.checkpoint.position, ""});
  std::string kafka_note = "no Kafka witness (embedded Kafka)";
  if (options.kafka) {
    auto tails = kafka::ReadTopicTails(options.kafka_config, options.topic, options.kafka_timeout_ms);
    if (tails.ok()) {
      uint64_t highest = 0;
      for (size_t p = 0; p < tails->size(); ++p) {
        const kafka::PartitionTail& t = (*tails)[p];
        if (t.position == 0) continue;
        highest = std::max(highest, t.position);
        witnesses.push_back({"kafka topic " + options.topic + " partition " + std::to_string(p), t.position, t.event_id});
      }
      kafka_note = "Kafka topic " + options.topic + " up to position " + std::to_string(highest);
    } else {
      kafka_note = "Kafka not checked (" + tails.error().message() + ")";
    }
  }
  // What readers found before a restart (log_damage.h): damage until healed.
  auto recorded = ReadRecordedDamage(options.log_dir + "/" + kDamageFile);
  if (!recorded.ok()) return recorded.error();
  auto report = CheckAgainstWitnesses(log, mark, witnesses);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (!report.ok()) return report.error();  // not damage: the log could not be read (I/O)
  std::printf("tallyd: event log checked in %.0f ms: head %llu, head mark %s, %zu read models, %s; chain verified "
              "from %llu (%s)\n",
              ms, static_cast<unsigned long long>(report->head),
              mark ? std::to_string(mark->position).c_str() : "none", models.size(), kafka_note.c_str(),
              static_cast<unsigned long long>(report->verified_from), report->anchor.c_str());
  for (const LogDamage& d : *recorded) {
    log.damage().Report(d);
    report->damage.push_back({d.first, d.last, "recorded: " + d.witness, d.detail});
  }
  if (report->damage.empty()) return false;
  std::fprintf(stderr, "tallyd: the event log is DAMAGED (head %llu):\n", static_cast<unsigned long long>(report->head));
  for (const auto& d : report->damage) std::fprintf(stderr, "tallyd:   %s\n", d.ToString().c_str());
  return true;
}

bool OnlyAnUnacknowledgedTailIsDamaged(uint64_t good_head, const std::string& data,
                                       const StartCheckOptions& options, std::string& seen) {
  auto mark = ReadHeadMark(options.log_dir);
  if (!mark.ok() || !mark->has_value()) {
    seen = "no head mark";
    return false;
  }
  uint64_t highest = (*mark)->position;
  seen = "head mark " + std::to_string(highest);
  if (auto models = projections::ReadCheckpointPositions(data + "/projections", projections::ModelNames());
      models.ok()) {
    for (const auto& [model, position] : *models) {
      highest = std::max(highest, position);
      seen += ", read model " + model + " " + std::to_string(position);
    }
  }
  if (options.kafka) {
    auto tails = kafka::ReadTopicTails(options.kafka_config, options.topic, options.kafka_timeout_ms);
    if (!tails.ok()) {
      seen += ", Kafka not reachable";
      return false;  // the topic may hold what the log lost
    }
    uint64_t topic = 0;
    for (const auto& t : *tails) topic = std::max(topic, t.position);
    highest = std::max(highest, topic);
    seen += ", Kafka topic " + std::to_string(topic);
  }
  return good_head >= highest;
}

void PrintDamageAdvice(const std::string& data, bool kafka, const std::string& bootstrap, const std::string& topic) {
  std::fprintf(stderr,
               "tallyd: no write was accepted and nothing was published from the damaged log. To heal it from a Kafka "
               "topic that holds what is missing (tallyd stopped):\n"
               "tallyd:   tallyctl restore --from-kafka --bootstrap %s --topic %s --heal --data %s\n"
               "tallyd: With no copy, accept the loss explicitly (recorded in the log; the read models are rebuilt):\n"
               "tallyd:   tallyctl accept-loss --data %s --reason TEXT%s\n"
               "tallyd: (README, \"Damage to the log\"). --on-damage=read-only serves reads meanwhile.\n",
               kafka ? bootstrap.c_str() : "BOOTSTRAP", topic.c_str(), data.c_str(), data.c_str(),
               kafka ? (" --bootstrap " + bootstrap + " --topic " + topic).c_str() : " --no-kafka");
}

}  // namespace tally
