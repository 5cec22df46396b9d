#include "tools/tallyd/server/server_status.h"

#include <optional>

namespace tally::server {

using nlohmann::json;

json DamageJson(const EventLog& log) {
  json out = json::array();
  for (const LogDamage& d : log.damage().List()) {
    out.push_back({{"firstPosition", d.first}, {"lastPosition", d.last}, {"witness", d.witness}, {"detail", d.detail}});
  }
  return out;
}

json HealthJson(const ApiContext& ctx) {
  json models = json::array();
  for (const auto& m : ctx.runner->Statuses()) {
    models.push_back({{"model", m.model}, {"position", m.checkpoint.position}, {"lag", m.lag()},
                      {"failed", m.failed}});
  }
  // Reads go on while writes are refused (a full disk): said here, with why.
  const std::optional<tally::Error> refused = ctx.log->WriteFailure();
  json writes = {{"accepted", !refused.has_value()}};
  if (refused) {
    writes["code"] = static_cast<int32_t>(refused->code());
    writes["reason"] = refused->message();
  }
  json damage = DamageJson(*ctx.log);
  const char* status = !damage.empty() ? "damaged" : refused ? "degraded" : "ok";
  json body = {{"status", status}, {"head", ctx.log->Head()}, {"damage", std::move(damage)},
               {"instance", domain::InstanceName(ctx.instance)}, {"writes", writes}, {"readModels", models},
               {"kafka_bootstrap", ctx.kafka_bootstrap}};
  if (ctx.relay != nullptr) {
    const kafka::RelayStatus r = ctx.relay->Status();
    body["kafka"] = {{"topic", ctx.kafka_topic}, {"published", r.published}, {"connected", r.connected},
                     {"lagSeconds", r.lag_seconds}, {"lastError", r.last_error},
                     // false once a partition lost its first records: a consumer
                     // from the start would miss events (README, "Kafka").
                     {"holdsWholeLog", r.truncated.empty()}, {"truncatedPartitions", r.truncated}};
  }
  return body;
}

std::string RenderMetrics(const ApiMetrics& api, const ApiContext& ctx) {
  std::string out;
  api.Render(out);
  const GroupCommitStats w = ctx.writer->Stats();
  AppendHelp(out, "tally_group_commit_syncs_total", "counter", "Synced writes of the group-commit writer.");
  AppendSample(out, "tally_group_commit_syncs_total", "", static_cast<double>(w.commits));
  AppendHelp(out, "tally_group_commit_requests_total", "counter", "Commands (and appends) the writer answered.");
  AppendSample(out, "tally_group_commit_requests_total", "", static_cast<double>(w.requests));
  AppendHelp(out, "tally_group_commit_failed_requests_total", "counter", "Requests the writer answered with an error.");
  AppendSample(out, "tally_group_commit_failed_requests_total", "", static_cast<double>(w.failed_requests));
  AppendHelp(out, "tally_events_appended_total", "counter", "Events made durable by the writer since the start.");
  AppendSample(out, "tally_events_appended_total", "", static_cast<double>(w.events));
  AppendHelp(out, "tally_group_commit_batch_size", "histogram", "Requests made durable by one sync.");
  uint64_t cumulative = 0, total = 0;
  for (size_t i = 0; i < w.commit_sizes.size(); ++i) {
    cumulative += w.commit_sizes[i];
    const uint64_t bound = GroupCommitStats::kCommitSizeBounds[i];
    AppendSample(out, "tally_group_commit_batch_size_bucket",
                 bound == UINT64_MAX ? std::string("le=\"+Inf\"") : "le=\"" + std::to_string(bound) + "\"",
                 static_cast<double>(cumulative));
  }
  total = cumulative;
  AppendSample(out, "tally_group_commit_batch_size_sum", "", static_cast<double>(w.requests));
  AppendSample(out, "tally_group_commit_batch_size_count", "", static_cast<double>(total));
  AppendHelp(out, "tally_customer_states_cached", "gauge",
             "Customers' states in memory for deciding commands (tallyd --customer-cache bounds them).");
  AppendSample(out, "tally_customer_states_cached", "", static_cast<double>(ctx.processor->cached_customers()));
  AppendHelp(out, "tally_customer_states_loaded_total", "counter",
             "Customers' states read from the log because they were not in memory.");
  AppendSample(out, "tally_customer_states_loaded_total", "", static_cast<double>(ctx.processor->customers_loaded()));
  const uint64_t head = ctx.log->Head();
  AppendHelp(out, "tally_log_damaged", "gauge",
             "1 when the event log lost or changed acknowledged events (writes are refused; /healthz says where).");
  AppendSample(out, "tally_log_damaged", "", ctx.log->damage().damaged() ? 1 : 0);
  AppendHelp(out, "tally_log_damage_reports_total", "counter",
             "Damage found in the event log since start (start-up check, readers' chain checks, verify, the relay).");
  AppendSample(out, "tally_log_damage_reports_total", "", static_cast<double>(ctx.log->damage().reports()));
  AppendHelp(out, "tally_log_head_position", "gauge", "The event log's last position.");
  AppendSample(out, "tally_log_head_position", "", static_cast<double>(head));
  AppendHelp(out, "tally_read_model_position", "gauge", "The last position applied to a read model.");
  const auto statuses = ctx.runner->Statuses();
  for (const auto& m : statuses) {
    AppendSample(out, "tally_read_model_position", "model=\"" + m.model + "\"", static_cast<double>(m.checkpoint.position));
  }
  AppendHelp(out, "tally_read_model_lag_events", "gauge", "Log head minus the read model's position.");
  for (const auto& m : statuses) {
    AppendSample(out, "tally_read_model_lag_events", "model=\"" + m.model + "\"", static_cast<double>(m.lag()));
  }
  AppendHelp(out, "tally_read_model_skipped_unknown_total", "counter", "Events of unknown types a read model skipped.");
  for (const auto& m : statuses) {
    AppendSample(out, "tally_read_model_skipped_unknown_total", "model=\"" + m.model + "\"",
                 static_cast<double>(m.checkpoint.skipped_unknown));
  }
  AppendHelp(out, "tally_read_model_failed", "gauge", "1 when a read model stopped at an event it cannot apply.");
  for (const auto& m : statuses) {
    AppendSample(out, "tally_read_model_failed", "model=\"" + m.model + "\"", m.failed ? 1 : 0);
  }
  if (ctx.relay != nullptr) {
    const kafka::RelayStatus r = ctx.relay->Status();
    AppendHelp(out, "tally_kafka_relay_published_position", "gauge",
               "Every event up to this position is acknowledged by Kafka.");
    AppendSample(out, "tally_kafka_relay_published_position", "", static_cast<double>(r.published));
    AppendHelp(out, "tally_kafka_relay_lag_events", "gauge", "Log head minus the relay's published position.");
    AppendSample(out, "tally_kafka_relay_lag_events", "", static_cast<double>(head > r.published ? head - r.published : 0));
    AppendHelp(out, "tally_kafka_relay_lag_seconds", "gauge", "Age of the oldest event Kafka has not acknowledged.");
    AppendSample(out, "tally_kafka_relay_lag_seconds", "", r.lag_seconds);
    AppendHelp(out, "tally_kafka_relay_connected", "gauge", "1 when the relay has resumed and is producing.");
    AppendSample(out, "tally_kafka_relay_connected", "", r.connected ? 1 : 0);
    AppendHelp(out, "tally_kafka_relay_sent_total", "counter", "Records Kafka acknowledged since start.");
    AppendSample(out, "tally_kafka_relay_sent_total", "", static_cast<double>(r.sent));
    AppendHelp(out, "tally_kafka_topic_truncated", "gauge",
               "1 when a partition of the topic no longer starts at offset 0 (records were dropped).");
    AppendSample(out, "tally_kafka_topic_truncated", "", r.truncated.empty() ? 0 : 1);
    AppendHelp(out, "tally_kafka_relay_reconnects_total", "counter", "Reconnects after an error since start.");
    AppendSample(out, "tally_kafka_relay_reconnects_total", "", static_cast<double>(r.reconnects));
  }
  if (ctx.more_metrics) ctx.more_metrics(out);
  return out;
}

}  // namespace tally::server
