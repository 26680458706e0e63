// The terminal report: what an operator reads first. A header, one block per rail (pairs and
// their verdicts; min / median / max per test at its gated size; the worst pair), then the
// failures, warnings and waived tests with their causes, then nodes and notes. Fits 100
// columns: long names are shortened, causes wrapped.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <ostream>
#include <sstream>

#include "reports/analysis.hpp"
#include "reports/outputs.hpp"
#include "reports/reporters.hpp"
#include "reports/record_table.hpp"

namespace railcheck::reports {
namespace {

constexpr size_t kWidth = 100;

// Shortens text to `width` columns, marking the cut with "~".
std::string fit(std::string_view text, size_t width) {
  if (text.size() <= width) return std::string(text);
  if (width == 0) return {};
  return std::string(text.substr(0, width - 1)) + "~";
}

// Wraps text at word boundaries to kWidth, every line after the first indented by `indent`.
std::string wrap(std::string_view text, size_t first_col, size_t indent) {
  std::string out;
  size_t col = first_col;
  std::istringstream words{std::string(text)};
  bool first = true;
  for (std::string w; words >> w;) {
    if (!first && col + 1 + w.size() > kWidth) {
      out += "\n" + std::string(indent, ' ');
      col = indent;
    } else if (!first) {
      out += ' ';
      ++col;
    }
    out += fit(w, kWidth - indent);
    col += std::min(w.size(), kWidth - indent);
    first = false;
  }
  return out;
}

std::string figure(double v, bool latency) { return latency ? fmt::format("{:.2f}", v) : gbps_text(v); }

std::string verdict_text(Verdict v) { return v == Verdict::kNone ? "unjudged" : std::string(to_string(v)); }

void header(const Results& r, const RecordTable& t, const std::vector<RailSummary>& rails, std::string& out) {
  const auto& m = r.meta;
  size_t unreachable = 0;
  for (const NodeInfo& n : r.nodes) unreachable += n.reachable ? 0 : 1;
  size_t pairs = 0;
  for (const auto& s : rails) pairs += s.pairs;
  out += fmt::format("railcheck report: {} run, {} node(s){}, {} rail(s), {} pair(s), {} record(s)\n",
                     m.mode.empty() ? "a" : m.mode, r.nodes.size(),
                     unreachable ? fmt::format(" ({} unreachable)", unreachable) : "", rails.size(), pairs,
                     t.size());
  std::vector<std::string> facts;
  if (!m.started.empty()) facts.push_back(fmt::format("{} .. {}", m.started, m.finished.empty() ? "?" : m.finished));
  if (!m.railcheck_version.empty()) {
    facts.push_back(fmt::format("railcheck {}{}", m.railcheck_version,
                                m.git_commit.empty() ? "" : fmt::format(" ({})", m.git_commit)));
  }
  facts.push_back(m.profile.empty() ? "not judged" : fmt::format("profile {}", m.profile));
  out += wrap(fmt::format("{}", fmt::join(facts, ", ")), 2, 2).insert(0, "  ") + "\n";
  out += "  figures at each test's gated size: bandwidth avg Gb/s at the largest, latency p50 us at the\n"
         "  smallest (p99: the pairs' median); worst pair: the most severe verdict, then the worst figure\n";
}

void rail_block(const RecordTable& table, const RailSummary& s, std::string& out) {
  std::string by = s.info && !s.info->grouped_by.empty() ? fmt::format(" (by {})", s.info->grouped_by) : "";
  std::string counts = fmt::format("{} pass, {} warn, {} fail, {} waived", s.pass, s.warn, s.fail, s.waived);
  if (s.unjudged) counts += fmt::format(", {} unjudged", s.unjudged);
  out += "\n" + wrap(fmt::format("rail {}{}: {} node(s), {} pair(s): {}", s.name, by, s.nodes.size(), s.pairs, counts),
                     0, 2) + "\n";
  if (s.info && !s.info->missing_nodes.empty()) {
    out += "  " + wrap(fmt::format("without this rail: {}", fmt::join(s.info->missing_nodes, ", ")), 2, 4) + "\n";
  }
  if (s.tests.empty()) return;
  out += fmt::format("  {:<16} {:>8} {:>5} {:>8} {:>8} {:>8} {:>8}  {}\n", "test", "size", "pairs", "min", "median",
                     "max", "p99", "worst pair");
  for (const TestRow& t : s.tests) {
    std::string worst;
    if (t.worst_row != SIZE_MAX) {
      worst = table.pair_name(t.worst_row);  // the verdict only when it says something: all pass otherwise
      const Verdict v = table.row(t.worst_row).verdict;
      if (v != Verdict::kPass) worst += fmt::format(" ({})", verdict_text(v));
    }
    const bool any = t.measured > 0;
    out += fmt::format("  {:<16} {:>8} {:>5} {:>8} {:>8} {:>8} {:>8}  {}\n", fit(t.label, 16), size_text(t.size_bytes),
                       t.records, any ? figure(t.min, t.latency) : "-", any ? figure(t.median, t.latency) : "-",
                       any ? figure(t.max, t.latency) : "-", t.latency && any ? figure(t.p99_median, true) : "-",
                       fit(worst, kWidth - 71));
  }
}

// Records of one verdict, grouped per rail, pair and test: one entry with the sizes it
// covers and the cause at the first of them. At most kListedPerRail entries a rail, in the
// order the records came: a rail where every pair fails gives a line saying how many more,
// not a million entries (results.json and the other formats list every record).
constexpr size_t kListedPerRail = 20;

void verdict_section(const RecordTable& t, Verdict v, std::string_view title, std::string& out) {
  struct Group {
    size_t first;
    std::vector<uint64_t> sizes;
  };
  using Key = std::tuple<uint16_t, uint32_t, uint32_t, uint16_t>;  // rail, source node, destination node, label
  std::vector<Key> order;
  std::map<Key, Group> groups;
  std::vector<size_t> listed(t.rail_count(), 0), more(t.rail_count(), 0);  // per rail: entries, records left out
  for (size_t i = 0; i < t.size(); ++i) {
    const RecordTable::Row& row = t.row(i);
    if (row.verdict != v) continue;
    const uint16_t rail = t.rail(row);
    const Key key{rail, t.node_of(t.src(row)), t.node_of(t.dst(row)), t.label(row)};
    auto it = groups.find(key);
    if (it == groups.end()) {
      if (listed[rail] == kListedPerRail) {
        ++more[rail];
        continue;
      }
      ++listed[rail];
      it = groups.emplace(key, Group{i, {}}).first;
      order.push_back(key);
    }
    it->second.sizes.push_back(t.size_bytes(row));
  }
  if (groups.empty()) return;
  const size_t left_out = std::accumulate(more.begin(), more.end(), size_t{0});
  out += left_out == 0 ? fmt::format("\n{} ({})\n", title, groups.size())
                       : fmt::format("\n{} ({} listed, {} more records)\n", title, groups.size(), left_out);
  for (const auto& key : order) {
    const Group& g = groups.at(key);
    const RecordTable::Row& row = t.row(g.first);
    std::vector<std::string> sizes;
    for (uint64_t s : g.sizes) sizes.push_back(size_text(s));
    const std::string head = fmt::format("{} {} {} {}", fit(t.rail_name(t.rail(row)), 16),
                                         fit(t.pair_name(g.first), 40), fit(t.name(t.label(row)), 18), fmt::join(sizes, ", "));
    out += "  " + wrap(head, 2, 6) + "\n";
    std::string cause = t.cause(g.first);
    if (cause.empty()) cause = "(no cause recorded)";
    if (g.sizes.size() > 1) cause = fmt::format("at {}: {}", size_text(t.size_bytes(row)), cause);
    out += "      " + wrap(cause, 6, 6) + "\n";
  }
  for (size_t rail = 0; rail < more.size(); ++rail) {
    if (more[rail] == 0) continue;
    out += "  " + wrap(fmt::format("... and {} more {} records on rail {}, not listed here: results.json has every one",
                                   more[rail], verdict_text(v), t.rail_name(static_cast<uint16_t>(rail))),
                       2, 6) + "\n";
  }
}

void nodes_and_notes(const Results& r, std::string& out) {
  std::vector<std::string> lines;
  for (const NodeInfo& n : r.nodes) {
    if (!n.reachable) lines.push_back(fmt::format("{}: unreachable: {}", n.node, n.error.empty() ? "no reason" : n.error));
    else if (!n.error.empty()) lines.push_back(fmt::format("{}: {}", n.node, n.error));
  }
  if (!lines.empty()) {
    out += fmt::format("\nnodes ({})\n", lines.size());
    for (const auto& l : lines) out += "  " + wrap(l, 2, 6) + "\n";
  }
  if (!r.notes.empty()) {
    out += fmt::format("\nnotes ({})\n", r.notes.size());
    for (const auto& n : r.notes) out += "  " + wrap(n, 2, 4) + "\n";
  }
}

}  // namespace

Result<void> write_terminal(const RunView& run, std::ostream& stream) {
  const RecordTable& table = run.table();
  std::string out;
  header(run.head(), table, run.rails(), out);
  for (const auto& s : run.rails()) rail_block(table, s, out);
  verdict_section(table, Verdict::kFail, "failures", out);
  verdict_section(table, Verdict::kWarn, "warnings", out);
  verdict_section(table, Verdict::kWaived, "waived", out);
  nodes_and_notes(run.head(), out);
  out += "\n" + wrap("verdict: " + run.outcome().headline(), 0, 2) + "\n";
  stream << out;
  return {};
}

}  // namespace railcheck::reports
