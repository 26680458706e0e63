// judge(): the gates, the outliers and the likely causes, over a RecordTable (a run's records
// in compact form), so the coordinator can judge millions of pairs in little memory.
// docs/report-schema.md ("Verdicts") describes the rules in words; tests/reports/judge_test.cpp
// pins each one.
#include "reports/judge.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>

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

// What the checks need of a row's kind, worked out once per kind, not per row.
struct KindRule {
  std::optional<double> median;  // the rail's median for the kind (outliers); none below outlier_min_pairs
  double p50_max_us = 0;         // latency gates (0: none)
  double p99_max_us = 0;
};

std::vector<KindRule> kind_rules(const RecordTable& t, const Profile& p) {
  const auto& stats = t.kind_stats();
  std::vector<KindRule> rules(t.kind_count());
  for (size_t k = 0; k < rules.size(); ++k) {
    const RecordTable::Kind& kind = t.kind_at(static_cast<uint16_t>(k));
    if (stats[k].measured > 0 && stats[k].measured >= p.outlier_min_pairs) rules[k].median = stats[k].median;
    if (kind.latency) {
      rules[k].p50_max_us = p.lat_p50_max_us.for_test(t.name(kind.test));
      rules[k].p99_max_us = p.lat_p99_max_us.for_test(t.name(kind.test));
    }
  }
  return rules;
}

