#pragma once
// The setup checks (`railcheck check --format json`) as a JSON document, schema
// railcheck.check/v1: {"schema", "ok" (nothing failed), "summary": {pass, warn, fail, waived},
// "checks": [{name, subject (null when pod-wide), verdict, reason, fix (null when none)}]}.

#include <nlohmann/json.hpp>
#include <vector>

#include "topology/checks.hpp"

namespace railcheck::reports {

inline constexpr const char* kCheckSchema = "railcheck.check/v1";

nlohmann::json checks_to_json(const std::vector<topology::CheckResult>& results);

}  // namespace railcheck::reports
