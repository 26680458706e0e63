#pragma once
// The coordinator: finds the agents, fetches their inventories, groups interfaces into rails,
// and runs each rail's schedule (pods/schedule.hpp), rails in parallel, a round's pairs in
// parallel, every NIC in one test at a time. Each pair runs the chosen tests: the server
// agent opens a test port, the client agent runs the test against it and returns records.
//
// Failures stay with their pairs: an agent that dies or hangs fails its pairs with the cause
// ("agent pod-3 (10.0.0.3:7400) unreachable since round 2") and the rest finish; a failed pair
// is re-run up to `retries` times unless one of its agents is gone. The result is the raw
// records, unjudged (reports::judge sets verdicts).
//
// Confirmation: with a profile, once every rail has run, the coordinator judges the records and
// runs each slow pair's test again (up to `confirm` times, until it is no longer slow), one at a
// time so that nothing else shares the ports; the last measurement stands and the record counts
// it (`remeasured`). A fault is slow every time; a stall of a busy host is not, and must not
// name a healthy node (docs/faults.md).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "pods/schedule.hpp"
#include "reports/judge.hpp"
#include "reports/record_table.hpp"
#include "reports/results.hpp"
#include "verbs/spec.hpp"

namespace railcheck::pods {


struct CoordinatorOptions {
  std::vector<std::string> agents;  // "host:port" (port optional)
  std::string discover;             // DNS name whose A records are the agents
  uint16_t agent_port = 7400;
  std::string token;
  std::vector<verbs::RunSpec> tests;  // every pair runs each, in this order (one spec per test id)
  Pattern pattern = Pattern::kAllPairs;
  uint32_t retries = 1;
  uint32_t expect_nodes = 0;     // 0: no expectation
  double wait_s = 60;            // how long to wait for agents to answer
  double test_timeout_s = 10;    // a test with no progress for this long fails
  double pair_timeout_s = 600;   // hard limit on one test of one pair
  uint32_t parallel = 64;        // pairs running at once, over all rails
  // Every record as it arrives, one JSON object per line (flushed per pair, so a run that dies
  // leaves what it had); empty: none.
  std::string records_path;
  // With records_path: the most records kept in memory for the reports (about 1.4 KiB each);
  // a larger run keeps only the table and the file.
  size_t keep_records = 200'000;
  // The profile the run will be judged with, for the confirmation runs; none: no confirmation.
  std::optional<reports::Profile> profile;
  uint32_t confirm = 2;  // confirmation runs of a slow pair's test at the most; 0: none
  // Terminal lines as the run goes (progress, one per finished pair); empty: silent.
  std::function<void(std::string_view)> progress;
};

struct CoordinatorRun {
  // Every record (sorted: rail, round, client, test, size) when `complete`; otherwise the
  // run without its records (meta, nodes, rails, notes), whose records are in the table and
  // the records file.
  reports::Results results;
  reports::RecordTable table;  // every record, compact, in arrival order (the file's order)
  bool complete = true;
};

// Runs everything. An Error means nothing could be run (no agent, no rail, bad token on every
// agent): exit code 2. Otherwise the run, possibly full of failed records.
Result<CoordinatorRun> run_coordinator(const CoordinatorOptions& options);

// The agents behind a DNS name (every A record), sorted; errors name the name and resolver error.
Result<std::vector<std::string>> resolve_all(const std::string& name);

}  // namespace railcheck::pods
