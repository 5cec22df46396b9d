#include "projections/rebuild.h"

#include <algorithm>

namespace tally::projections {

Status Rebuild(EventSource& source, ProjectionStore& store, const std::vector<std::string>& models,
               ProjectionRunner* live, const RebuildOptions& options) {
  RunnerOptions runner_options;
  runner_options.batch_events = options.batch_events;
  runner_options.wal = false;
  runner_options.bulk_events = options.bulk_events;
  ProjectionRunner builder(source, store, runner_options);
  std::vector<std::shared_ptr<const Copy>> copies;
  auto abandon = [&](const Error& error) -> Status {
    for (const auto& model : models) builder.Release(model);
    for (const auto& copy : copies) IgnoreError(store.Discard(copy));
    return error;
  };
  for (const auto& model : models) {
    auto copy = store.CreateCopy(model);
    if (!copy.ok()) return abandon(copy.error());
    copies.push_back(*copy);
    auto projection = MakeProjection(model, store, *copy, source.Keys());
    if (projection == nullptr) return abandon(Error(ErrorCode::kInvalidArgument, "no read model named " + model));
    Status added = builder.Add(std::move(projection));
    if (!added.ok()) return abandon(added.error());
  }
  // Catch up in rounds until the head moves less than a batch while a round
  // runs: the rest is done during the hand-over.
  for (;;) {
    const uint64_t head = source.Head();
    Status s = builder.CatchUp(head, [&](uint64_t position) {
      if (options.progress) options.progress(position, source.Head());
    });
    if (!s.ok()) return abandon(s.error());
    if (source.Head() - head < options.batch_events) break;
  }
  for (size_t i = 0; i < models.size(); ++i) {
    auto projection = builder.Release(models[i]);
    Status s = live != nullptr ? live->Replace(std::move(projection)) : store.Activate(copies[i]);
    if (!s.ok()) {
      // Models handed over before this one stay rebuilt; this one and the
      // rest keep their live copies.
      for (size_t j = i; j < copies.size(); ++j) IgnoreError(store.Discard(copies[j]));
      for (size_t j = i + 1; j < models.size(); ++j) builder.Release(models[j]);
      return s;
    }
  }
  return OkStatus();
}

}  // namespace tally::projections
