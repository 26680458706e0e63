#pragma once
// The setup checks (`railcheck check`) as the text an operator reads: one row per result
// (CHECK SUBJECT VERDICT REASON), the fix on the line below a failure or warning, then one
// summary line ("12 checks: 9 pass, 1 warn, 1 fail, 1 waived").

#include <string>
#include <vector>

#include "topology/checks.hpp"

namespace railcheck::reports {

std::string check_table(const std::vector<topology::CheckResult>& results);
// The summary line alone (no newline).
std::string check_summary(const std::vector<topology::CheckResult>& results);

}  // namespace railcheck::reports
