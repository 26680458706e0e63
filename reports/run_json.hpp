#pragma once
// One ad hoc run (`railcheck lat|bw`) as a JSON document, schema railcheck.run/v1: the spec,
// both endpoints, and every size with all its statistics.

#include <nlohmann/json.hpp>

#include "verbs/session.hpp"

namespace railcheck::reports {

inline constexpr const char* kRunSchema = "railcheck.run/v1";

nlohmann::json run_to_json(const verbs::RunRecord& run);

}  // namespace railcheck::reports
