#include "reports/html_heatmap.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "reports/analysis.hpp"
#include "reports/markup.hpp"

namespace railcheck::reports {
namespace {

constexpr double kCharPx = 7.2;     // average glyph width at the 12 px label font
constexpr double kMapPx = 600;      // the cells' square, before clamping the cell size

struct Cell {
  const Record* rec = nullptr;
  bool has_value = false;
  double value = 0;
};

// The cells a map shows, by (source, destination), and the rail's best figure among them.
struct Cells {
  std::map<std::pair<std::string, std::string>, Cell> by_pair;
  double best = 0;
};

// Where things go: label margins and the cell size for the node count.
struct Geometry {
  double cell = 0, left = 0, top = 0, width = 0, height = 0;
};

// What one cell shows.
struct CellLook {
  std::string klass = "cell na", fill = "#f1f1f1", stroke = "#ffffff", dash, tip, text;
  double stroke_w = 1;
};

// 3 significant-ish digits: "381", "42.5", "2.41".
std::string compact(double v) {
  if (v >= 100) return fmt::format("{:.0f}", v);
  if (v >= 10) return fmt::format("{:.1f}", v);
  return fmt::format("{:.2f}", v);
}

// Green for the rail's best, through amber, to red at half of it or worse.
std::string colour(double share) {
  const double hue = std::clamp((share - 0.5) / 0.5, 0.0, 1.0) * 120;
  return fmt::format("hsl({:.0f},62%,38%)", hue);
}

Cells collect(const Results& results, const std::vector<bool>& gate, const HeatmapSpec& spec, bool bw) {
  Cells cells;
  bool any = false;
  for (size_t i = 0; i < results.records.size(); ++i) {
    const Record& r = results.records[i];
    if (!gate[i] || r.rail != spec.rail || test_label(r) != spec.label) continue;
    Cell& c = cells.by_pair[{r.src.node, r.dst.node}];
    if (c.rec != nullptr) continue;  // one record per cell: the first
    c.rec = &r;
    if (r.verdict == Verdict::kWaived || !r.error.empty()) continue;
    if (bw && r.bandwidth) c.value = r.bandwidth->avg_gbps, c.has_value = true;
    if (!bw && r.latency_us) c.value = r.latency_us->p99, c.has_value = true;
    if (!c.has_value) continue;
    cells.best = !any ? c.value : (bw ? std::max(cells.best, c.value) : std::min(cells.best, c.value));
    any = true;
  }
  return cells;
}

Geometry geometry(const std::vector<std::string>& nodes) {
  const double n = static_cast<double>(std::max<size_t>(nodes.size(), 1));
  size_t longest = 1;
  for (const auto& node : nodes) longest = std::max(longest, node.size());
  Geometry g;
  g.cell = std::clamp(std::floor(kMapPx / n), 14.0, 64.0);
  g.left = 10 + kCharPx * static_cast<double>(longest);
  g.top = 10 + kCharPx * static_cast<double>(longest) * 0.71;  // column labels at 45 degrees
  g.width = g.left + g.cell * static_cast<double>(nodes.size()) + 10;
  g.height = g.top + g.cell * static_cast<double>(nodes.size()) + 10;
  return g;
}

CellLook look(const Cells& cells, const std::string& src, const std::string& dst, bool bw) {
  CellLook l;
  const std::string unit = bw ? "Gb/s" : "us p99";
  auto it = cells.by_pair.find({src, dst});
  if (src == dst) {
    l.klass = "cell self", l.fill = "#d0d0d0", l.tip = fmt::format("{}: itself", src);
    return l;
  }
  if (it == cells.by_pair.end()) {
    l.tip = fmt::format("{} -> {}: not measured", src, dst), l.text = "N/A";
    return l;
  }
  const Cell& c = it->second;
  const Record& r = *c.rec;
  const std::string verdict = r.verdict == Verdict::kNone ? "unjudged" : std::string(to_string(r.verdict));
  l.klass = "cell " + verdict;
  if (c.has_value) {
    l.fill = colour(bw ? c.value / cells.best : cells.best / c.value);
    l.text = compact(c.value);
    l.tip = fmt::format("{} -> {}: {} {} at {} ({}){}{}", src, dst, compact(c.value), unit, size_text(r.size_bytes),
                        verdict, r.cause.empty() ? "" : ": ", r.cause);
  } else {
    const bool waived = r.verdict == Verdict::kWaived;
    l.fill = waived ? "#c9d3e0" : "#7a1f1f";
    l.text = waived ? "waived" : "error";
    l.tip = fmt::format("{} -> {}: {} ({})", src, dst, r.cause.empty() ? r.error : r.cause, verdict);
  }
  if (r.verdict == Verdict::kFail) l.stroke = "#000000", l.stroke_w = 3;
  if (r.verdict == Verdict::kWarn) l.stroke = "#000000", l.stroke_w = 2, l.dash = " stroke-dasharray=\"4 3\"";
  return l;
}

std::string cell_svg(const CellLook& l, const std::string& src, const std::string& dst, double x, double y,
                     double size) {
  std::string out = fmt::format(
      "<g class=\"{}\" data-src=\"{}\" data-dst=\"{}\"><title>{}</title><rect x=\"{:.1f}\" y=\"{:.1f}\" "
      "width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{}/>",
      l.klass, xml_escape(src), xml_escape(dst), xml_escape(l.tip), x + 1, y + 1, size - 2, size - 2, l.fill, l.stroke,
      l.stroke_w, l.dash);
  if (size >= 34 && !l.text.empty()) {  // room for the figure
    const bool dark = l.klass == "cell na" || l.text == "waived";
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" dominant-baseline=\"middle\" "
                       "class=\"{}\">{}</text>",
                       x + size / 2, y + size / 2, dark ? "v dark" : "v", xml_escape(l.text));
  }
  return out + "</g>\n";
}

}  // namespace

