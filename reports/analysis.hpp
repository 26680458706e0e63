#pragma once
// Views over a run's records that judge() and every reporter share: which size a pair's test
// is gated at, the label a test variant goes by, medians, and the per-rail summary (pairs,
// verdict counts, min/median/max per test, worst pair). Plain functions over Results; the
// returned structs point into the Results they were computed from.

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "reports/results.hpp"

namespace railcheck::reports {

// The test as reports name it: the test, plus "_bidir" and the memory ("_cuda") when not the
// plain host-to-host run: "write_bw", "write_bw_bidir", "write_bw_cuda", "read_bw_cuda-host".
std::string test_label(const Record& r);
std::string test_label(verbs::TestId test, bool bidir, std::string_view src_mem, std::string_view dst_mem);
// "gpu-a1 -> gpu-a2".
std::string pair_name(const Record& r);
// "2 B", "64 KiB", "1 MiB".
std::string size_text(uint64_t bytes);
// A bandwidth figure with the digits it needs: "381.2", "4.52", "0.198" (Gb/s, no unit).
std::string gbps_text(double gbps);
// The median of the values (the mean of the middle two for an even count); 0 when empty.
double median(std::vector<double> values);
// The same, reordering the values in place: O(n), for the medians of millions of pairs.
template <typename T>
double median_in_place(std::span<T> values) {
  if (values.empty()) return 0;
  const size_t n = values.size();
  const auto mid = values.begin() + static_cast<std::ptrdiff_t>(n / 2);
  std::nth_element(values.begin(), mid, values.end());
  if (n % 2 == 1) return static_cast<double>(*mid);
  return (static_cast<double>(*std::max_element(values.begin(), mid)) + static_cast<double>(*mid)) / 2;
}
// Orders verdicts by severity: none < waived < pass < warn < fail.
constexpr int verdict_rank(Verdict v) noexcept {
  switch (v) {
    case Verdict::kNone: return 0;
    case Verdict::kWaived: return 1;
    case Verdict::kPass: return 2;
    case Verdict::kWarn: return 3;
    case Verdict::kFail: return 4;
  }
  return 0;
}
// The figure a record is compared on: average Gb/s (bandwidth) or p50 us (latency); false
// when it has none.
bool headline_value(const Record& r, double& value);

// For each record, whether its size is the one its pair's test is gated at: the largest size
// of a bandwidth test, the smallest of a latency test (per rail, pair of ends and label).
// (Records beyond a table's limits: every record gated.)
std::vector<bool> gate_flags(const std::vector<Record>& records);

// One test of one rail at its gated size.
struct TestRow {
  std::string label;
  verbs::TestId test;                // the label's test
  bool plain = true;                 // the label is the test's name (host to host, one direction)
  bool latency = false;
  uint64_t size_bytes = 0;
  size_t records = 0;                // records at this size, with or without figures
  size_t measured = 0;               // those with figures
  double min = 0, median = 0, max = 0;  // Gb/s (bandwidth) or p50 us (latency), over `measured`
  double p99_median = 0;             // latency only: the median of the pairs' p99
  const Record* worst = nullptr;     // the most severe verdict, then the worst figure
  size_t worst_row = SIZE_MAX;       // the same as a row of the table it was computed from
};

struct RailSummary {
  std::string name;
  const RailInfo* info = nullptr;    // null when only the records name the rail
  std::vector<std::string> nodes;
  size_t pairs = 0;                  // distinct (source, destination) node pairs
  // Pairs by their most severe record (a pair is waived only when all of it was waived).
  size_t pass = 0, warn = 0, fail = 0, waived = 0, unjudged = 0;
  size_t records = 0;
  std::vector<TestRow> tests;        // in the run's test order
};

// (Records beyond a table's limits: no summaries.)
std::vector<RailSummary> summarize_rails(const Results& results);
// The same over a table already made of results.records (RecordTable::of), for a reporter
// that also wants the table's gate_flags(): one table, not two.
class RecordTable;
std::vector<RailSummary> summarize_rails(const Results& results, const RecordTable& table);

}  // namespace railcheck::reports
