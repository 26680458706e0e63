// judge(): the gates, the outliers and the likely causes, over a RecordTable (a run's records
// in compact form), so the coordinator can judge millions of pairs in little memory.
// docs/report-schema.md ("Verdicts") describes the rules in words; tests/reports/judge_test.cpp
// pins each one.
#include "reports/judge.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "reports/analysis.hpp"
#include "reports/record_table.hpp"

namespace railcheck::reports {
namespace {

using Row = RecordTable::Row;

// What one check found: the verdict it asks for and why.
struct Finding {
  Verdict verdict;
  std::string reason;
};

// Rows are compared with their rail's median for the same test, size and QP count (shape).
uint64_t group_key(const Row& r) {
  return uint64_t{r.rail} << 32 | uint64_t{r.label} << 16 | r.shape;
}

// The rail medians every outlier check compares with, over rows with figures.
std::unordered_map<uint64_t, double> group_medians(const RecordTable& t, const Profile& p) {
  std::unordered_map<uint64_t, double> medians;
  for_each_group(
      t, group_key,
      [](size_t, const Row& r, double& v) {
        v = r.value();
        return r.verdict != Verdict::kWaived && !r.failed_to_run() && r.figures();
      },
      [&](uint64_t key, std::vector<double>& values) {
        if (values.size() >= p.outlier_min_pairs && !values.empty()) medians[key] = median(std::move(values));
      });
  return medians;
}

void check_bandwidth(const RecordTable& t, const Row& r, const Profile& p, std::vector<Finding>& out) {
  const double gbps = r.value();
  const PairEnd& src = t.end(r.src);
  const PairEnd& dst = t.end(r.dst);
  std::optional<double> rate;
  if (src.rate_gbps && dst.rate_gbps) rate = std::min(*src.rate_gbps, *dst.rate_gbps);
  else if (src.rate_gbps) rate = src.rate_gbps;
  else if (dst.rate_gbps) rate = dst.rate_gbps;
  const bool bidir = (r.flags & RecordTable::kBidir) != 0;
  const double dirs = bidir ? 2 : 1;
  if (p.bw_rate_fraction > 0 && rate && *rate > 0) {
    const double floor = p.bw_rate_fraction * *rate * dirs;
    if (gbps < floor) {
      out.push_back({Verdict::kFail, fmt::format("{} Gb/s < {} Gb/s ({:.2f} x {:g} Gb/s{})", gbps_text(gbps),
                                                 gbps_text(floor), p.bw_rate_fraction, *rate,
                                                 bidir ? " x 2 directions" : "")});
    }
  } else if (p.bw_rate_fraction > 0) {
    out.push_back({Verdict::kPass, "no port rate known: bandwidth not gated against the link"});
  }
  if (p.bw_min_gbps > 0 && gbps < p.bw_min_gbps) {
    out.push_back(
        {Verdict::kFail, fmt::format("{} Gb/s < the profile's floor of {:g} Gb/s", gbps_text(gbps), p.bw_min_gbps)});
  }
}

void check_latency(const RecordTable& t, const Row& r, const Profile& p, std::vector<Finding>& out) {
  const std::string& test = t.test(r);
  if (const double max = p.lat_p50_max_us.for_test(test); max > 0 && r.value() > max) {
    out.push_back({Verdict::kFail, fmt::format("p50 {:.2f} us > {:g} us", r.value(), max)});
  }
  if (const double max = p.lat_p99_max_us.for_test(test); max > 0 && r.p99 > max) {
    out.push_back({Verdict::kFail, fmt::format("p99 {:.2f} us > {:g} us", r.p99, max)});
  }
}

// The median a row is compared with; rows come in runs of one group, so the last one is kept.
class MedianOf {
 public:
  explicit MedianOf(std::unordered_map<uint64_t, double> medians) : medians_(std::move(medians)) {}
  std::optional<double> operator()(const Row& r) {
    if (const uint64_t key = group_key(r); key != key_) {
      key_ = key;
      auto it = medians_.find(key);
      median_ = it == medians_.end() ? std::nullopt : std::optional(it->second);
    }
    return median_;
  }

