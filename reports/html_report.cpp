// The HTML report: one self-contained page (inline CSS and SVG, no script, no fetch: the
// content security policy forbids any) for the platform team. The verdict and run metadata,
// the rails table, per rail a bandwidth and a p99 latency heatmap, the failures table, each
// node's rail map and checks, and the notes. Readable at 1440 px, printable.
#include <fmt/format.h>

#include <algorithm>
#include <ostream>

#include <nlohmann/json.hpp>

#include "reports/analysis.hpp"
#include "reports/html_heatmap.hpp"
#include "reports/markup.hpp"
#include "reports/reporters.hpp"
#include "reports/record_table.hpp"

namespace railcheck::reports {
namespace {

using nlohmann::json;

constexpr std::string_view kStyle = R"css(
:root { --fg: #1d2329; --muted: #5b6670; --line: #d6dbe0; --pass: #1f7a3a; --warn: #9a6700; --fail: #b42318;
        --waived: #4f6b8a; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); font: 14px/1.45 system-ui, "DejaVu Sans", sans-serif; background: #fff; }
main { max-width: 1400px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.verdict { display: inline-block; font-weight: 700; padding: 4px 12px; border-radius: 4px; color: #fff; }
.verdict.fail { background: var(--fail); } .verdict.pass { background: var(--pass); }
.verdict.warn { background: var(--warn); } .verdict.none { background: var(--muted); }
dl.meta { display: grid; grid-template-columns: max-content 1fr max-content 1fr; gap: 2px 16px; margin: 12px 0; }
dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 6px 0 12px; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f6f8; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.cause { overflow-wrap: anywhere; } td.nw { white-space: nowrap; }
.v-pass { color: var(--pass); } .v-warn { color: var(--warn); font-weight: 600; }
.v-fail { color: var(--fail); font-weight: 700; } .v-waived { color: var(--waived); }
.muted { color: var(--muted); }
.maps { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
figure { margin: 0; max-width: 100%; }
figcaption { color: var(--muted); margin-bottom: 4px; }
svg.heatmap { max-width: 100%; height: auto; font: 12px system-ui, "DejaVu Sans", sans-serif; }
svg.heatmap text.v { font-size: 10px; fill: #fff; } svg.heatmap text.v.dark { fill: var(--muted); }
svg.heatmap text.row-label, svg.heatmap text.col-label { fill: var(--fg); }
.legend { color: var(--muted); font-size: 12px; }
.nodes { display: grid; grid-template-columns: repeat(auto-fill, minmax(640px, 1fr)); gap: 8px 24px; }
.node { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; break-inside: avoid; }
.node table { font-size: 12px; }
.bad { color: var(--fail); }
@media print {
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  section.rail, .node, figure, tr { break-inside: avoid; }
  .nodes { display: block; }
  .node { margin-bottom: 8px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)css";

std::string esc(std::string_view s) { return xml_escape(s); }

std::string verdict_span(Verdict v) {
  if (v == Verdict::kNone) return "<span class=\"muted\">unjudged</span>";
  return fmt::format("<span class=\"v-{0}\">{0}</span>", to_string(v));
}

std::string cell_text(const json& j) {
  if (j.is_null()) return "";
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

// A field of a rail-map port, "" when absent or of another shape.
std::string field(const json& port, const char* key) {
  return port.is_object() && port.contains(key) ? cell_text(port[key]) : "";
}

void header(const Results& r, const RunOutcome& outcome, std::string& out) {
  const auto& m = r.meta;
  const std::string verdict = outcome.status == RunOutcome::Status::kNotJudged ? "not judged" : outcome.headline();
  const std::string klass = outcome.status == RunOutcome::Status::kNotJudged ? "none" : std::string(outcome.verdict());
  out += fmt::format("<header><h1>railcheck report</h1><p class=\"verdict {}\" id=\"verdict\">{}</p>\n", klass,
                     esc(verdict));
  size_t unreachable = 0;
  for (const NodeInfo& n : r.nodes) unreachable += n.reachable ? 0 : 1;
  const std::pair<const char*, std::string> facts[] = {
      {"started", m.started},
      {"finished", m.finished},
      {"mode", m.mode},
      {"pattern", m.pattern},
      {"profile", m.profile.empty() ? "(not judged)" : m.profile},
      {"tests", fmt::format("{}", fmt::join(m.tests, ", "))},
      {"nodes", fmt::format("{}{}", r.nodes.size(), unreachable ? fmt::format(" ({} unreachable)", unreachable) : "")},
      {"records", fmt::format("{}", r.records.size())},
      {"railcheck", fmt::format("{} {}", m.railcheck_version, m.git_commit)},
      {"cross-rail", m.cross_rail ? "yes" : "no"},
      {"schema", r.schema_version},
      {"spec", m.spec.is_null() ? "" : m.spec.dump()},
  };
  out += "<dl class=\"meta\">\n";
  for (const auto& [k, v] : facts) out += fmt::format("<dt>{}</dt><dd>{}</dd>\n", k, esc(v));
  out += "</dl></header>\n";
}

void rails_table(const std::vector<RailSummary>& rails, std::string& out) {
  out += "<section id=\"rails\"><h2>Rails</h2>\n<table><thead><tr><th>rail</th><th>grouped by</th>"
         "<th class=\"num\">nodes</th><th class=\"num\">pairs</th><th class=\"num\">pass</th>"
         "<th class=\"num\">warn</th><th class=\"num\">fail</th><th class=\"num\">waived</th>"
         "<th>without this rail</th></tr></thead><tbody>\n";
  for (const auto& s : rails) {
    out += fmt::format(
        "<tr><td><a href=\"#rail-{}\">{}</a></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num v-pass\">{}</td><td class=\"num v-warn\">{}</td><td class=\"num v-fail\">{}</td>"
        "<td class=\"num v-waived\">{}</td><td>{}</td></tr>\n",
        id_fragment(s.name), esc(s.name), esc(s.info ? s.info->grouped_by : ""), s.nodes.size(), s.pairs, s.pass,
        s.warn, s.fail, s.waived, esc(s.info ? fmt::format("{}", fmt::join(s.info->missing_nodes, ", ")) : ""));
  }
  out += "</tbody></table></section>\n";
}

// The label a rail's heatmap shows: its first test of the kind, preferring a plain host one.
std::string headline(const RailSummary& s, bool latency) {
  std::string found;
  for (const TestRow& t : s.tests) {
    if (t.latency != latency) continue;
    if (t.plain) return t.label;  // "write_bw": no variant suffix
    if (found.empty()) found = t.label;
  }
  return found;
}

void rail_section(const Results& r, const std::vector<bool>& gate, const RailSummary& s, std::string& out) {
  out += fmt::format("<section class=\"rail\" id=\"rail-{}\"><h2>Rail {}</h2>\n", id_fragment(s.name), esc(s.name));
  out += fmt::format("<p>{} node(s), {} pair(s): <span class=\"v-pass\">{} pass</span>, <span class=\"v-warn\">{} "
                     "warn</span>, <span class=\"v-fail\">{} fail</span>, <span class=\"v-waived\">{} waived</span>"
                     "{}</p>\n",
                     s.nodes.size(), s.pairs, s.pass, s.warn, s.fail, s.waived,
                     s.info && !s.info->missing_nodes.empty()
                         ? esc(fmt::format("; without this rail: {}", fmt::join(s.info->missing_nodes, ", ")))
                         : "");
  out += "<div class=\"maps\">\n";
  for (const bool latency : {false, true}) {
    const std::string label = headline(s, latency);
    const TestRow* row = nullptr;
    for (const TestRow& t : s.tests) {
      if (t.label == label) row = &t;
    }
    out += fmt::format("<figure><figcaption>{}</figcaption>\n",
                       esc(label.empty() ? fmt::format("{}: no {} test on this rail", latency ? "p99 latency" : "bandwidth",
                                                       latency ? "latency" : "bandwidth")
                                         : fmt::format("{}{}: {}", label, row ? ", " + size_text(row->size_bytes) : "",
                                                       latency ? "p99 latency, us" : "average bandwidth, Gb/s")));
    out += heatmap_svg(r, gate, {s.name, s.nodes, label, latency ? HeatMetric::kLatencyP99 : HeatMetric::kBandwidth});
    out += "</figure>\n";
  }
  out += "</div>\n<p class=\"legend\">Rows: source (client); columns: destination (server). Colour: share of the "
         "rail's best figure, green at 100% to red at 50% or less. Thick outline: fail; dashed: warn; N/A: not "
         "measured.</p>\n";
  out += "<table><thead><tr><th>test</th><th class=\"num\">size</th><th class=\"num\">pairs</th>"
         "<th class=\"num\">min</th><th class=\"num\">median</th><th class=\"num\">max</th>"
         "<th class=\"num\">p99 (median)</th><th>worst pair</th></tr></thead><tbody>\n";
  for (const TestRow& t : s.tests) {
    const auto num = [&](double v) {
      if (t.measured == 0) return std::string("-");
      return t.latency ? fmt::format("{:.2f} us", v) : gbps_text(v) + " Gb/s";
    };
    out += fmt::format(
        "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{} {}</td></tr>\n",
        esc(t.label), esc(size_text(t.size_bytes)), t.records, num(t.min), num(t.median), num(t.max),
        t.latency ? num(t.p99_median) : "-", t.worst ? esc(pair_name(*t.worst)) : "",
        t.worst ? verdict_span(t.worst->verdict) : "");
  }
  out += "</tbody></table></section>\n";
}

void problems_table(const Results& r, std::string& out) {
  out += "<section id=\"failures\"><h2>Failures and warnings</h2>\n";
  std::string rows;
  for (const Verdict v : {Verdict::kFail, Verdict::kWarn, Verdict::kWaived}) {
    for (const Record& rec : r.records) {
      if (rec.verdict != v) continue;
      double value = 0;
      std::string figure = "-";
      if (headline_value(rec, value)) {
        figure = rec.is_latency() ? fmt::format("p50 {:.2f} us", value) : gbps_text(value) + " Gb/s";
      }
      rows += fmt::format(
          "<tr class=\"{}\"><td>{}</td><td class=\"nw\">{}</td><td class=\"nw\">{}</td><td class=\"nw\">{}</td>"
          "<td class=\"num nw\">{}</td><td class=\"num nw\">{}</td><td class=\"cause\">{}</td></tr>\n",
          to_string(v), verdict_span(v), esc(rec.rail), esc(pair_name(rec)), esc(test_label(rec)),
          esc(size_text(rec.size_bytes)), esc(figure), esc(rec.cause));
    }
  }
  if (rows.empty()) {
    out += "<p>None: every judged test passed.</p></section>\n";
    return;
  }
  out += "<table><thead><tr><th>verdict</th><th>rail</th><th>pair</th><th>test</th><th class=\"num\">size</th>"
         "<th class=\"num\">figure</th><th>cause</th></tr></thead><tbody>\n" +
         rows + "</tbody></table></section>\n";
}

// Every record whose port counters moved, an end a row: what the fabric did during the test
// (verbs/port_counters.hpp). No section when none moved (a healthy run, or no counters read).
void counters_table(const Results& r, std::string& out) {
  std::string rows;
  for (const Record& rec : r.records) {
    for (const auto& [end, deltas] : {std::pair{&rec.src, &rec.counters.src}, std::pair{&rec.dst, &rec.counters.dst}}) {
      if (!*deltas || (*deltas)->empty()) continue;
      std::vector<std::string> moved;
      for (const verbs::CounterDelta& d : **deltas) {
        moved.push_back(fmt::format("{} +{} ({})", d.name, d.delta, verbs::to_string(d.meaning)));
      }
      rows += fmt::format(
          "<tr class=\"{}\"><td>{}</td><td class=\"nw\">{}</td><td class=\"nw\">{}</td><td class=\"nw\">{}</td>"
          "<td class=\"num nw\">{}</td><td class=\"nw\">{}</td><td class=\"cause\">{}</td></tr>\n",
          to_string(rec.verdict), verdict_span(rec.verdict), esc(rec.rail), esc(pair_name(rec)), esc(test_label(rec)),
          esc(size_text(rec.size_bytes)), esc(fmt::format("{} {} {}", end->node, end->interface, end->device)),
          esc(fmt::format("{}", fmt::join(moved, ", "))));
    }
  }
  if (rows.empty()) return;
  out += "<section id=\"counters\"><h2>Port counters that moved</h2>\n<p>Deltas over each test, traffic counters "
         "left out (docs/faults.md says what each means).</p>\n<table><thead><tr><th>verdict</th><th>rail</th>"
         "<th>pair</th><th>test</th><th class=\"num\">size</th><th>end</th><th>counters</th></tr></thead><tbody>\n" +
         rows + "</tbody></table></section>\n";
}

void node_card(const NodeInfo& n, std::string& out) {
  out += fmt::format("<div class=\"node\" id=\"node-{}\"><h3>{}</h3>\n", id_fragment(n.node), esc(n.node));
  out += fmt::format("<p>pod {}, agent {}: {}</p>\n", esc(n.pod.empty() ? "-" : n.pod),
                     esc(n.agent.empty() ? "-" : n.agent),
                     n.reachable ? "<span class=\"v-pass\">reachable</span>"
                                 : "<span class=\"v-fail\">unreachable</span>");
  if (!n.error.empty()) out += fmt::format("<p class=\"bad\">{}</p>\n", esc(n.error));
  const json& ports = n.rail_map.is_object() && n.rail_map.contains("ports") ? n.rail_map["ports"] : json();
  if (!ports.is_array() || ports.empty()) {
    out += "<p class=\"muted\">No rail map.</p>\n";
  } else {
    out += "<table><thead><tr><th>interface</th><th>network</th><th>RDMA device</th><th>VF</th><th>link</th>"
           "<th>state</th><th class=\"num\">MTU</th><th class=\"num\">Gb/s</th><th>nearest GPU</th></tr></thead>"
           "<tbody>\n";
    for (const json& p : ports) {
      const json& gpu = p.is_object() && p.contains("nearest_gpu") ? p["nearest_gpu"] : json();
      std::string gpu_text = gpu.is_object() ? fmt::format("GPU {} ({})", field(gpu, "gpu"), field(gpu, "class")) : "";
      out += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>"
          "<td class=\"num\">{}</td><td{}>{}</td></tr>\n",
          esc(field(p, "interface")), esc(field(p, "network")), esc(field(p, "rdma_device")),
          esc(field(p, "pci_address")), esc(field(p, "link_layer")), esc(field(p, "state")),
          esc(field(p, "active_mtu")), esc(field(p, "rate_gbps")),
          gpu.is_object() && field(gpu, "class") == "SYS" ? " class=\"bad\"" : "", esc(gpu_text));
    }
    out += "</tbody></table>\n";
  }
  const json& checks = n.checks.is_object() && n.checks.contains("checks") ? n.checks["checks"] : json();
  if (checks.is_array()) {
    std::vector<std::string> bad;
    for (const json& c : checks) {
      const std::string v = field(c, "verdict");
      if (v == "fail" || v == "warn") {
        bad.push_back(fmt::format("<li><span class=\"v-{}\">{}</span> {}: {}</li>", id_fragment(v), esc(v),
                                  esc(field(c, "name")), esc(field(c, "reason"))));
      }
    }
    out += fmt::format("<p>Setup checks: {} run, {} failing or warning.</p>\n", checks.size(), bad.size());
    if (!bad.empty()) out += fmt::format("<ul>{}</ul>\n", fmt::join(bad, ""));
  }
  out += "</div>\n";
}

}  // namespace

Result<void> write_html(const RunView& run, std::ostream& stream) {
  const Results& results = run.head();
  const auto& rails = run.rails();
  const std::vector<bool> gate = gate_flags(run.table());
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>{}</title>\n<style>{}</style>\n</head>\n<body><main>\n",
      esc(fmt::format("railcheck report {}", results.meta.started)), kStyle);
  header(results, run.outcome(), out);
  rails_table(rails, out);
  for (const auto& s : rails) rail_section(results, gate, s, out);
  problems_table(results, out);
  counters_table(results, out);
  out += "<section id=\"nodes\"><h2>Nodes and their rail maps</h2>\n<div class=\"nodes\">\n";
  for (const NodeInfo& n : results.nodes) node_card(n, out);
  out += "</div></section>\n";
  if (!results.notes.empty()) {
    out += "<section id=\"notes\"><h2>Notes</h2><ul>\n";
    for (const auto& note : results.notes) out += fmt::format("<li>{}</li>\n", esc(note));
    out += "</ul></section>\n";
  }
  out += fmt::format("<footer class=\"muted\"><p>{}</p></footer>\n</main></body>\n</html>\n",
                     esc(fmt::format("railcheck.results schema {}; generated by railcheck report", results.schema_version)));
  stream << out;
  return {};
}

}  // namespace railcheck::reports
