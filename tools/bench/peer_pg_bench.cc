// tally-bench peer-pg: what a user would pick instead of tally. The common
// PostgreSQL event-store schema (one messages table, a global position, a
// unique version per stream, the expected-version check in a function, as
// message-db and its kin have it) on a throwaway cluster with durable
// commits, under pgbench; next to tally's durable HTTP writes (a real
// tallyd under wrk) and the same commands in-process, at the same client
// counts, in the same run.
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "events/samples.h"
#include "tools/bench/bench.h"

namespace tally::bench {
namespace {

// The schema: every event one row; the stream's version unique per stream
// (the optimistic-concurrency check is the function's, under a per-stream
// advisory lock, as message-db's write_message does); the message id unique
// (a retried write is refused, as tally's request ids are).
constexpr const char* kSchema = R"sql(
CREATE TABLE messages (
  global_position bigserial PRIMARY KEY,
  stream_name text NOT NULL,
  version bigint NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb,
  id uuid NOT NULL UNIQUE,
  time timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX messages_stream_version ON messages (stream_name, version);

CREATE FUNCTION write_message(_id uuid, _stream text, _type text, _data jsonb, _metadata jsonb,
                              _expected bigint) RETURNS bigint AS $$
DECLARE
  current bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(_stream));
  SELECT max(version) INTO current FROM messages WHERE stream_name = _stream;
  current := coalesce(current, -1);
  IF _expected IS NOT NULL AND _expected <> current THEN
    RAISE EXCEPTION 'wrong expected version % (stream %, version %)', _expected, _stream, current;
  END IF;
  INSERT INTO messages (id, stream_name, version, type, data, metadata)
    VALUES (_id, _stream, current + 1, _type, _data, _metadata);
  RETURN current + 1;
END;
$$ LANGUAGE plpgsql;
)sql";

// One client's transaction: read the stream's version (as a command handler
// loads its stream), then append one event expecting it. Each pgbench
// client writes its own streams (`streams` of them), so that no expected
// version is ever stale: what is measured is the write path, not conflicts.
std::string Script(int streams) {
  std::ostringstream sql;
  sql << "\\set s random(1, " << streams << ")\n"
      << "SELECT coalesce(max(version), -1) AS v FROM messages WHERE stream_name = 'customer-' || :client_id || '-' || :s \\gset\n"
      << "SELECT write_message(gen_random_uuid(), 'customer-' || :client_id || '-' || :s, "
         "'SubscriptionQuantityChanged', :data::jsonb, :metadata::jsonb, :v);\n";
  return sql.str();
}

bool RunOrSay(const std::string& what, const std::string& command) {
  int status = 0;
  const std::string out = RunCommand(command + " 2>&1", &status);
  if (status == 0) return true;
  std::fprintf(stderr, "%s failed (%s):\n%s\n", what.c_str(), command.c_str(), out.c_str());
  return false;
}

std::string NewestPgBin() {
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    if (std::stoi(name) > best_version && std::filesystem::exists(entry.path() / "bin" / "pgbench")) {
      best_version = std::stoi(name);
      best = (entry.path() / "bin").string();
    }
  }
  return best;
}

uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct PgResult {
  double tps = 0, p50_ms = 0, p99_ms = 0;
  uint64_t transactions = 0, failed = 0;
  bool ok = false;
};

// A throwaway PostgreSQL cluster on a loopback port, fsync and synchronous
// commit on (the defaults: a commit returns when its WAL is on disk).
class PgCluster {
 public:
  ~PgCluster() {
    if (started_) Stop();
  }