 private:
  std::unordered_map<uint64_t, double> medians_;
  uint64_t key_ = UINT64_MAX;
  std::optional<double> median_;
};

void check_outlier(const Row& r, const Profile& p, MedianOf& median_of, std::vector<Finding>& out) {
  if (p.outlier_pct <= 0) return;
  const std::optional<double> median = median_of(r);
  if (!median || *median <= 0) return;
  const double med = *median;
  const double v = r.value();
  if (r.latency()) {
    if (v > med * (1 + p.outlier_pct / 100)) {
      out.push_back({Verdict::kWarn, fmt::format("p50 {:.2f} us is {:.0f}% above the rail's median {:.2f} us", v,
                                                 (v / med - 1) * 100, med)});
    }
  } else if (v < med * (1 - p.outlier_pct / 100)) {
    out.push_back({Verdict::kWarn, fmt::format("{} Gb/s is {:.0f}% below the rail's median {} Gb/s", gbps_text(v),
                                               (1 - v / med) * 100, gbps_text(med))});
  }
}

// The verdict of the most severe finding; the cause lists every finding that is not a plain
// pass, the most severe first (a pass keeps its notes, e.g. an ungated bandwidth).
void settle(RecordTable& t, size_t i, std::vector<Finding> findings) {
  if (findings.empty()) {
    t.set_verdict(i, Verdict::kPass, {});
    return;
  }
  std::ranges::stable_sort(findings, [](const Finding& a, const Finding& b) {
    return verdict_rank(a.verdict) > verdict_rank(b.verdict);
  });
  Verdict v = findings.empty() ? Verdict::kPass : findings.front().verdict;
  if (verdict_rank(v) < verdict_rank(Verdict::kPass)) v = Verdict::kPass;
  std::vector<std::string> reasons;
  for (const Finding& f : findings) reasons.push_back(f.reason);
  t.set_verdict(i, v, fmt::format("{}", fmt::join(reasons, "; ")));
}

// Each rail's usual port rate (Gb/s): the median over its ports' rates.
std::map<uint16_t, double> rail_rates(const RecordTable& t) {
  std::map<uint16_t, std::map<uint32_t, double>> ports;  // rail -> port -> rate
  std::vector<uint8_t> seen;                             // per rail, per end
  const size_t ends = t.end_count();
  for (const Row& r : t.rows()) {
    if (seen.size() < (size_t{r.rail} + 1) * ends) seen.resize((size_t{r.rail} + 1) * ends, 0);
    for (uint32_t e : {r.src, r.dst}) {
      uint8_t& s = seen[size_t{r.rail} * ends + e];
      if (s) continue;
      s = 1;
      if (const auto& rate = t.end(e).rate_gbps) ports[r.rail][t.port_of(e)] = *rate;
    }
  }
  std::map<uint16_t, double> out;
  for (const auto& [rail, by_port] : ports) {
    if (by_port.size() < 2) continue;
    std::vector<double> rates;
    for (const auto& [port, rate] : by_port) rates.push_back(rate);
    out[rail] = median(std::move(rates));
  }
  return out;
}

// Per rail: the sentence naming the one node in every slow (warn or fail) pair, when there is
// one and at least two slow pairs.
std::map<uint16_t, std::string> common_nodes(const RecordTable& t) {
  struct Slow {
    std::set<std::pair<uint32_t, uint32_t>> pairs;  // node ids, smaller first
    bool errors = false;
  };
  std::map<uint16_t, Slow> slow;
  for (const Row& r : t.rows()) {
    if (r.verdict != Verdict::kWarn && r.verdict != Verdict::kFail) continue;
    auto& s = slow[r.rail];
    const uint32_t a = t.node_of(r.src), b = t.node_of(r.dst);
    s.pairs.insert({std::min(a, b), std::max(a, b)});
    s.errors = s.errors || r.failed_to_run();
  }
  std::map<uint16_t, std::string> out;
  for (const auto& [rail, s] : slow) {
    if (s.pairs.size() < 2) continue;
    std::map<uint32_t, size_t> count;
    for (const auto& [a, b] : s.pairs) {
      ++count[a];
      if (b != a) ++count[b];
    }
    std::vector<uint32_t> in_all;
    for (const auto& [node, n] : count) {
      if (n == s.pairs.size()) in_all.push_back(node);
    }
    if (in_all.size() != 1) continue;
    out[rail] = fmt::format("{} is in all {} {} pairs of rail {}", t.node_name(in_all.front()), s.pairs.size(),
                            s.errors ? "failing" : "slow", t.name(rail));
  }
  return out;
}

// The likely causes of one warn or fail row.
std::vector<std::string> causes_of(const RecordTable& t, const Row& r, const Profile& p,
                                   const std::map<uint16_t, double>& rates,
                                   const std::map<uint16_t, std::string>& common) {
  std::vector<std::string> causes;
  // A test that did not run says why itself; only the pattern across pairs adds to that.
  for (uint32_t id : {r.src, r.dst}) {
    if (r.failed_to_run()) break;
    const PairEnd& e = t.end(id);
    if (e.gpu_class == "SYS" && e.mem == "cuda") {
      causes.push_back(fmt::format("{} {}: GPU{} to {} is SYS (across CPU sockets)", e.node, e.interface,
                                   e.gpu ? fmt::format(" {}", *e.gpu) : "", e.device.empty() ? "the NIC" : e.device));
    }
    // The port's MTU and rate limit bandwidth; a small message's latency does not see them.
    if (r.latency()) continue;
    if (p.roce_min_mtu > 0 && e.link_layer == "Ethernet" && e.active_mtu && *e.active_mtu < p.roce_min_mtu) {
      causes.push_back(
          fmt::format("{} {}: RoCE active MTU {} < {}", e.node, e.interface, *e.active_mtu, p.roce_min_mtu));
    }
    if (auto it = rates.find(r.rail); it != rates.end() && e.rate_gbps && *e.rate_gbps < it->second) {
      causes.push_back(fmt::format("{} {}: link rate {:g} Gb/s, below the rail's {:g} Gb/s", e.node, e.interface,
                                   *e.rate_gbps, it->second));
    }
  }
  if (auto it = common.find(r.rail); it != common.end()) causes.push_back(it->second);
  std::vector<std::string> unique;
  for (auto& c : causes) {
    if (std::ranges::find(unique, c) == unique.end()) unique.push_back(std::move(c));
  }
  return unique;
}

}  // namespace

void judge(RecordTable& t, const Profile& profile) {
  const std::vector<bool> gate = gate_flags(t);
  for (size_t i = 0; i < t.size(); ++i) {
    if (t.row(i).verdict != Verdict::kWaived) t.set_verdict(i, Verdict::kNone, {});
  }
  MedianOf median_of(group_medians(t, profile));
  for (size_t i = 0; i < t.size(); ++i) {
    const Row& r = t.row(i);
    if (r.verdict == Verdict::kWaived) continue;
    if (r.failed_to_run()) {
      t.set_verdict(i, Verdict::kFail, t.error(i));
      continue;
    }
    if (!r.figures()) {
      t.set_verdict(i, Verdict::kFail, r.latency() ? "no latency figures recorded" : "no bandwidth figures recorded");
      continue;
    }
    std::vector<Finding> findings;
    if (gate[i]) {
      if (r.latency()) check_latency(t, r, profile, findings);
      else check_bandwidth(t, r, profile, findings);
    }
    check_outlier(r, profile, median_of, findings);
    settle(t, i, std::move(findings));
  }
  const auto rates = rail_rates(t);
  const auto common = common_nodes(t);
  for (size_t i = 0; i < t.size(); ++i) {
    const Row& r = t.row(i);
    if (r.verdict != Verdict::kWarn && r.verdict != Verdict::kFail) continue;
    const auto causes = causes_of(t, r, profile, rates, common);
    if (!causes.empty()) {
      t.set_verdict(i, r.verdict, fmt::format("{}; likely cause: {}", t.cause(i), fmt::join(causes, "; ")));
    }
  }
}

void judge(Results& results, const Profile& profile) {
  results.meta.profile = profile.name;
  RecordTable table = RecordTable::of(results.records);
  judge(table, profile);
  for (size_t i = 0; i < results.records.size(); ++i) {
    Record& r = results.records[i];
    r.verdict = table.row(i).verdict;
    r.cause = table.cause(i);
  }
}

}  // namespace railcheck::reports
