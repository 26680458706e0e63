#include "reports/check_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace railcheck::reports {

using topology::CheckResult;
using topology::Verdict;

std::string check_summary(const std::vector<CheckResult>& results) {
  std::array<size_t, 4> n{};
  for (const auto& r : results) ++n[static_cast<size_t>(r.verdict)];
  return fmt::format("{} checks: {} pass, {} warn, {} fail, {} waived", results.size(), n[0], n[1], n[2], n[3]);
}

std::string check_table(const std::vector<CheckResult>& results) {
  size_t w_name = std::string_view("CHECK").size();
  size_t w_subject = std::string_view("SUBJECT").size();
  size_t w_verdict = std::string_view("VERDICT").size();
  for (const auto& r : results) {
    w_name = std::max(w_name, r.name.size());
    w_subject = std::max(w_subject, std::max<size_t>(1, r.subject.size()));
    w_verdict = std::max(w_verdict, to_string(r.verdict).size());
  }
  std::string out = fmt::format("{:<{}}  {:<{}}  {:<{}}  {}\n", "CHECK", w_name, "SUBJECT", w_subject, "VERDICT",
                                w_verdict, "REASON / FIX");
  const std::string indent(w_name + w_subject + w_verdict + 6, ' ');
  for (const auto& r : results) {
    out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {}\n", r.name, w_name, r.subject.empty() ? "-" : r.subject,
                       w_subject, to_string(r.verdict), w_verdict, r.reason);
    if (!r.fix.empty() && (r.verdict == Verdict::kFail || r.verdict == Verdict::kWarn)) {
      out += indent + "fix: " + r.fix + "\n";
    }
  }
  out += "\n" + check_summary(results) + "\n";
  return out;
}

}  // namespace railcheck::reports
