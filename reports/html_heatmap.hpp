#pragma once
// The node x node heatmap of one rail, as inline SVG for the HTML report: rows are sources
// (clients), columns destinations (servers), one cell per measured pair, coloured by its share
// of the rail's best figure; failed cells outlined, unmeasured ones grey.

#include <string>
#include <string_view>
#include <vector>

#include "reports/results.hpp"

namespace railcheck::reports {

enum class HeatMetric { kBandwidth, kLatencyP99 };

struct HeatmapSpec {
  std::string rail;
  std::vector<std::string> nodes;  // rows and columns, in this order
  std::string label;               // the test label the cells show (test_label())
  HeatMetric metric = HeatMetric::kBandwidth;
};

// The <svg> element, class "heatmap", with data-rail, data-metric ("bandwidth" or
// "latency_p99") and data-test attributes. `gate` is gate_flags(results.records): cells show
// each pair's gated size.
std::string heatmap_svg(const Results& results, const std::vector<bool>& gate, const HeatmapSpec& spec);

}  // namespace railcheck::reports