  bool Start(const std::string& bin, const std::string& dir) {
    bin_ = bin;
    dir_ = dir;
    data_ = dir + "/data";
    // The server refuses to run as root: as the postgres user, then.
    if (geteuid() == 0) {
      if (getpwnam("postgres") == nullptr) {
        std::fprintf(stderr, "tally-bench peer-pg runs as root and there is no postgres user to run PostgreSQL as\n");
        return false;
      }
      as_ = "runuser -u postgres -- ";
      if (!RunOrSay("chown", "chown -R postgres " + Quote(dir))) return false;
      if (!RunOrSay("the postgres user writing to " + dir + " (its parents need search permission for it, "
                    "or choose another --dir)", as_ + "test -w " + Quote(dir))) {
        return false;
      }
    }
    if (!RunOrSay("initdb", as_ + bin_ + "/initdb -D " + Quote(data_) +
                                " -U tally -A trust -E UTF8 --no-instructions >/dev/null")) {
      return false;
    }
    port_ = FreePort();
    const std::string settings = "-p " + std::to_string(port_) + " -c listen_addresses=127.0.0.1 -k " + data_ +
                                 " -c max_connections=400 -c shared_buffers=512MB -c fsync=on"
                                 " -c synchronous_commit=on -c full_page_writes=on";
    if (!RunOrSay("pg_ctl start", as_ + bin_ + "/pg_ctl -D " + Quote(data_) + " -l " + Quote(data_ + "/server.log") +
                                      " -o " + Quote(settings) + " -w start >/dev/null")) {
      return false;
    }
    started_ = true;
    std::ofstream(dir_ + "/schema.sql") << kSchema;
    return RunOrSay("creating the schema", Psql() + " -v ON_ERROR_STOP=1 -q -f " + Quote(dir_ + "/schema.sql"));
  }

  void Stop() {
    RunOrSay("pg_ctl stop", as_ + bin_ + "/pg_ctl -D " + Quote(data_) + " -m fast -w stop >/dev/null");
    started_ = false;
  }

  std::string Psql() const {
    return bin_ + "/psql -h 127.0.0.1 -p " + std::to_string(port_) + " -U tally -d postgres";
  }

  // `clients` pgbench clients (each on its own streams) for `seconds`.
  PgResult Bench(int clients, int threads, int seconds, int customers, const std::string& data,
                 const std::string& metadata) {
    PgResult r;
    if (!RunOrSay("emptying messages", Psql() + " -q -c 'TRUNCATE messages'")) return r;
    const std::string run = dir_ + "/c" + std::to_string(clients);
    std::filesystem::create_directories(run);
    std::ofstream(run + "/write.sql") << Script(std::max(1, customers / clients));
    const std::string command =
        "cd " + Quote(run) + " && " + bin_ + "/pgbench -h 127.0.0.1 -p " + std::to_string(port_) +
        " -U tally -n -M prepared -c " + std::to_string(clients) + " -j " + std::to_string(threads) + " -T " +
        std::to_string(seconds) + " -f write.sql -D data=" + Quote(data) + " -D metadata=" + Quote(metadata) +
        " --log --log-prefix=tx postgres";
    int status = 0;
    const std::string out = RunCommand(command + " 2>&1", &status);
    std::smatch m;
    if (status != 0 || !std::regex_search(out, m, std::regex("tps = ([0-9.]+) \\(without initial connection time\\)"))) {
      std::fprintf(stderr, "pgbench failed (%s):\n%s\n", command.c_str(), out.c_str());
      return r;
    }
    r.tps = std::stod(m[1]);
    if (std::regex_search(out, m, std::regex("number of transactions actually processed: (\\d+)"))) {
      r.transactions = std::stoull(m[1]);
    }
    if (std::regex_search(out, m, std::regex("number of failed transactions: (\\d+)"))) r.failed = std::stoull(m[1]);
    // Latencies from the per-transaction logs: client, transaction, latency
    // in microseconds, ...
    std::vector<double> latencies;
    for (const auto& entry : std::filesystem::directory_iterator(run)) {
      if (!entry.path().filename().string().starts_with("tx.")) continue;
      std::ifstream in(entry.path());
      uint64_t client = 0, transaction = 0;
      double us = 0;
      std::string rest;
      while (in >> client >> transaction >> us && std::getline(in, rest)) latencies.push_back(us / 1000);
    }
    if (!latencies.empty()) {
      r.p50_ms = Percentile(latencies, 0.50);
      r.p99_ms = Percentile(latencies, 0.99);
    }
    // The rows are there: one per transaction, no version taken twice.
    const std::string rows = RunCommand(Psql() + " -At -c 'SELECT count(*) FROM messages' 2>&1");
    if (std::stoull("0" + rows.substr(0, rows.find('\n'))) != r.transactions) {
      std::fprintf(stderr, "pgbench reported %llu transactions, the table holds %s", (unsigned long long)r.transactions,
                   rows.c_str());
      return r;
    }
    r.ok = true;
    return r;
  }

