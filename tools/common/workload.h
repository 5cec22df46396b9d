// Random but realistic command streams over the shipped catalog: customers
// added by several partners, orders, add-ons, quantity and status changes,
// relationship requests, acceptances and removals, billing-profile edits.
// Used by property tests (any seed must keep every invariant) and by the
// benchmarks that need a log full of real events.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/command_processor.h"

namespace tally::tools {

struct WorkloadOptions {
  std::vector<std::string> partners = {"p1", "p2", "p3"};
  // Make some commands invalid on purpose (domains that collide, quantities
  // off the offer's range, targets owned by another partner), so that
  // rejections are exercised too. Off for benchmarks.
  bool invalid_commands = true;
  // Commands mostly target one of the most recent customers (as real
  // traffic does), else any customer.
  size_t recent_customers = 1000;
  // Share of AddCustomer commands, in percent.
  int new_customer_percent = 10;
  // Now and then (1 in 200 commands on an existing customer) an operator
  // erases a customer's personal data (ForgetCustomer).
  bool erasures = true;
};

// Thread-compatible; Next and Learn run on the processor's thread (they read
// customer states through it).
class Workload {
 public:
  Workload(uint64_t seed, WorkloadOptions options = {});

  // The next command and who sends it (request ids are unique: "w<n>").
  std::pair<domain::Command, domain::CommandMeta> Next(CommandProcessor& processor);
  // What became of a command from Next.
  void Learn(const domain::Command& command, const Result<CommandOutcome>& result);
  // Next, Execute and Learn, `commands` times.
  void Run(CommandProcessor& processor, size_t commands);

  const std::vector<std::string>& customers() const { return customers_; }

 private:
  std::mt19937_64 rng_;
  WorkloadOptions options_;
  std::vector<std::string> customers_;
  uint64_t sent_ = 0;
};

// The shipped catalog's offers the workload uses.
namespace offers {
inline const std::string kBusinessBasic = "3b555118-da6a-4418-894f-7df1e2096870";    // 1-300
inline const std::string kBusinessStandard = "f245ecc8-75af-4f8e-b61f-27d8114de5f3";
inline const std::string kE3 = "6fd2c87f-b296-42f0-b197-1e91e994b900";               // 1-500000
inline const std::string kAzurePlan = "dcb9f1e9-1bb5-4d43-9a8d-6c6a1c1a7e4a";        // 1-1, monthly
inline const std::string kPowerBiPro = "f8a1db68-be16-40ed-86d5-cb42ce701560";
inline const std::string kAudioConferencing = "0c5d2bd6-5ee1-4f4b-ac57-1b44cc33a47e";  // not on Basic
inline const std::string kTeamsPhone = "d0d3ce6b-8f2c-44c8-a5a0-6ffa6f1d4d71";       // on Basic, E3
inline const std::string kDefenderP1 = "e0a2a1a4-5c9b-43fe-a8f1-fbd12a4e3f08";       // on Basic
inline const std::string kG3Gcc = "535a3a29-c5f0-42fe-8215-d3b9e1f38c4a";            // usgov
inline const std::string kGccAudio = "7e1c3a5b-2f4d-4e6a-8b9c-0d1e2f3a4b5c";         // usgov add-on
}  // namespace offers

// A valid AddCustomer for "<prefix>.onmicrosoft.com", without line items.
domain::AddCustomer ValidAddCustomer(const std::string& prefix);
domain::LineItem Item(const std::string& offer, int64_t quantity, const std::string& parent = "");

}  // namespace tally::tools
