// tally-bench http: a real tallyd process under wrk (Debian's package), for
// reads, durable writes and a mix, next to the in-process rate of the same
// write commands through the same pipeline (CommandProcessor + group-commit
// writer, no HTTP) from the same run.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>

#include "engine/command_processor.h"
#include "engine/domain/catalog.h"
#include "tools/bench/bench.h"

namespace tally::bench {
namespace {

using nlohmann::json;

constexpr const char* kBasic = "3b555118-da6a-4418-894f-7df1e2096870";  // 1-300 licenses

// A started tallyd: port and dev token parsed from its output.
struct Tallyd {
  pid_t pid = -1;
  uint16_t port = 0;
  std::string token;
  int out_fd = -1;

  bool Start(const std::string& binary, const std::string& data) {
    int fds[2];
    if (pipe(fds) != 0) return false;
    pid = fork();
    if (pid == 0) {
      dup2(fds[1], STDOUT_FILENO);
      dup2(fds[1], STDERR_FILENO);
      close(fds[0]);
      close(fds[1]);
      execl(binary.c_str(), binary.c_str(), "--data", data.c_str(), "--listen", "127.0.0.1:0",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    out_fd = fds[0];
    std::string output;
    char buf[4096];
    while (output.find("running;") == std::string::npos) {
      const ssize_t n = read(out_fd, buf, sizeof buf);
      if (n <= 0) break;
      output.append(buf, n);
    }
    std::smatch m;
    if (std::regex_search(output, m, std::regex("HTTP API on http://127\\.0\\.0\\.1:(\\d+)"))) port = std::stoi(m[1]);
    if (std::regex_search(output, m, std::regex("TALLY_TOKEN=(\\S+)"))) token = m[1];
    if (port == 0 || token.empty()) std::fprintf(stderr, "tallyd did not start:\n%s\n", output.c_str());
    return port != 0 && !token.empty();
  }
  int Stop() {
    if (pid <= 0) return -1;
    kill(pid, SIGTERM);
    char buf[4096];
    while (read(out_fd, buf, sizeof buf) > 0) {
    }
    close(out_fd);
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~Tallyd() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

json Customer(const std::string& prefix) {
  return {{"companyProfile", {{"domain", prefix + ".onmicrosoft.com"}, {"companyName", "Bench " + prefix}}},
          {"billingProfile",
           {{"email", "ops@" + prefix + ".com"},
            {"culture", "en-US"},
            {"language", "en"},
            {"companyName", "Bench " + prefix},
            {"defaultAddress",
             {{"firstName", "Ann"}, {"lastName", "Lee"}, {"addressLine1", "1 Main St"}, {"city", "Redmond"},
              {"state", "WA"}, {"postalCode", "98052"}, {"country", "US"}, {"phoneNumber", "4255550100"}}}}},
          {"agreement",
           {{"primaryContact", {{"firstName", "Ann"}, {"lastName", "Lee"}, {"email", "ops@" + prefix + ".com"}}},
            {"dateAgreed", "2026-01-02"},
            {"templateId", domain::kCustomerAgreementTemplateId},
            {"type", domain::kCustomerAgreementType}}},
          {"lineItems", json::array({{{"offerId", kBasic}, {"quantity", 10}}})}};
}

double ToMs(const std::string& value, const std::string& unit) {
  const double v = std::stod(value);
  if (unit == "us") return v / 1000;
  if (unit == "s") return v * 1000;
  return v;
}

WrkResult RunWrk(const std::string& url, const std::string& script, int threads, int connections, int seconds) {
  const std::string command = "wrk -t" + std::to_string(threads) + " -c" + std::to_string(connections) + " -d" +
                              std::to_string(seconds) + "s --latency -s " + script + " " + url + " 2>&1";
  WrkResult r;
  int status = 0;
  const std::string out = RunCommand(command, &status);
  std::smatch m;
  if (status != 0 || !std::regex_search(out, m, std::regex("Requests/sec:\\s+([0-9.]+)"))) {
    std::fprintf(stderr, "wrk failed (%s):\n%s\n", command.c_str(), out.c_str());
    return r;
  }
  r.requests_per_second = std::stod(m[1]);
  if (std::regex_search(out, m, std::regex("50%\\s+([0-9.]+)(us|ms|s)"))) r.p50_ms = ToMs(m[1], m[2]);
  if (std::regex_search(out, m, std::regex("99%\\s+([0-9.]+)(us|ms|s)"))) r.p99_ms = ToMs(m[1], m[2]);
  if (std::regex_search(out, m, std::regex("(\\d+) requests in"))) r.requests = std::stoull(m[1]);
  if (std::regex_search(out, m, std::regex("Non-2xx or 3xx responses: (\\d+)"))) r.errors += std::stoull(m[1]);
  if (std::regex_search(out, m, std::regex("Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)"))) {
    for (int i = 1; i <= 4; ++i) r.errors += std::stoull(m[i]);
  }
  r.ok = true;
  return r;
}

// A wrk script: each request picks the next (customer, subscription) pair;
// `write_every` = 0: reads only; 1: writes only; k: one write in k.
std::string WrkScript(const std::string& token, const std::vector<std::pair<std::string, std::string>>& subs,
                      int write_every) {
  std::ostringstream lua;
  lua << "wrk.headers[\"Authorization\"] = \"Bearer " << token << "\"\n"
      << "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
      << "local c = {}\nlocal s = {}\n";
  for (size_t i = 0; i < subs.size(); ++i) {
    lua << "c[" << i + 1 << "] = \"" << subs[i].first << "\"; s[" << i + 1 << "] = \"" << subs[i].second << "\"\n";
  }
  // The requests are formatted once, in init (wrk.format per request costs
  // wrk CPU that tallyd shares on a small machine). Entry k addresses
  // customer k mod #c; the writes to one subscription alternate between
  // quantities 1 and 2, so that every write changes something (a change
  // that changes nothing appends nothing).
  lua << "local reqs = {}\n"
      << "local n = 0\n"
      << "init = function(args)\n"
      << "  local total = #c * 20\n"
      << "  for k = 0, total - 1 do\n"
      << "    local i = (k % #c) + 1\n"
      << "    local write = " << write_every << " == 1 or (" << write_every << " > 1 and k % " << write_every
      << " == 0)\n"
      << "    if write then\n"
      << "      reqs[k + 1] = wrk.format(\"PATCH\", \"/v1/customers/\" .. c[i] .. \"/subscriptions/\" .. s[i], nil,\n"
      << "                               '{\"quantity\": ' .. (math.floor(k / #c) % 2 + 1) .. '}')\n"
      << "    elseif k % 2 == 0 then\n"
      << "      reqs[k + 1] = wrk.format(\"GET\", \"/v1/customers/\" .. c[i])\n"
      << "    else\n"
      << "      reqs[k + 1] = wrk.format(\"GET\", \"/v1/customers/\" .. c[i] .. \"/subscriptions/\" .. s[i])\n"
      << "    end\n"
      << "  end\n"
      << "  n = math.random(0, total - 1)\n"
      << "end\n"
      << "request = function()\n"
      << "  n = n + 1\n"
      << "  return reqs[(n % #reqs) + 1]\n"
      << "end\n";
  return lua.str();
}

}  // namespace

double InProcessRate(const std::string& dir, const std::string& catalog_path, int customers, int clients,
                     double seconds, double* cpu_seconds_per_command) {
  auto catalog = domain::Catalog::Load(catalog_path);
  auto log = RocksDbEventLog::Open(dir);
  if (!catalog.ok() || !log.ok()) return 0;
  domain::RandomIdSource ids(11);
  CommandProcessor processor(**log, *catalog, domain::Instance::kGlobal, ids);
  std::vector<std::pair<std::string, std::string>> subs;
  for (int i = 0; i < customers; ++i) {
    domain::AddCustomer add;
    add.domain_prefix = "inproc" + std::to_string(i);
    add.company_name = "Bench";
    add.billing.email = "ops@bench.com";
    add.billing.culture = "en-US";
    add.billing.language = "en";
    add.billing.company_name = "Bench";
    add.billing.default_address = {"Ann", "Lee", "1 Main St", "", "", "Redmond", "WA", "98052", "US", "4255550100"};
    add.agreement = domain::AgreementInput{"Ann", "Lee", "ops@bench.com", "", 1'767'312'000'000'000,
                                           domain::kCustomerAgreementTemplateId};
    add.line_items.push_back(domain::LineItem{kBasic, 10, "", "monthly", "", ""});
    auto r = processor.Execute(add, domain::CommandMeta{"dev", "", ""});
    if (!r.ok()) {
      std::fprintf(stderr, "in-process seed: %s\n", r.error().ToString().c_str());
      return 0;
    }
    subs.emplace_back(r->customer_id, r->subscription_ids.at(0));
  }
  std::atomic<uint64_t> done{0}, failed{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  Clock clock;
  CpuClock cpu;
  {
    GroupCommitWriter writer(**log);
    std::function<void(int, uint64_t)> send = [&](int c, uint64_t n) {
      if (stop.load() || clock.Seconds() >= seconds) {
        stop = true;
        std::lock_guard<std::mutex> lock(mu);
        if (++finished == clients) cv.notify_one();
        return;
      }
      const auto& [customer, sub] = subs[(c + n * clients) % subs.size()];
      domain::UpdateSubscription u{customer, sub};
      u.quantity = static_cast<int64_t>(n % 250) + 1;
      writer.Submit(processor.Task(u, domain::CommandMeta{"dev", "", ""}, [&, c, n](Result<CommandOutcome> r) {
        done.fetch_add(1);
        if (!r.ok()) failed.fetch_add(1);
        send(c, n + 1);
      }));
    };
    for (int c = 0; c < clients; ++c) send(c, 0);
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return finished == clients; });
  }
  const double secs = clock.Seconds();
  if (cpu_seconds_per_command != nullptr) *cpu_seconds_per_command = cpu.Seconds() / std::max<uint64_t>(1, done.load());
  if (failed.load() > 0) std::fprintf(stderr, "in-process: %llu commands failed\n", (unsigned long long)failed.load());
  return done.load() / secs;
}

struct SeededTallyd::Server : Tallyd {};

SeededTallyd::SeededTallyd() = default;
SeededTallyd::~SeededTallyd() = default;

bool SeededTallyd::Start(std::string binary, const std::string& data, int customers) {
  if (binary.empty()) binary = (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "tallyd").string();
  data_ = data;
  server_ = std::make_unique<Server>();
  if (!server_->Start(binary, data + "/var")) return false;
  url_ = "http://127.0.0.1:" + std::to_string(server_->port);
  // Seed over HTTP with curl (one keep-alive connection, batched).
  {
    std::ofstream config(data + "/seed.curl");
    for (int i = 0; i < customers; ++i) {
      config << "url = \"" << url_ << "/v1/customers\"\nrequest = \"POST\"\n"
             << "header = \"Authorization: Bearer " << server_->token << "\"\n"
             << "header = \"Content-Type: application/json\"\n"
             << "data = " << json(Customer("bench" + std::to_string(i)).dump()).dump() << "\n"
             << "write-out = \"\\n\"\n";
      if (i + 1 < customers) config << "next\n";
    }
  }
  std::istringstream lines(RunCommand("curl -sS -K " + data + "/seed.curl"));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("id")) {
      std::fprintf(stderr, "seeding failed: %s\n", line.c_str());
      return false;
    }
    subs_.emplace_back(j["id"], j["orders"][0]["lineItems"][0]["subscriptionId"]);
  }
  if (subs_.size() != static_cast<size_t>(customers)) {
    std::fprintf(stderr, "seeded %zu of %d customers\n", subs_.size(), customers);
    return false;
  }
  return true;
}

WrkResult SeededTallyd::Run(int write_every, int threads, int connections, int seconds) {
  const std::string script = data_ + "/" + std::to_string(write_every) + ".lua";
  std::ofstream(script) << WrkScript(server_->token, subs_, write_every);
  return RunWrk(url_, script, threads, connections, seconds);
}

int SeededTallyd::Stop() { return server_ == nullptr ? -1 : server_->Stop(); }

std::string SeededTallyd::proc() const { return "/proc/" + std::to_string(server_ == nullptr ? 0 : server_->pid); }

bool HaveWrk() {
  if (std::system("command -v wrk >/dev/null") == 0) return true;
  std::fprintf(stderr, "tally-bench needs wrk (apt-get install wrk)\n");
  return false;
}

int RunHttpBench(const HttpBenchOptions& o) {
  if (!HaveWrk()) return 2;
  SeededTallyd server;
  if (!server.Start(o.tallyd, FreshDir(o.dir, "http-tallyd"), o.customers)) return 2;
  std::printf("tally-bench http: tallyd on %s, %d customers, wrk -t%d -c%d, %d s per run\n", server.url().c_str(),
              o.customers, o.threads, o.connections, o.seconds);

  struct Run {
    const char* name;
    int write_every;
    WrkResult result;
    ThreadCpu before, after;  // tallyd's threads
  } runs[] = {{"reads", 0, {}, {}, {}}, {"writes", 1, {}, {}, {}}, {"mix 9:1", 10, {}, {}, {}}};
  for (auto& run : runs) {
    run.before = SampleThreadCpu(server.proc());
    run.result = server.Run(run.write_every, o.threads, o.connections, o.seconds);
    run.after = SampleThreadCpu(server.proc());
    if (!run.result.ok) return 2;
  }
  const int stopped = server.Stop();
  double in_process_cpu = 0;
  const double in_process = InProcessRate(FreshDir(o.dir, "http-inprocess"), o.catalog, o.customers, o.connections,
                                          o.seconds, &in_process_cpu);

  for (const auto& run : runs) {
    std::printf("  %-8s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  (%llu requests, %llu errors)\n", run.name,
                run.result.requests_per_second, run.result.p50_ms, run.result.p99_ms,
                static_cast<unsigned long long>(run.result.requests),
                static_cast<unsigned long long>(run.result.errors));
  }
  // Where a request's CPU goes: tallyd's threads over each run (wrk uses
  // the rest of the cores).
  for (const auto& run : runs) {
    const double total = TotalCpu(run.before, run.after);
    std::printf("  tallyd CPU, %-8s %.1f CPU-us per request (%.2f CPU-s): %s\n", run.name,
                1e6 * total / std::max<uint64_t>(1, run.result.requests), total,
                DescribeThreadCpu(run.before, run.after).c_str());
  }
  std::printf("  in-process, same quantity changes, %d in flight: %.0f commands/s, %.1f CPU-us per command\n",
              o.connections, in_process, 1e6 * in_process_cpu);
  std::printf("  ratio HTTP writes / in-process  %.2f\n", runs[1].result.requests_per_second / in_process);
  std::printf("  goals: reads >= 40000 req/s; durable writes >= 20000 req/s with p99 < 10 ms; mix p99 < 10 ms; writes >= 0.6 of in-process\n");
  if (stopped != 0) std::fprintf(stderr, "tallyd exited %d\n", stopped);
  if (!o.keep) std::filesystem::remove_all(o.dir);
  uint64_t errors = 0;
  for (const auto& run : runs) errors += run.result.errors;
  return errors == 0 && stopped == 0 ? 0 : 1;
}

}  // namespace tally::bench
