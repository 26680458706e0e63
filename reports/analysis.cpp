#include "reports/analysis.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "reports/record_table.hpp"
#include "verbs/spec.hpp"

namespace railcheck::reports {

std::string test_label(verbs::TestId test, bool bidir, std::string_view src_mem, std::string_view dst_mem) {
  std::string label = test.name();
  if (bidir) label += "_bidir";
  if (src_mem == dst_mem) {
    if (src_mem != "host" && !src_mem.empty()) label += fmt::format("_{}", src_mem);
  } else {
    label += fmt::format("_{}-{}", src_mem, dst_mem);
  }
  return label;
}

std::string test_label(const Record& r) { return test_label(r.test, r.bidir, r.src.mem, r.dst.mem); }

std::string pair_name(const Record& r) { return fmt::format("{} -> {}", r.src.node, r.dst.node); }

std::string size_text(uint64_t bytes) { return verbs::format_size(bytes); }

std::string gbps_text(double gbps) {
  if (gbps < 1) return fmt::format("{:.3f}", gbps);
  if (gbps < 10) return fmt::format("{:.2f}", gbps);
  return fmt::format("{:.1f}", gbps);
}

double median(std::vector<double> values) { return median_in_place(std::span<double>(values)); }

bool headline_value(const Record& r, double& value) {
  if (r.is_latency()) {
    if (!r.latency_us) return false;
    value = r.latency_us->p50;
    return true;
  }
  if (!r.bandwidth) return false;
  value = r.bandwidth->avg_gbps;
  return true;
}

std::vector<bool> gate_flags(const std::vector<Record>& records) {
  auto table = RecordTable::of(records);
  return table ? gate_flags(*table) : std::vector<bool>(records.size(), true);
}

std::vector<RailSummary> summarize_rails(const Results& results) {
  auto table = RecordTable::of(results.records);
  return table ? summarize_rails(results, *table) : std::vector<RailSummary>{};
}

std::vector<RailSummary> summarize_rails(const Results& results, const RecordTable& table) {
  auto out = summarize_rails(table, results.rails, results.meta.tests);
  for (RailSummary& s : out) {
    for (TestRow& row : s.tests) {
      if (row.worst_row != SIZE_MAX) row.worst = &results.records[row.worst_row];
    }
  }
  return out;
}

}  // namespace railcheck::reports
