// What tallyd says of itself: GET /healthz (the log's head, whether writes
// are accepted, each read model's position and lag, the Kafka relay) and
// GET /metrics (Prometheus text: the API's counters and the engine's figures).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tools/tallyd/server/api_context.h"
#include "tools/tallyd/server/metrics.h"

namespace tally::server {

// The body of GET /healthz and GET /readyz. `status` is "ok", "degraded"
// (writes refused for a while: a full disk) or "damaged" (the log lost or
// changed acknowledged events: `damage` lists what was found, and writes are
// refused until an operator heals it).
nlohmann::json HealthJson(const ApiContext& ctx);

// The damage the log has seen, as /healthz and /admin/v1/verify show it.
nlohmann::json DamageJson(const EventLog& log);

// The body of GET /metrics: `api`'s metrics, then the engine's.
std::string RenderMetrics(const ApiMetrics& api, const ApiContext& ctx);

}  // namespace tally::server
