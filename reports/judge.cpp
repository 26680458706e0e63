// judge(): the gates, the outliers and the likely causes. docs/report-schema.md ("Verdicts")
// describes the rules in words; tests/reports/judge_test.cpp pins each one.
#include "reports/judge.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "reports/analysis.hpp"

namespace railcheck::reports {
namespace {

// What one check found: the verdict it asks for and why.
struct Finding {
  Verdict verdict;
  std::string reason;
};

using GroupKey = std::tuple<std::string, std::string, uint64_t, uint32_t>;  // rail, label, size, qps

GroupKey group_key(const Record& r) { return {r.rail, test_label(r), r.size_bytes, r.qps}; }

bool has_figures(const Record& r) { return r.is_latency() ? r.latency_us.has_value() : r.bandwidth.has_value(); }

// The rail medians every outlier check compares with, over records with figures.
std::map<GroupKey, double> group_medians(const std::vector<Record>& records, const Profile& p) {
  std::map<GroupKey, std::vector<double>> values;
  for (const Record& r : records) {
    double v = 0;
    if (r.verdict == Verdict::kWaived || !r.error.empty() || !headline_value(r, v)) continue;
    values[group_key(r)].push_back(v);
  }
  std::map<GroupKey, double> medians;
  for (auto& [key, v] : values) {
    if (v.size() >= p.outlier_min_pairs) medians[key] = median(v);
  }
  return medians;
}

void check_bandwidth(const Record& r, const Profile& p, bool gated, std::vector<Finding>& out) {
  const double gbps = r.bandwidth->avg_gbps;
  if (!gated) return;
  std::optional<double> rate;
  if (r.src.rate_gbps && r.dst.rate_gbps) rate = std::min(*r.src.rate_gbps, *r.dst.rate_gbps);
  else if (r.src.rate_gbps) rate = r.src.rate_gbps;
  else if (r.dst.rate_gbps) rate = r.dst.rate_gbps;
  const double dirs = r.bidir ? 2 : 1;
  if (p.bw_rate_fraction > 0 && rate && *rate > 0) {
    const double floor = p.bw_rate_fraction * *rate * dirs;
    if (gbps < floor) {
      out.push_back({Verdict::kFail, fmt::format("{} Gb/s < {} Gb/s ({:.2f} x {:g} Gb/s{})", gbps_text(gbps),
                                                 gbps_text(floor), p.bw_rate_fraction, *rate,
                                                 r.bidir ? " x 2 directions" : "")});
    }
  } else if (p.bw_rate_fraction > 0) {
    out.push_back({Verdict::kPass, "no port rate known: bandwidth not gated against the link"});
  }
  if (p.bw_min_gbps > 0 && gbps < p.bw_min_gbps) {
    out.push_back(
        {Verdict::kFail, fmt::format("{} Gb/s < the profile's floor of {:g} Gb/s", gbps_text(gbps), p.bw_min_gbps)});
  }
}

void check_latency(const Record& r, const Profile& p, bool gated, std::vector<Finding>& out) {
  if (!gated) return;
  const LatencyUs& l = *r.latency_us;
  if (const double max = p.lat_p50_max_us.for_test(r.test); max > 0 && l.p50 > max) {
    out.push_back({Verdict::kFail, fmt::format("p50 {:.2f} us > {:g} us", l.p50, max)});
  }
  if (const double max = p.lat_p99_max_us.for_test(r.test); max > 0 && l.p99 > max) {
    out.push_back({Verdict::kFail, fmt::format("p99 {:.2f} us > {:g} us", l.p99, max)});
  }
}

void check_outlier(const Record& r, const Profile& p, const std::map<GroupKey, double>& medians,
                   std::vector<Finding>& out) {
  if (p.outlier_pct <= 0) return;
  auto it = medians.find(group_key(r));
  if (it == medians.end() || it->second <= 0) return;
  const double med = it->second;
  double v = 0;
  headline_value(r, v);
  if (r.is_latency()) {
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
void settle(Record& r, std::vector<Finding> findings) {
  std::ranges::stable_sort(findings, [](const Finding& a, const Finding& b) {
    return verdict_rank(a.verdict) > verdict_rank(b.verdict);
  });
  r.verdict = findings.empty() ? Verdict::kPass : findings.front().verdict;
  if (verdict_rank(r.verdict) < verdict_rank(Verdict::kPass)) r.verdict = Verdict::kPass;
  std::vector<std::string> reasons;
  for (const Finding& f : findings) reasons.push_back(f.reason);
  r.cause = fmt::format("{}", fmt::join(reasons, "; "));
}

// Each rail's usual port rate (Gb/s): the median over its ports' rates in the records.
using RailRates = std::map<std::string, double>;

RailRates rail_rates(const std::vector<Record>& records) {
  std::map<std::string, std::map<std::pair<std::string, std::string>, double>> ports;
  for (const Record& r : records) {
    for (const PairEnd* e : {&r.src, &r.dst}) {
      if (e->rate_gbps) ports[r.rail][{e->node, e->interface}] = *e->rate_gbps;
    }
  }
  RailRates out;
  for (const auto& [rail, by_port] : ports) {
    if (by_port.size() < 2) continue;
    std::vector<double> rates;
    for (const auto& [port, rate] : by_port) rates.push_back(rate);
    out[rail] = median(rates);
  }
  return out;
}

// Per rail: the sentence naming the one node in every slow (warn or fail) pair, when there is
// one and at least two slow pairs.
std::map<std::string, std::string> common_nodes(const std::vector<Record>& records) {
  struct Slow {
    std::set<std::pair<std::string, std::string>> pairs;
    bool errors = false;
  };
  std::map<std::string, Slow> slow;
  for (const Record& r : records) {
    if (r.verdict != Verdict::kWarn && r.verdict != Verdict::kFail) continue;
    auto& s = slow[r.rail];
    s.pairs.insert(std::minmax(r.src.node, r.dst.node));
    s.errors = s.errors || !r.error.empty();
  }
  std::map<std::string, std::string> out;
  for (const auto& [rail, s] : slow) {
    if (s.pairs.size() < 2) continue;
    std::map<std::string, size_t> count;
    for (const auto& [a, b] : s.pairs) {
      ++count[a];
      if (b != a) ++count[b];
    }
    std::vector<std::string> in_all;
    for (const auto& [node, n] : count) {
      if (n == s.pairs.size()) in_all.push_back(node);
    }
    if (in_all.size() != 1) continue;
    out[rail] = fmt::format("{} is in all {} {} pairs of rail {}", in_all.front(), s.pairs.size(),
                            s.errors ? "failing" : "slow", rail);
  }
  return out;
}

// The likely causes of one warn or fail record.
std::vector<std::string> causes_of(const Record& r, const Profile& p, const RailRates& rates,
                                   const std::map<std::string, std::string>& common) {
  std::vector<std::string> causes;
  // A test that did not run says why itself; only the pattern across pairs adds to that.
  for (const PairEnd* e : {&r.src, &r.dst}) {
    if (!r.error.empty()) break;
    if (e->gpu_class == "SYS" && e->mem == "cuda") {
      causes.push_back(fmt::format("{} {}: GPU{} to {} is SYS (across CPU sockets)", e->node, e->interface,
                                   e->gpu ? fmt::format(" {}", *e->gpu) : "", e->device.empty() ? "the NIC" : e->device));
    }
    // The port's MTU and rate limit bandwidth; a small message's latency does not see them.
    if (r.is_latency()) continue;
    if (p.roce_min_mtu > 0 && e->link_layer == "Ethernet" && e->active_mtu && *e->active_mtu < p.roce_min_mtu) {
      causes.push_back(
          fmt::format("{} {}: RoCE active MTU {} < {}", e->node, e->interface, *e->active_mtu, p.roce_min_mtu));
    }
    if (auto it = rates.find(r.rail); it != rates.end() && e->rate_gbps && *e->rate_gbps < it->second) {
      causes.push_back(fmt::format("{} {}: link rate {:g} Gb/s, below the rail's {:g} Gb/s", e->node, e->interface,
                                   *e->rate_gbps, it->second));
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

void judge(Results& results, const Profile& profile) {
  results.meta.profile = profile.name;
  auto& records = results.records;
  const std::vector<bool> gate = gate_flags(records);
  for (Record& r : records) {
    if (r.verdict != Verdict::kWaived) r.verdict = Verdict::kNone;
  }
  const auto medians = group_medians(records, profile);
  for (size_t i = 0; i < records.size(); ++i) {
    Record& r = records[i];
    if (r.verdict == Verdict::kWaived) continue;
    if (!r.error.empty()) {
      r.verdict = Verdict::kFail;
      r.cause = r.error;
      continue;
    }
    if (!has_figures(r)) {
      r.verdict = Verdict::kFail;
      r.cause = r.is_latency() ? "no latency figures recorded" : "no bandwidth figures recorded";
      continue;
    }
    std::vector<Finding> findings;
    if (r.is_latency()) check_latency(r, profile, gate[i], findings);
    else check_bandwidth(r, profile, gate[i], findings);
    check_outlier(r, profile, medians, findings);
    settle(r, std::move(findings));
  }
  const RailRates rates = rail_rates(records);
  const auto common = common_nodes(records);
  for (Record& r : records) {
    if (r.verdict != Verdict::kWarn && r.verdict != Verdict::kFail) continue;
    const auto causes = causes_of(r, profile, rates, common);
    if (!causes.empty()) r.cause += fmt::format("; likely cause: {}", fmt::join(causes, "; "));
  }
}

}  // namespace railcheck::reports
