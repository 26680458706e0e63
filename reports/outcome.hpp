#pragma once
// The outcome of a whole run, computed once, here: the exit code, the terminal report's
// verdict line, results.json's "outcome", the HTML banner, JUnit's run case and the Prometheus
// railcheck_run_failed gauge all read it, so they cannot disagree. A run fails when a record
// failed, when a node's agent never answered (its pairs have no records), or when a reachable
// node lacks a rail the others have (that rail was never tested there).

#include <span>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "reports/analysis.hpp"
#include "reports/results.hpp"

namespace railcheck::reports {

struct RunOutcome {
  enum class Status { kPass, kWarn, kFail, kNotJudged };
  Status status = Status::kNotJudged;
  std::vector<std::string> failing_rails;      // rails with a failing pair, in rail order
  size_t warn_pairs = 0;                       // pairs whose worst verdict is a warning
  std::vector<std::string> unreachable_nodes;  // agents that never answered
  std::vector<std::string> missing_rails;      // "rail-1 on gpu-a5": reachable nodes without a rail

  [[nodiscard]] bool failed() const noexcept { return status == Status::kFail; }
  // "pass" | "warn" | "fail" | "not judged".
  [[nodiscard]] std::string_view verdict() const noexcept;
  // One line: "FAIL: failing pairs on 2 rail(s): rail-1, rail-2; unreachable: gpu-a6; rail missing: rail-1 on gpu-a5".
  [[nodiscard]] std::string headline() const;
  // What made the run fail, one phrase each (empty unless it failed).
  [[nodiscard]] std::vector<std::string> reasons() const;
};

// The outcome of a judged run from its nodes and rails (`head`) and its rail summaries (the
// pairs' verdicts). A run whose records carry no verdicts (meta.profile empty) is not judged,
// unless its nodes or rails already make it fail.
RunOutcome run_outcome(const Results& head, std::span<const RailSummary> rails);

// results.json's "outcome": {"verdict": ..., "reasons": [...]}.
nlohmann::json to_json(const RunOutcome& outcome);

}  // namespace railcheck::reports
