#include "reports/analysis.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "verbs/spec.hpp"

namespace railcheck::reports {
namespace {

// The pair-of-ends-and-test identity whose sizes a gate chooses among.
using GateKey = std::tuple<std::string, std::string, std::string, std::string, std::string, std::string>;

GateKey gate_key(const Record& r) {
  return {r.rail, r.src.node, r.src.interface, r.dst.node, r.dst.interface, test_label(r)};
}

// Index of the record's test in the run's test list (unknown tests last), for ordering.
size_t test_order(const Results& results, const std::string& test) {
  const auto& tests = results.meta.tests;
  return static_cast<size_t>(std::ranges::find(tests, test) - tests.begin());
}

// Whether `a` is worse than `b`: a more severe verdict, then a worse figure.
bool worse(const Record& a, const Record& b) {
  if (verdict_rank(a.verdict) != verdict_rank(b.verdict)) return verdict_rank(a.verdict) > verdict_rank(b.verdict);
  double va = 0, vb = 0;
  const bool ha = headline_value(a, va), hb = headline_value(b, vb);
  if (ha != hb) return !ha;  // no figures is worse
  if (!ha) return false;
  return a.is_latency() ? va > vb : va < vb;
}

TestRow test_row(const Results& results, const std::vector<bool>& gate, std::string_view rail,
                 const std::string& label) {
  TestRow row;
  row.label = label;
  std::vector<double> values, p99s;
  for (size_t i = 0; i < results.records.size(); ++i) {
    const Record& r = results.records[i];
    if (!gate[i] || r.rail != rail || test_label(r) != label) continue;
    row.latency = r.is_latency();
    row.size_bytes = std::max(row.size_bytes, r.size_bytes);
    ++row.records;
    if (row.worst == nullptr || worse(r, *row.worst)) row.worst = &r;
    double v = 0;
    if (r.verdict == Verdict::kWaived || !r.error.empty() || !headline_value(r, v)) continue;
    values.push_back(v);
    if (r.latency_us) p99s.push_back(r.latency_us->p99);
  }
  row.measured = values.size();
  if (!values.empty()) {
    row.min = std::ranges::min(values);
    row.max = std::ranges::max(values);
    row.median = median(values);
  }
  row.p99_median = median(p99s);
  return row;
}

}  // namespace

std::string test_label(const Record& r) {
  std::string label = r.test;
  if (r.bidir) label += "_bidir";
  if (r.src.mem == r.dst.mem) {
    if (r.src.mem != "host" && !r.src.mem.empty()) label += "_" + r.src.mem;
  } else {
    label += fmt::format("_{}-{}", r.src.mem, r.dst.mem);
  }
  return label;
}

std::string pair_name(const Record& r) { return fmt::format("{} -> {}", r.src.node, r.dst.node); }

std::string size_text(uint64_t bytes) { return verbs::format_size(bytes); }

std::string gbps_text(double gbps) {
  if (gbps < 1) return fmt::format("{:.3f}", gbps);
  if (gbps < 10) return fmt::format("{:.2f}", gbps);
  return fmt::format("{:.1f}", gbps);
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::ranges::sort(values);
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int verdict_rank(Verdict v) noexcept {
  switch (v) {
    case Verdict::kNone: return 0;
    case Verdict::kWaived: return 1;
    case Verdict::kPass: return 2;
    case Verdict::kWarn: return 3;
    case Verdict::kFail: return 4;
  }
  return 0;
}

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
  std::map<GateKey, uint64_t> gate_size;
  for (const Record& r : records) {
    auto [it, fresh] = gate_size.try_emplace(gate_key(r), r.size_bytes);
    if (!fresh) it->second = r.is_latency() ? std::min(it->second, r.size_bytes) : std::max(it->second, r.size_bytes);
  }
  std::vector<bool> flags;
  flags.reserve(records.size());
  for (const Record& r : records) flags.push_back(gate_size.at(gate_key(r)) == r.size_bytes);
  return flags;
}

std::vector<std::string> rail_names(const Results& results) {
  std::vector<std::string> names;
  for (const RailInfo& rail : results.rails) {
    if (std::ranges::find(names, rail.name) == names.end()) names.push_back(rail.name);
  }
  for (const Record& r : results.records) {
    if (std::ranges::find(names, r.rail) == names.end()) names.push_back(r.rail);
  }
  return names;
}

std::vector<std::string> rail_nodes(const Results& results, std::string_view rail) {
  std::vector<std::string> nodes;
  auto add = [&](const std::string& n) {
    if (!n.empty() && std::ranges::find(nodes, n) == nodes.end()) nodes.push_back(n);
  };
  for (const RailInfo& info : results.rails) {
    if (info.name != rail) continue;
    for (const RailMember& m : info.members) add(m.node);
  }
  for (const Record& r : results.records) {
    if (r.rail != rail) continue;
    add(r.src.node);
    add(r.dst.node);
  }
  return nodes;
}

std::vector<RailSummary> summarize_rails(const Results& results) {
  const std::vector<bool> gate = gate_flags(results.records);
  std::vector<RailSummary> out;
  for (const std::string& name : rail_names(results)) {
    RailSummary s;
    s.name = name;
    for (const RailInfo& info : results.rails) {
      if (info.name == name) s.info = &info;
    }
    s.nodes = rail_nodes(results, name);
    std::map<std::pair<std::string, std::string>, Verdict> pairs;
    std::vector<std::string> labels;
    for (const Record& r : results.records) {
      if (r.rail != name) continue;
      ++s.records;
      auto [it, fresh] = pairs.try_emplace({r.src.node, r.dst.node}, r.verdict);
      if (!fresh && verdict_rank(r.verdict) > verdict_rank(it->second)) it->second = r.verdict;
      if (std::string l = test_label(r); std::ranges::find(labels, l) == labels.end()) labels.push_back(std::move(l));
    }
    s.pairs = pairs.size();
    for (const auto& [pair, v] : pairs) {
      switch (v) {
        case Verdict::kPass: ++s.pass; break;
        case Verdict::kWarn: ++s.warn; break;
        case Verdict::kFail: ++s.fail; break;
        case Verdict::kWaived: ++s.waived; break;
        case Verdict::kNone: ++s.unjudged; break;
      }
    }
    // The run's test order; variants of one test after it, by name.
    std::ranges::stable_sort(labels, [&](const std::string& a, const std::string& b) {
      const std::string ta = a.substr(0, a.find('_', a.find('_') + 1));
      const std::string tb = b.substr(0, b.find('_', b.find('_') + 1));
      return std::tuple(test_order(results, ta), a) < std::tuple(test_order(results, tb), b);
    });
    for (const std::string& l : labels) s.tests.push_back(test_row(results, gate, name, l));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace railcheck::reports
