// Prometheus text exposition (format 0.0.4) of a judged run: per pair and test, the gated
// figure (bandwidth at the largest size, latency at the smallest) and the verdict; per rail,
// pairs by verdict; per node, reachability; and the run's outcome. Served by the agent's
// /metrics after its own counters, and written as metrics.prom for node-exporter's textfile
// collector. Families are named railcheck_* and each has its HELP and TYPE once.
#include <fmt/format.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <ostream>
#include <set>
#include <vector>

#include "reports/analysis.hpp"
#include "reports/outputs.hpp"
#include "reports/reporters.hpp"
#include "reports/record_table.hpp"

namespace railcheck::reports {
namespace {

// Ten significant digits: the figures have fewer, and 1.9 us prints as 1.9e-06, not 1.8999999999999998e-06.
std::string value(double v) { return fmt::format("{:.10g}", v); }

struct Family {
  std::string name;
  std::string type;
  std::string help;
  std::vector<std::string> samples;  // full lines
};

void sample(Family& f, std::string_view suffix, std::string_view labels, const std::string& v) {
  if (labels.empty()) f.samples.push_back(fmt::format("{}{} {}", f.name, suffix, v));
  else f.samples.push_back(fmt::format("{}{}{{{}}} {}", f.name, suffix, labels, v));
}

std::string pair_labels(const Record& r) {
  return fmt::format("rail=\"{}\",src=\"{}\",dst=\"{}\",test=\"{}\"", prometheus_label_value(r.rail),
                     prometheus_label_value(r.src.node), prometheus_label_value(r.dst.node),
                     prometheus_label_value(test_label(r)));
}

// Seconds since the epoch of an RFC 3339 UTC time ("2026-11-20T10:04:12Z", fractions
// allowed); false for anything else.
bool epoch_seconds(const std::string& text, double& out) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, consumed = 0;
  double s = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%lf%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6) return false;
  if (static_cast<size_t>(consumed) + 1 != text.size() || text.back() != 'Z') return false;
  std::tm tm{};
  tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d, tm.tm_hour = h, tm.tm_min = mi;
  out = static_cast<double>(timegm(&tm)) + s;
  return true;
}

// Per pair and test: the gated figure, and the verdict as a state set.
void pair_samples(const Results& results, const std::vector<bool>& gate, Family& bw, Family& lat, Family& verdict) {
  std::set<std::string> seen;            // one sample per label set, even if two records share one
  std::map<std::string, Verdict> worst;  // pair labels -> the most severe verdict
  std::vector<std::string> worst_order;
  for (size_t i = 0; i < results.records.size(); ++i) {
    const Record& r = results.records[i];
    const std::string labels = pair_labels(r);
    if (r.verdict != Verdict::kNone) {
      auto [it, fresh] = worst.try_emplace(labels, r.verdict);
      if (fresh) worst_order.push_back(labels);
      else if (verdict_rank(r.verdict) > verdict_rank(it->second)) it->second = r.verdict;
    }
    if (!gate[i] || r.verdict == Verdict::kWaived || !r.error.empty() || !seen.insert(labels).second) continue;
    if (r.bandwidth && !r.is_latency()) sample(bw, "", labels, value(r.bandwidth->avg_gbps));
    if (r.latency_us && r.is_latency()) {
      const LatencyUs& l = *r.latency_us;
      for (auto [q, v] : {std::pair{"0.5", l.p50}, {"0.9", l.p90}, {"0.99", l.p99}, {"0.999", l.p99_9}}) {
        sample(lat, "", fmt::format("{},quantile=\"{}\"", labels, q), value(v * 1e-6));
      }
      sample(lat, "_sum", labels, value(l.mean * 1e-6 * static_cast<double>(l.count)));
      sample(lat, "_count", labels, fmt::format("{}", l.count));
    }
  }
  for (const std::string& labels : worst_order) {
    for (Verdict v : {Verdict::kPass, Verdict::kWarn, Verdict::kFail, Verdict::kWaived}) {
      sample(verdict, "", fmt::format("{},verdict=\"{}\"", labels, to_string(v)), worst.at(labels) == v ? "1" : "0");
    }
  }
}

}  // namespace

std::string prometheus_label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

Result<void> write_prometheus(const RunView& run, std::ostream& stream) {
  const Results& results = run.head();
  Family bw{"railcheck_bandwidth_gbps", "gauge",
            "Average bandwidth of a pair's bandwidth test at its largest message size, in Gb/s.", {}};
  Family lat{"railcheck_latency_seconds", "summary",
             "Latency of a pair's latency test at its smallest message size (write, send: half the round trip; "
             "read: the full round trip).",
             {}};
  Family verdict{"railcheck_verdict", "gauge",
                 "Verdict of a pair's test, the most severe over its sizes: 1 for the verdict it has, 0 for the others.",
                 {}};
  Family rail_pairs{"railcheck_rail_pairs", "gauge", "Node pairs of a rail by their most severe verdict.", {}};
  Family reachable{"railcheck_node_reachable", "gauge", "1 when the run reached the node's agent, else 0.", {}};
  Family failed{"railcheck_run_failed", "gauge",
                "1 when the run failed (a test failed, an agent never answered, a node lacked a rail: its exit code was 1), "
                "else 0.",
                {}};
  Family finished{"railcheck_run_finished_timestamp_seconds", "gauge",
                  "When the run finished, in seconds since the Unix epoch.", {}};
  pair_samples(results, gate_flags(run.table()), bw, lat, verdict);
  for (const RailSummary& s : run.rails()) {
    for (auto [name, n] : {std::pair{"pass", s.pass}, {"warn", s.warn}, {"fail", s.fail}, {"waived", s.waived}}) {
      sample(rail_pairs, "", fmt::format("rail=\"{}\",verdict=\"{}\"", prometheus_label_value(s.name), name),
             fmt::format("{}", n));
    }
  }
  for (const NodeInfo& n : results.nodes) {
    sample(reachable, "", fmt::format("node=\"{}\"", prometheus_label_value(n.node)), n.reachable ? "1" : "0");
  }
  if (run.outcome().status != RunOutcome::Status::kNotJudged) sample(failed, "", "", run.outcome().failed() ? "1" : "0");
  if (double t = 0; epoch_seconds(results.meta.finished, t)) sample(finished, "", "", value(t));

  std::string out;
  for (const Family* f : {&bw, &lat, &verdict, &rail_pairs, &reachable, &failed, &finished}) {
    if (f->samples.empty()) continue;
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f->name, f->help, f->name, f->type);
    for (const auto& line : f->samples) out += line + "\n";
  }
  stream << out;
  return {};
}

}  // namespace railcheck::reports
