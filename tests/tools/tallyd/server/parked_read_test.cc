// A read that waits for its own write holds no I/O thread (issues 17 and
// 22): with one HTTP thread and read models that cannot move (their runner
// is not started, a forced interleaving rather than a sleep), a read parked
// at its wait does not delay another connection's requests; it is answered
// as soon as the read models reach its position.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "engine/command_processor.h"
#include "engine/domain/catalog.h"
#include "engine/group_commit_writer.h"
#include "engine/rocksdb_event_log.h"
#include "projections/projection.h"
#include "projections/runner.h"
#include "projections/store.h"
#include "tests/testing/api_bodies.h"
#include "tests/testing/http_client.h"
#include "tests/testing/test_util.h"
#include "tools/tallyd/server/api.h"
#include "tools/tallyd/server/http_server.h"
#include "tools/tallyd/server/partners.h"

namespace tally::server {
namespace {

using nlohmann::json;

// Sends `request` on a new raw connection; returns the descriptor.
int SendRaw(uint16_t port, const std::string& request) {
  const int fd = testing::ConnectRaw(port);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  return fd;
}

// Whether anything arrived on `fd` within `ms` milliseconds.
bool Readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) > 0;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, n);
  return out;
}

TEST(ParkedReadTest, AReadWaitingForItsWriteDoesNotHoldTheOnlyIoThread) {
  testing::TempDir dir;
  auto catalog = domain::Catalog::Load(TALLY_OFFERS_JSON);
  ASSERT_TRUE(catalog.ok());
  auto log = RocksDbEventLog::Open(dir.Sub("log"));
  ASSERT_TRUE(log.ok());
  auto store = projections::ProjectionStore::Open(dir.Sub("projections"), projections::ModelNames());
  ASSERT_TRUE(store.ok());
  projections::LogEventSource source(**log);
  projections::ProjectionRunner runner(source, **store);
  for (const auto& model : projections::ModelNames()) {
    ASSERT_TRUE(runner.Add(projections::MakeProjection(model, **store, (*store)->Active(model), source.Keys())).ok());
  }
  // Not started: the read models stay at position 0 until the test says so.
  domain::RandomIdSource ids(7);
  CommandProcessor processor(**log, *catalog, domain::Instance::kGlobal, ids);
  GroupCommitWriter writer(**log);
  auto partners = PartnerDirectory::Load(dir.Sub("partners.json"));
  ASSERT_TRUE(partners.ok());
  auto dev = (*partners)->Add("dev");
  ASSERT_TRUE(dev.ok());
  const std::string token = dev->second;

  ApiContext context;
  context.processor = &processor;
  context.writer = &writer;
  context.catalog = &*catalog;
  context.log = log->get();
  context.store = store->get();
  context.runner = &runner;
  context.partners = partners->get();
  context.read_wait = std::chrono::seconds(60);  // longer than the test: only the runner ends the wait
  Api api(context);
  HttpServerOptions options;
  options.threads = 1;
  HttpServer server(api, options);
  auto port = server.Start("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());

  testing::HttpClient client(*port, token);
  auto created = client.Post("/v1/customers", testing::NewCustomer("parked"));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.json["id"];

  // The read of the customer just written must wait for the read models:
  // it parks.
  const int parked = SendRaw(*port, "GET /v1/customers/" + id + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                        token + "\r\nConnection: close\r\n\r\n");
  EXPECT_FALSE(Readable(parked, 100)) << "answered before the read models had the write";
  // Meanwhile the only I/O thread serves everyone else.
  testing::HttpClient other(*port, token);
  EXPECT_EQ(other.Get("/v1/offers").status, 200);
  EXPECT_EQ(testing::StatusLineOnce(*port), "HTTP/1.1 200 OK");
  auto another_write = other.Post("/v1/customers", testing::NewCustomer("meanwhile"));
  EXPECT_EQ(another_write.status, 201) << another_write.body;
  EXPECT_FALSE(Readable(parked, 0)) << "the parked read was answered although the read models did not move";

  // The read models catch up: the parked read is answered with the customer.
  runner.Start();
  runner.Notify();
  ASSERT_TRUE(Readable(parked, 30000));
  const std::string answer = ReadAll(parked);
  ::close(parked);
  EXPECT_EQ(answer.substr(0, answer.find("\r\n")), "HTTP/1.1 200 OK") << answer;
  EXPECT_NE(answer.find("parked.onmicrosoft.com"), std::string::npos) << answer;

  server.Stop();
  api.Stop();
  writer.Stop();
  runner.Stop();
}

}  // namespace
}  // namespace tally::server