 private:
  std::string bin_, dir_, data_, as_;
  uint16_t port_ = 0;
  bool started_ = false;
};

}  // namespace

int RunPeerPgBench(const PeerPgBenchOptions& o) {
  if (!HaveWrk()) return 2;
  const std::string bin = o.pg_bin.empty() ? NewestPgBin() : o.pg_bin;
  if (bin.empty() || !std::filesystem::exists(bin + "/pgbench")) {
    std::fprintf(stderr, "tally-bench peer-pg needs PostgreSQL's server and pgbench (apt-get install postgresql; or --pg-bin)\n");
    return 2;
  }
  // An event's JSON as a PostgreSQL event store would hold it: the fields of
  // tally's SubscriptionQuantityChanged, about the size of its envelope.
  events::SampleEvents samples(5);
  const std::string data = "{\"subscriptionId\": \"" + samples.Uuid() + "\", \"customerId\": \"" + samples.Uuid() +
                           "\", \"partnerId\": \"" + samples.Uuid() + "\", \"offerId\": \"" + samples.Uuid() +
                           "\", \"quantity\": 2, \"previousQuantity\": 1, \"termDuration\": \"P1M\", "
                           "\"billingCycle\": \"monthly\", \"unitPriceMinor\": 600, \"currency\": \"USD\"}";
  const std::string metadata = "{\"requestId\": \"" + samples.Uuid() + "\", \"correlationId\": \"" + samples.Uuid() +
                               "\", \"actor\": \"" + samples.Uuid() + "\", \"occurredAt\": \"2026-12-03T01:02:03.456789Z\"}";

  PgCluster pg;
  if (!pg.Start(bin, FreshDir(o.dir, "peer-pg"))) return 2;
  SeededTallyd tallyd;
  if (!tallyd.Start(o.tallyd, FreshDir(o.dir, "peer-pg-tallyd"), o.customers)) return 2;
  std::printf("tally-bench peer-pg: PostgreSQL (%s) vs tallyd, %d customers/streams, %d s per run, %d client thread(s)\n",
              bin.c_str(), o.customers, o.seconds, o.threads);
  std::printf("  (each figure: durable writes of one event with an expected-version check)\n");
  int rc = 0;
  for (int clients : o.connections) {
    const PgResult p = pg.Bench(clients, o.threads, o.seconds, o.customers, data, metadata);
    const WrkResult t = tallyd.Run(1, o.threads, clients, o.seconds);
    const double in_process =
        InProcessRate(FreshDir(o.dir, "peer-pg-inprocess"), o.catalog, o.customers, clients, o.seconds);
    if (!p.ok || !t.ok || in_process <= 0) return 2;
    if (p.failed != 0 || t.errors != 0) rc = 1;
    std::printf("  %3d clients  PostgreSQL %8.0f tx/s  p50 %6.2f ms  p99 %6.2f ms  (%llu, %llu failed)\n", clients,
                p.tps, p.p50_ms, p.p99_ms, static_cast<unsigned long long>(p.transactions),
                static_cast<unsigned long long>(p.failed));
    std::printf("               tally HTTP %8.0f req/s p50 %6.2f ms  p99 %6.2f ms  (%llu, %llu errors)\n",
                t.requests_per_second, t.p50_ms, t.p99_ms, static_cast<unsigned long long>(t.requests),
                static_cast<unsigned long long>(t.errors));
    std::printf("               tally in-process %8.0f commands/s\n", in_process);
    std::printf("               ratio tally HTTP / PostgreSQL %.2f, in-process / PostgreSQL %.2f\n",
                t.requests_per_second / p.tps, in_process / p.tps);
    std::fflush(stdout);
  }
  const int stopped = tallyd.Stop();
  pg.Stop();
  if (stopped != 0) std::fprintf(stderr, "tallyd exited %d\n", stopped);
  if (!o.keep) std::filesystem::remove_all(o.dir);
  return stopped == 0 ? rc : 1;
}

}  // namespace tally::bench
