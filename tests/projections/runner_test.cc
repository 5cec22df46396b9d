// The runner's rules: unknown event types are skipped and counted; an event
// that cannot be applied stops that model there (and only that model); the
// checkpoint survives a restart; the tail thread serves read-your-writes;
// blue/green rebuilds swap atomically while the old copy stays readable.
#include <gtest/gtest.h>

#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "engine/group_commit_writer.h"
#include "events/codec.h"
#include "events/samples.h"
#include "projections/customer/customer.h"
#include "projections/license/license.h"
#include "projections/rebuild.h"
#include "tests/projections/projection_fixture.h"

namespace tally::projections {
namespace {

using namespace tally::testing;  // NOLINT

class RunnerTest : public ProjectionFixture {
 protected:
  // Appends one raw envelope (no domain checks) to `customer_id`'s stream.
  uint64_t AppendRaw(events::Payload type, const std::string& customer_id,
                     const std::function<flatbuffers::Offset<void>(flatbuffers::FlatBufferBuilder&)>& payload) {
    flatbuffers::FlatBufferBuilder fbb;
    auto offset = payload(fbb);
    const std::string stream = "customer-" + customer_id;
    const std::string event_id = "e-" + std::to_string(log_->Head() + 1);
    events::EnvelopeFields f;
    f.stream_id = stream;
    f.event_id = event_id;
    f.partner_id = "p1";
    f.customer_id = customer_id;
    AppendRequest r;
    r.events.push_back(events::FinishEnvelope(fbb, f, type, offset));
    auto out = log_->AppendBatch(std::span(&r, 1));
    EXPECT_TRUE(out[0].ok()) << out[0].error().ToString();
    return out[0].ok() ? out[0]->last_position : 0;
  }

  ModelStatus StatusOf(const std::string& model) {
    for (const auto& s : runner_->Statuses()) {
      if (s.model == model) return s;
    }
    ADD_FAILURE() << "no status for " << model;
    return {};
  }

  std::map<std::string, Rows> DumpAll() {
    std::map<std::string, Rows> all;
    for (const auto& m : ModelNames()) all[m] = Dump(m);
    return all;
  }