// `rates`: the port rate (Gb/s) of each end of the row's rail, by end number; NaN: unknown.
void check_bandwidth(const Row& r, bool bidir, std::span<const double> rates, const Profile& p,
                     std::vector<Finding>& out) {
  const double gbps = r.value;
  const double a = rates[r.src], b = rates[r.dst];
  const double rate = std::isnan(a) ? b : std::isnan(b) ? a : std::min(a, b);
  const double dirs = bidir ? 2 : 1;
  if (p.bw_rate_fraction > 0 && rate > 0) {  // false for NaN
    const double floor = p.bw_rate_fraction * rate * dirs;
    if (gbps < floor) {
      out.push_back({Verdict::kFail, fmt::format("{} Gb/s < {} Gb/s ({:.2f} x {:g} Gb/s{})", gbps_text(gbps),
                                                 gbps_text(floor), p.bw_rate_fraction, rate,
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

void check_latency(const Row& r, float p99, const KindRule& rule, std::vector<Finding>& out) {
  if (rule.p50_max_us > 0 && r.value > rule.p50_max_us) {
    out.push_back({Verdict::kFail, fmt::format("p50 {:.2f} us > {:g} us", r.value, rule.p50_max_us)});
  }
  if (rule.p99_max_us > 0 && p99 > rule.p99_max_us) {
    out.push_back({Verdict::kFail, fmt::format("p99 {:.2f} us > {:g} us", p99, rule.p99_max_us)});
  }
}

void check_outlier(const Row& r, bool latency, const Profile& p, const KindRule& rule, std::vector<Finding>& out) {
  if (p.outlier_pct <= 0 || !rule.median || *rule.median <= 0) return;
  const double med = *rule.median;
  const double v = r.value;
  if (latency) {
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
void settle(RecordTable& t, size_t i, std::vector<Finding>& findings) {
  if (findings.empty()) {
    t.set_verdict(i, Verdict::kPass, {});
    return;
  }
  std::ranges::stable_sort(findings, [](const Finding& a, const Finding& b) {
    return verdict_rank(a.verdict) > verdict_rank(b.verdict);
  });
  Verdict v = findings.front().verdict;
  if (verdict_rank(v) < verdict_rank(Verdict::kPass)) v = Verdict::kPass;
  std::string cause;
  for (const Finding& f : findings) cause += (cause.empty() ? "" : "; ") + f.reason;
  t.set_verdict(i, v, cause);
}

// Each rail's usual port rate (Gb/s): the median over its ports' rates; 0 when fewer than two
// ports say.
std::vector<double> rail_rates(const RecordTable& t) {
  std::vector<double> out(t.rail_count(), 0);
  for (size_t rail = 0; rail < out.size(); ++rail) {
    std::map<uint32_t, double> by_port;
    for (uint32_t e : t.rail_ends(static_cast<uint16_t>(rail))) {
      if (const auto& rate = t.end(e).rate_gbps) by_port[t.port_of(e)] = *rate;
    }
    if (by_port.size() < 2) continue;
    std::vector<double> rates;
    for (const auto& [port, rate] : by_port) rates.push_back(rate);
    out[rail] = median(std::move(rates));
  }
  return out;
}

// Per rail: the sentence naming the one node in every slow (warn or fail) pair, when there is
// one and at least two slow pairs; empty otherwise. `slow_rows`: the warn and fail rows.
std::vector<std::string> common_nodes(const RecordTable& t, std::span<const uint32_t> slow_rows) {
  struct Slow {
    std::set<std::pair<uint32_t, uint32_t>> pairs;  // node ids, smaller first
    bool errors = false;
  };
  std::vector<Slow> slow(t.rail_count());
  for (uint32_t i : slow_rows) {
    const Row& r = t.row(i);
    auto& s = slow[t.rail(r)];
    const uint32_t a = t.node_of(t.src(r)), b = t.node_of(t.dst(r));
    s.pairs.insert({std::min(a, b), std::max(a, b)});
    s.errors = s.errors || r.failed_to_run();
  }
  std::vector<std::string> out(t.rail_count());
  for (size_t rail = 0; rail < slow.size(); ++rail) {
    const Slow& s = slow[rail];
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
                            s.errors ? "failing" : "slow", t.rail_name(static_cast<uint16_t>(rail)));
  }
  return out;
}

// The likely causes of one warn or fail row.
std::vector<std::string> causes_of(const RecordTable& t, const Row& r, const Profile& p, const std::vector<double>& rates,
                                   const std::vector<std::string>& common) {
  std::vector<std::string> causes;
  const uint16_t rail = t.rail(r);
  // A test that did not run says why itself; only the pattern across pairs adds to that.
  for (uint32_t id : {t.src(r), t.dst(r)}) {
    if (r.failed_to_run()) break;
    const PairEnd& e = t.end(id);
    if (e.gpu_class == "SYS" && e.mem == "cuda") {
      causes.push_back(fmt::format("{} {}: GPU{} to {} is SYS (across CPU sockets)", e.node, e.interface,
                                   e.gpu ? fmt::format(" {}", *e.gpu) : "", e.device.empty() ? "the NIC" : e.device));
    }
    // The port's MTU and rate limit bandwidth; a small message's latency does not see them.
    if (t.latency(r)) continue;
    if (p.roce_min_mtu > 0 && e.link_layer == "Ethernet" && e.active_mtu && *e.active_mtu < p.roce_min_mtu) {
      causes.push_back(
          fmt::format("{} {}: RoCE active MTU {} < {}", e.node, e.interface, *e.active_mtu, p.roce_min_mtu));
    }
    if (rates[rail] > 0 && e.rate_gbps && *e.rate_gbps < rates[rail]) {
      causes.push_back(fmt::format("{} {}: link rate {:g} Gb/s, below the rail's {:g} Gb/s", e.node, e.interface,
                                   *e.rate_gbps, rates[rail]));
    }
  }
  if (!common[rail].empty()) causes.push_back(common[rail]);
  std::vector<std::string> unique;
  for (auto& c : causes) {
    if (std::ranges::find(unique, c) == unique.end()) unique.push_back(std::move(c));
  }
  return unique;
}

}  // namespace

void judge(RecordTable& t, const Profile& profile) {
  const bool all_gated = every_row_gated(t);
  const std::vector<bool> gate = all_gated ? std::vector<bool>{} : gate_flags(t);
  t.clear_causes();  // every row but the waived gets its verdict below
  const std::vector<KindRule> rules = kind_rules(t, profile);
  std::vector<std::vector<double>> end_rates(t.rail_count());
  for (size_t rail = 0; rail < end_rates.size(); ++rail) {
    for (uint32_t e : t.rail_ends(static_cast<uint16_t>(rail))) {
      end_rates[rail].push_back(t.end(e).rate_gbps.value_or(std::numeric_limits<double>::quiet_NaN()));
    }
  }
  const auto p99s = t.latency_p99s();
  size_t latency_row = 0;  // the row's entry in p99s
  std::vector<Finding> findings;
  std::vector<uint32_t> slow;  // the warn and fail rows
  for (size_t i = 0; i < t.size(); ++i) {
    const Row& r = t.row(i);
    const RecordTable::Kind& kind = t.kind(r);
    const bool latency = kind.latency;
    const float p99 = latency ? p99s[latency_row++] : 0;
    if (r.verdict == Verdict::kWaived) continue;
    if (r.failed_to_run()) {
      t.set_verdict(i, Verdict::kFail, t.error(i));
    } else if (!r.figures()) {
      t.set_verdict(i, Verdict::kFail, latency ? "no latency figures recorded" : "no bandwidth figures recorded");
    } else {
      const KindRule& rule = rules[r.kind];
      findings.clear();
      if (all_gated || gate[i]) {
        if (latency) check_latency(r, p99, rule, findings);
        else check_bandwidth(r, kind.bidir, end_rates[kind.rail], profile, findings);
      }
      check_outlier(r, latency, profile, rule, findings);
      settle(t, i, findings);
    }
    if (r.verdict == Verdict::kWarn || r.verdict == Verdict::kFail) slow.push_back(static_cast<uint32_t>(i));
  }
  const auto rates = rail_rates(t);
  const auto common = common_nodes(t, slow);
  for (uint32_t i : slow) {
    const Row& r = t.row(i);
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
