#include "reports/outcome.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace railcheck::reports {

std::string_view RunOutcome::verdict() const noexcept {
  switch (status) {
    case Status::kPass: return "pass";
    case Status::kWarn: return "warn";
    case Status::kFail: return "fail";
    case Status::kNotJudged: return "not judged";
  }
  return "not judged";
}

std::vector<std::string> RunOutcome::reasons() const {
  std::vector<std::string> out;
  if (!failing_rails.empty()) {
    out.push_back(fmt::format("failing pairs on {} rail(s): {}", failing_rails.size(), fmt::join(failing_rails, ", ")));
  }
  if (!unreachable_nodes.empty()) {
    out.push_back(fmt::format("{} node(s) unreachable: {}", unreachable_nodes.size(), fmt::join(unreachable_nodes, ", ")));
  }
  if (!missing_rails.empty()) out.push_back(fmt::format("rail missing: {}", fmt::join(missing_rails, ", ")));
  return out;
}

std::string RunOutcome::headline() const {
  switch (status) {
    case Status::kFail: return fmt::format("FAIL: {}", fmt::join(reasons(), "; "));
    case Status::kWarn: return fmt::format("PASS with {} warning pair(s)", warn_pairs);
    case Status::kPass: return "PASS";
    case Status::kNotJudged: break;
  }
  return "NOT JUDGED: no verdicts in these results (railcheck report --profile NAME judges them)";
}

RunOutcome run_outcome(const Results& head, std::span<const RailSummary> rails) {
  RunOutcome o;
  for (const RailSummary& s : rails) {
    if (s.fail > 0) o.failing_rails.push_back(s.name);
    o.warn_pairs += s.warn;
  }
  for (const NodeInfo& n : head.nodes) {
    if (!n.reachable) o.unreachable_nodes.push_back(n.node);
  }
  for (const RailInfo& r : head.rails) {
    for (const std::string& node : r.missing_nodes) o.missing_rails.push_back(fmt::format("{} on {}", r.name, node));
  }
  if (!o.failing_rails.empty() || !o.unreachable_nodes.empty() || !o.missing_rails.empty()) {
    o.status = RunOutcome::Status::kFail;
  } else if (head.meta.profile.empty()) {
    o.status = RunOutcome::Status::kNotJudged;
  } else {
    o.status = o.warn_pairs > 0 ? RunOutcome::Status::kWarn : RunOutcome::Status::kPass;
  }
  return o;
}

nlohmann::json to_json(const RunOutcome& outcome) {
  return {{"verdict", outcome.verdict()}, {"reasons", outcome.reasons()}};
}

}  // namespace railcheck::reports