  void RunSomeCommands(uint64_t seed, int n) {
    tools::Workload workload(seed);
    for (int i = 0; i < n; ++i) {
      auto [command, meta] = workload.Next(*processor_);
      meta.request_id += "-" + std::to_string(seed);
      workload.Learn(command, processor_->Execute(command, meta));
    }
  }
};

TEST_F(RunnerTest, UnknownEventTypesAreSkippedAndCounted) {
  const std::string c = Ok(ValidAddCustomer("contoso"), Meta("p1")).customer_id;
  const uint64_t unknown = AppendRaw(static_cast<events::Payload>(200), c, [](auto& fbb) {
    return events::CreateSubscriptionSuspendedDirect(fbb, "s-1").Union();
  });
  Ok(ValidAddCustomer("fabrikam"), Meta("p2"));  // (the processor's cache knows nothing of raw appends)
  CatchUp();
  for (const auto& model : ModelNames()) {
    const ModelStatus s = StatusOf(model);
    EXPECT_FALSE(s.failed) << model << ": " << s.error;
    EXPECT_EQ(s.checkpoint.position, log_->Head()) << model;
    EXPECT_EQ(s.checkpoint.skipped_unknown, 1u) << model;
    EXPECT_EQ(s.checkpoint.events, log_->Head()) << model;
  }
  EXPECT_GT(log_->Head(), unknown) << "events after the unknown one are applied";
  // The count is part of the checkpoint: it survives a restart.
  OpenStore();
  EXPECT_EQ(StatusOf("license").checkpoint.skipped_unknown, 1u);
}

TEST_F(RunnerTest, AnEventThatCannotBeAppliedStopsThatModelThere) {
  OpenStore(RunnerOptions{.parallel_min_events = 1});  // the models apply on threads of their own
  const std::string c = Ok(ValidAddCustomer("contoso"), Meta("p1")).customer_id;
  CatchUp();
  const uint64_t before = log_->Head();
  const uint64_t bad = AppendRaw(events::Payload::SubscriptionSuspended, c, [](auto& fbb) {
    return events::CreateSubscriptionSuspendedDirect(fbb, "no-such-subscription").Union();
  });
  Ok(ValidAddCustomer("fabrikam"), Meta("p2"));  // (the processor's cache knows nothing of raw appends)

  Status s = runner_->CatchUp(UINT64_MAX);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("license"), std::string::npos) << s.error().message();
  EXPECT_NE(s.error().message().find(std::to_string(bad)), std::string::npos) << s.error().message();
  const ModelStatus license = StatusOf("license");
  EXPECT_TRUE(license.failed);
  EXPECT_EQ(license.failed_position, bad);
  EXPECT_EQ(license.checkpoint.position, before) << "nothing at or after the bad event is applied";
  EXPECT_NE(license.error.find("no-such-subscription"), std::string::npos) << license.error;
  EXPECT_EQ(license.lag(), log_->Head() - before);
  for (const char* other : {"customer", "relationship"}) {
    EXPECT_FALSE(StatusOf(other).failed) << other;
    EXPECT_EQ(StatusOf(other).checkpoint.position, log_->Head()) << other;
  }
  // Deterministic: after a restart it stops at the same event again.
  OpenStore();
  EXPECT_EQ(StatusOf("license").checkpoint.position, before);
  EXPECT_FALSE(runner_->CatchUp(UINT64_MAX).ok());
  EXPECT_EQ(StatusOf("license").failed_position, bad);
}

TEST_F(RunnerTest, ACheckpointSurvivesARestartAndTheResultEqualsARebuild) {
  OpenStore(RunnerOptions{.batch_events = 7, .parallel_min_events = 1});
  RunSomeCommands(1, 150);
  ASSERT_TRUE(runner_->CatchUp(log_->Head() / 2).ok());
  const uint64_t half = StatusOf("customer").checkpoint.position;
  EXPECT_GE(half, log_->Head() / 2);
  EXPECT_LT(half, log_->Head());
  OpenStore(RunnerOptions{.batch_events = 11});
  EXPECT_EQ(StatusOf("customer").checkpoint.position, half) << "resumes after its checkpoint";
  RunSomeCommands(2, 150);
  CatchUp();
  auto incremental = DumpAll();

  ASSERT_TRUE(Rebuild(*source_, *store_, ModelNames(), runner_.get()).ok());
  for (const auto& m : ModelNames()) {
    EXPECT_EQ(store_->Active(m)->generation(), 2u) << m;
    EXPECT_TRUE(Dump(m) == incremental[m]) << m << ": incremental and rebuilt rows differ";
  }
}

TEST_F(RunnerTest, TheTailThreadServesReadYourWrites) {
  GroupCommitWriterOptions options;
  options.on_commit = [this](uint64_t) { runner_->Notify(); };
  runner_->Start();
  {
    GroupCommitWriter writer(*log_, options);
    std::promise<Result<CommandOutcome>> done;
    writer.Submit(processor_->Task(ValidAddCustomer("contoso"), Meta("p1"),
                                   [&](Result<CommandOutcome> r) { done.set_value(std::move(r)); }));
    auto outcome = done.get_future().get();
    ASSERT_TRUE(outcome.ok());
    ASSERT_TRUE(runner_->WaitFor("customer", outcome->last_position, std::chrono::seconds(10)));
    auto row = CustomerReader(*store_).Get(outcome->customer_id);
    ASSERT_TRUE(row.ok() && row->has_value()) << "visible once WaitFor says so";
    EXPECT_EQ((*row)->domain, "contoso.onmicrosoft.com");
  }
  EXPECT_FALSE(runner_->WaitFor("customer", log_->Head() + 1, std::chrono::milliseconds(50)))
      << "a position not yet written times out";
  EXPECT_FALSE(runner_->WaitFor("no-such-model", 1, std::chrono::milliseconds(50)));
  runner_->Stop();
}

// A read that must wait for its own write parks with WhenApplied instead of
// holding a thread: answered by the tail thread once every model has the
// position, by the timer at the deadline, at once when already there.
TEST_F(RunnerTest, WhenAppliedAnswersWithoutAnyoneWaiting) {
  Ok(ValidAddCustomer("contoso"), Meta("p1"));
  const uint64_t written = log_->Head();
  ASSERT_GT(written, 0u);
  const auto far = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::promise<bool> parked, expired;
  // The runner has not started: nothing can be applied yet.
  runner_->WhenApplied(written, far, [&](bool reached) { parked.set_value(reached); });
  runner_->WhenApplied(written + 1000, std::chrono::steady_clock::now() + std::chrono::milliseconds(20),
                       [&](bool reached) { expired.set_value(reached); });
  auto parked_answer = parked.get_future();
  EXPECT_EQ(parked_answer.wait_for(std::chrono::seconds(0)), std::future_status::timeout) << "answered too early";
  EXPECT_FALSE(runner_->Applied(written));
  // The deadline passes with no runner running: the timer answers false.
  auto expired_answer = expired.get_future();
  ASSERT_EQ(expired_answer.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_FALSE(expired_answer.get());
  EXPECT_EQ(parked_answer.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  // The tail applies the event: the parked read is answered true.
  runner_->Start();
  runner_->Notify();
  ASSERT_EQ(parked_answer.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_TRUE(parked_answer.get());
  EXPECT_TRUE(runner_->Applied(written));
  // Already applied: answered on the calling thread, before WhenApplied returns.
  bool inline_answer = false;
  runner_->WhenApplied(written, far, [&](bool reached) { inline_answer = reached; });
  EXPECT_TRUE(inline_answer);
  // Stopping answers what still waits (false), so no caller is left hanging.
  std::promise<bool> at_stop;
  runner_->WhenApplied(written + 5000, far, [&](bool reached) { at_stop.set_value(reached); });
  runner_->Stop();
  runner_.reset();
  auto stop_answer = at_stop.get_future();
  ASSERT_EQ(stop_answer.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_FALSE(stop_answer.get());
}

TEST_F(RunnerTest, ARebuildWhileTheTailRunsSwapsAtomically) {
  RunSomeCommands(3, 300);
  CatchUp();
  std::shared_ptr<const Copy> old_copy = store_->Active("customer");
  const std::string some_customer = CustomerReader(*store_).ListForPartner("p1", 1, "")->items.at(0).id;
  runner_->Start();
  std::atomic<bool> stop{false};
  std::thread writes([&] {
    // More commands (and a notify per command) while the rebuild runs.
    tools::Workload workload(4);
    while (!stop.load()) {
      auto [command, meta] = workload.Next(*processor_);
      meta.request_id += "-4";
      workload.Learn(command, processor_->Execute(command, meta));
      runner_->Notify();
    }
  });
  RebuildOptions options;
  options.batch_events = 64;
  uint64_t progress_calls = 0;
  options.progress = [&](uint64_t, uint64_t) { ++progress_calls; };
  Status rebuilt = Rebuild(*source_, *store_, ModelNames(), runner_.get(), options);
  stop = true;
  writes.join();
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().ToString();
  EXPECT_GT(progress_calls, 1u);
  EXPECT_EQ(store_->Active("customer")->generation(), 2u);
  // A reader that held the old copy can still read it.
  auto still = store_->Get(*old_copy, Key('c', some_customer));
  ASSERT_TRUE(still.ok());
  EXPECT_TRUE(still->has_value());
  old_copy.reset();

  ASSERT_TRUE(runner_->WaitFor("customer", log_->Head(), std::chrono::seconds(30)));
  ASSERT_TRUE(runner_->WaitFor("license", log_->Head(), std::chrono::seconds(30)));
  ASSERT_TRUE(runner_->WaitFor("relationship", log_->Head(), std::chrono::seconds(30)));
  runner_->Stop();
  auto live = DumpAll();
  ASSERT_TRUE(Rebuild(*source_, *store_, ModelNames(), nullptr).ok());
  OpenStore();  // the runner now follows generation 3
  for (const auto& m : ModelNames()) {
    EXPECT_EQ(store_->Active(m)->generation(), 3u);
    EXPECT_TRUE(Dump(m) == live[m]) << m;
  }
}

TEST_F(RunnerTest, ALoadKeepsTheLastWriteOfEachKeyAndDeletesRowsOfEarlierLoads) {
  auto copy = store_->CreateCopy("license");
  ASSERT_TRUE(copy.ok());
  rocksdb::ColumnFamilyHandle* cf = (*copy)->cf();
  rocksdb::WriteBatch first;
  first.Put(cf, "b", "1");
  first.Put(cf, "a", "1");
  first.Put(cf, "b", "2");  // the later write wins
  first.Put(cf, "c", "1");
  first.Delete(cf, "d");    // never written: nothing to delete
  ASSERT_TRUE(store_->Load(**copy, first).ok());
  rocksdb::WriteBatch second;
  second.Delete(cf, "a");   // a row of the first load
  second.Put(cf, "c", "2");
  second.Delete(cf, "c");   // written and deleted in one load
  second.Put(cf, "e", "1");
  ASSERT_TRUE(store_->Load(**copy, second).ok());
  EXPECT_EQ(DumpRows(*store_, **copy), (Rows{{"b", "2"}, {"e", "1"}}));

  rocksdb::WriteBatch elsewhere;  // another copy's rows are not this copy's to load
  elsewhere.Put(store_->Active("customer")->cf(), "x", "1");
  EXPECT_FALSE(store_->Load(**copy, elsewhere).ok());
  EXPECT_EQ(DumpRows(*store_, **copy), (Rows{{"b", "2"}, {"e", "1"}}));
  ASSERT_TRUE(store_->Discard(*copy).ok());

  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.Sub("projections"))) {
    if (entry.path().extension() == ".sst" && entry.path().filename().string().starts_with("load-")) {
      left.push_back(entry.path().filename());
    }
  }
  EXPECT_TRUE(left.empty()) << "a load's table file left beside the store: " << left.front();
}

TEST_F(RunnerTest, AnInterruptedRebuildLeavesNothingBehind) {
  RunSomeCommands(5, 50);
  CatchUp();
  auto before = Dump("license");
  {
    auto copy = store_->CreateCopy("license");  // as a rebuild killed half-way would leave it
    ASSERT_TRUE(copy.ok());
  }
  const std::string unloaded = dir_.Sub("projections") + "/load-license.2-0.sst";  // written, never ingested
  { std::ofstream(unloaded) << "half a table file"; }
  OpenStore();
  EXPECT_FALSE(std::filesystem::exists(unloaded)) << "removed at open";
  runner_.reset();
  store_.reset();
  std::vector<std::string> families;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir_.Sub("projections"), &families).ok());
  EXPECT_EQ(std::count(families.begin(), families.end(), "license.2"), 0) << "dropped at open";
  EXPECT_EQ(std::count(families.begin(), families.end(), "license.1"), 1);
  OpenStore();
  EXPECT_EQ(store_->Active("license")->generation(), 1u);
  EXPECT_TRUE(Dump("license") == before);
}

}  // namespace
}  // namespace tally::projections