std::string heatmap_svg(const Results& results, const std::vector<bool>& gate, const HeatmapSpec& spec) {
  const bool bw = spec.metric == HeatMetric::kBandwidth;
  const Cells cells = collect(results, gate, spec, bw);
  const Geometry g = geometry(spec.nodes);
  std::string svg = fmt::format(
      "<svg class=\"heatmap\" xmlns=\"http://www.w3.org/2000/svg\" data-rail=\"{}\" data-metric=\"{}\" "
      "data-test=\"{}\" role=\"img\" viewBox=\"0 0 {:.0f} {:.0f}\" width=\"{:.0f}\" height=\"{:.0f}\">\n"
      "<title>{}</title>\n",
      xml_escape(spec.rail), bw ? "bandwidth" : "latency_p99", xml_escape(spec.label), g.width, g.height, g.width,
      g.height,
      xml_escape(fmt::format("rail {}: {} {} (row: source, column: destination)", spec.rail, spec.label,
                             bw ? "Gb/s" : "us p99")));
  const size_t n = spec.nodes.size();
  for (size_t i = 0; i < n; ++i) {
    const double pos = static_cast<double>(i) * g.cell + g.cell / 2;
    svg += fmt::format("<text class=\"row-label\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" "
                       "dominant-baseline=\"middle\">{}</text>\n",
                       g.left - 6, g.top + pos, xml_escape(spec.nodes[i]));
    svg += fmt::format("<text class=\"col-label\" transform=\"translate({:.1f},{:.1f}) rotate(-45)\">{}</text>\n",
                       g.left + pos, g.top - 6, xml_escape(spec.nodes[i]));
  }
  for (size_t row = 0; row < n; ++row) {
    for (size_t col = 0; col < n; ++col) {
      const std::string& src = spec.nodes[row];
      const std::string& dst = spec.nodes[col];
      svg += cell_svg(look(cells, src, dst, bw), src, dst, g.left + static_cast<double>(col) * g.cell,
                      g.top + static_cast<double>(row) * g.cell, g.cell);
    }
  }
  return svg + "</svg>";
}

}  // namespace railcheck::reports
