#include "reports/check_json.hpp"

#include <algorithm>

namespace railcheck::reports {

nlohmann::json checks_to_json(const std::vector<topology::CheckResult>& results) {
  using nlohmann::json;
  using topology::Verdict;
  json checks = json::array();
  json summary = {{"pass", 0}, {"warn", 0}, {"fail", 0}, {"waived", 0}};
  for (const auto& r : results) {
    const std::string verdict(to_string(r.verdict));
    summary[verdict] = summary[verdict].get<int>() + 1;
    checks.push_back({{"name", r.name},
                      {"subject", r.subject.empty() ? json(nullptr) : json(r.subject)},
                      {"verdict", verdict},
                      {"reason", r.reason},
                      {"fix", r.fix.empty() ? json(nullptr) : json(r.fix)}});
  }
  const bool ok = std::ranges::none_of(results, [](const auto& r) { return r.verdict == Verdict::kFail; });
  return {{"schema", kCheckSchema}, {"ok", ok}, {"summary", std::move(summary)}, {"checks", std::move(checks)}};
}

}  // namespace railcheck::reports
