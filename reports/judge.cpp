// judge(): the gates, the outliers and the likely causes, over a RecordTable (a run's records
// in compact form), so the coordinator can judge millions of pairs in little memory. judge()
// sets the verdicts and keeps what it worked out (JudgeContext) with the table; a row's cause
// is written from it when asked for (judged_cause()), so a run where every pair fails does not
// hold millions of cause texts.
// docs/report-schema.md ("Verdicts") describes the rules in words; tests/reports/judge_test.cpp
// pins each one.
#include "reports/judge.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>

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
      rules[k].p50_max_us = p.lat_p50_max_us.for_op(kind.test.op);
      rules[k].p99_max_us = p.lat_p99_max_us.for_op(kind.test.op);
    }
  }
  return rules;
}

}  // namespace

// Everything a judged row's cause is written from.
struct JudgeContext {
  Profile profile;
  std::vector<KindRule> rules;                 // by kind
  std::vector<std::vector<double>> end_rates;  // per rail, by end number: port rate (Gb/s), NaN unknown
  std::vector<double> rail_rates;              // per rail: its usual port rate, 0 unknown
  std::vector<std::string> common;             // per rail: the node in every slow pair, as a sentence
  bool all_gated = true;
  std::vector<bool> gate;  // by row, unless all_gated
};

namespace {

// Adds a finding to `out` (when given), its reason written only then; returns its verdict.
template <typename Reason>
Verdict found(Verdict v, std::vector<Finding>* out, Reason reason) {
  if (out) out->push_back({v, reason()});
  return v;
}

Verdict worse_of(Verdict a, Verdict b) { return verdict_rank(a) >= verdict_rank(b) ? a : b; }

Verdict check_bandwidth(const JudgeContext& c, const Row& r, bool bidir, uint16_t rail, std::vector<Finding>* out) {
  const Profile& p = c.profile;
  const double gbps = r.value;
  const double a = c.end_rates[rail][r.src], b = c.end_rates[rail][r.dst];
  const double rate = std::isnan(a) ? b : std::isnan(b) ? a : std::min(a, b);
  const double dirs = bidir ? 2 : 1;
  Verdict v = Verdict::kPass;
  if (p.bw_rate_fraction > 0 && rate > 0) {  // false for NaN
    const double floor = p.bw_rate_fraction * rate * dirs;
    if (gbps < floor) {
      v = found(Verdict::kFail, out, [&] {
        return fmt::format("{} Gb/s < {} Gb/s ({:.2f} x {:g} Gb/s{})", gbps_text(gbps), gbps_text(floor),
                           p.bw_rate_fraction, rate, bidir ? " x 2 directions" : "");
      });
    }
  } else if (p.bw_rate_fraction > 0) {
    found(Verdict::kPass, out, [] { return std::string("no port rate known: bandwidth not gated against the link"); });
  }
  if (p.bw_min_gbps > 0 && gbps < p.bw_min_gbps) {
    v = found(Verdict::kFail, out, [&] {
      return fmt::format("{} Gb/s < the profile's floor of {:g} Gb/s", gbps_text(gbps), p.bw_min_gbps);
    });
  }
  return v;
}

Verdict check_latency(const Row& r, float p99, const KindRule& rule, std::vector<Finding>* out) {
  Verdict v = Verdict::kPass;
  if (rule.p50_max_us > 0 && r.value > rule.p50_max_us) {
    v = found(Verdict::kFail, out, [&] { return fmt::format("p50 {:.2f} us > {:g} us", r.value, rule.p50_max_us); });
  }
  if (rule.p99_max_us > 0 && p99 > rule.p99_max_us) {
    v = found(Verdict::kFail, out, [&] { return fmt::format("p99 {:.2f} us > {:g} us", p99, rule.p99_max_us); });
  }
  return v;
}

Verdict check_outlier(const Row& r, bool latency, const Profile& p, const KindRule& rule, std::vector<Finding>* out) {
  if (p.outlier_pct <= 0 || !rule.median || *rule.median <= 0) return Verdict::kPass;
  const double med = *rule.median;
  const double v = r.value;
  if (latency) {
    if (v > med * (1 + p.outlier_pct / 100)) {
      return found(Verdict::kWarn, out, [&] {
        return fmt::format("p50 {:.2f} us is {:.0f}% above the rail's median {:.2f} us", v, (v / med - 1) * 100, med);
      });
    }
  } else if (v < med * (1 - p.outlier_pct / 100)) {
    return found(Verdict::kWarn, out, [&] {
      return fmt::format("{} Gb/s is {:.0f}% below the rail's median {} Gb/s", gbps_text(v), (1 - v / med) * 100,
                         gbps_text(med));
    });
  }
  return Verdict::kPass;
}

// "node-1 net1: retransmission (rcvd_seq_err +12, duplicate_request +3), link_down (link_downed +1)"
// for the deltas of one end that `keep` selects, grouped by meaning in the order they first
// appear; empty when none is kept.
template <typename Keep>
std::string counter_sentence(const PairEnd& end, const std::vector<verbs::CounterDelta>& deltas, Keep&& keep) {
  std::vector<std::pair<verbs::CounterMeaning, std::string>> groups;
  for (const verbs::CounterDelta& d : deltas) {
    if (!keep(d)) continue;
    auto it = std::ranges::find(groups, d.meaning, &std::pair<verbs::CounterMeaning, std::string>::first);
    if (it == groups.end()) it = groups.insert(groups.end(), {d.meaning, {}});
    it->second += fmt::format("{}{} +{}", it->second.empty() ? "" : ", ", d.name, d.delta);
  }
  if (groups.empty()) return {};
  std::string out = fmt::format("{} {}:", end.node, end.interface);
  for (size_t i = 0; i < groups.size(); ++i) {
    out += fmt::format("{} {} ({})", i == 0 ? "" : ",", verbs::to_string(groups[i].first), groups[i].second);
  }
  return out;
}

// Each end's sentence (counter_sentence) of the row's counters, source first.
template <typename Keep>
std::vector<std::string> counter_sentences(const RecordTable& t, const Row& r, size_t i, Keep&& keep) {
  std::vector<std::string> out;
  const RecordCounters* c = t.counters(i);
  if (c == nullptr) return out;
  for (auto [id, deltas] : {std::pair{t.src(r), &c->src}, std::pair{t.dst(r), &c->dst}}) {
    if (!*deltas) continue;
    if (std::string s = counter_sentence(t.end(id), **deltas, keep); !s.empty()) out.push_back(std::move(s));
  }
  return out;
}

// A fault counter that moved enough: retransmissions from the profile's floor up (a stalled host
// retransmits too), the rest (a link down, symbol errors, discards) from 1.
bool counts_as_fault(const verbs::CounterDelta& d, const Profile& p) {
  if (!verbs::is_fault(d.meaning)) return false;
  return d.meaning != verbs::CounterMeaning::kRetransmission || d.delta >= p.counter_min_delta;
}

// A fault counter that moved warns, whatever the figures (Profile::counter_faults).
Verdict check_counters(const RecordTable& t, const Row& r, size_t i, const Profile& p, std::vector<Finding>* out) {
  if (!p.counter_faults) return Verdict::kPass;
  const RecordCounters* c = t.counters(i);
  if (c == nullptr) return Verdict::kPass;
  const auto counts = [&](const verbs::CounterDelta& x) { return counts_as_fault(x, p); };
  const auto faulty = [&](const std::optional<std::vector<verbs::CounterDelta>>& d) {
    return d && std::ranges::any_of(*d, counts);
  };
  if (!faulty(c->src) && !faulty(c->dst)) return Verdict::kPass;
  return found(Verdict::kWarn, out, [&] {
    return fmt::format("port counters moved during the test: {}", fmt::join(counter_sentences(t, r, i, counts), "; "));
  });
}

// The checks of a row that ran and has figures: the verdict of the most severe (a pass when
// none), and with `out`, what each found. A pass may carry notes (an ungated bandwidth).
Verdict check(const JudgeContext& c, const RecordTable& t, const Row& r, size_t i, float p99, std::vector<Finding>* out) {
  const RecordTable::Kind& kind = t.kind(r);
  const KindRule& rule = c.rules[r.kind];
  Verdict v = Verdict::kPass;
  // Bandwidth is gated at every size where the link saturates, not only the largest.
  const bool saturating = !kind.latency && c.profile.bw_gate_from_bytes > 0 && t.size_bytes(r) >= c.profile.bw_gate_from_bytes;
  if (c.all_gated || c.gate[i] || saturating) {
    v = kind.latency ? check_latency(r, p99, rule, out) : check_bandwidth(c, r, kind.bidir, kind.rail, out);
  }
  v = worse_of(v, check_outlier(r, kind.latency, c.profile, rule, out));
  return worse_of(v, check_counters(t, r, i, c.profile, out));
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

// Per rail, the distinct node pairs with a slow (warn or fail) row and how many of them each
// node is in, against how many pairs it is in at all: a node is named as a likely cause when it
// is in every slow pair (at least two) and at least three quarters of its own pairs are slow. A
// faulty port slows every pair it is in; two pairs that a busy host's stall slowed, sharing a
// node by chance among its several clean ones, do not name it (docs/faults.md).
// Two bits per node pair (256 KiB a rail for 1024 nodes), whatever the number of rows.
class SlowPairs {
 public:
  explicit SlowPairs(const RecordTable& t) : t_(t), nodes_(t.node_count()), rails_(t.rail_count()) {}

  // Every judged row, slow or not.
  void add(const Row& r, bool slow) {
    Rail& s = rails_[t_.rail(r)];
    if (s.count.empty()) {
      s.seen.assign(nodes_ * nodes_, false);
      s.slow_seen.assign(nodes_ * nodes_, false);
      s.count.assign(nodes_, 0);
      s.total.assign(nodes_, 0);
    }
    const uint32_t a = t_.node_of(t_.src(r)), b = t_.node_of(t_.dst(r));
    const size_t key = size_t{std::min(a, b)} * nodes_ + std::max(a, b);
    if (!s.seen[key]) {
      s.seen[key] = true;
      ++s.total[a];
      if (b != a) ++s.total[b];
    }
    if (!slow) return;
    s.errors = s.errors || r.failed_to_run();
    if (s.slow_seen[key]) return;
    s.slow_seen[key] = true;
    ++s.pairs;
    ++s.count[a];
    if (b != a) ++s.count[b];
  }

  // Per rail: "gpu-3 is in all 7 slow pairs of rail r1", or empty.
  [[nodiscard]] std::vector<std::string> sentences() const {
    std::vector<std::string> out(rails_.size());
    for (size_t rail = 0; rail < rails_.size(); ++rail) {
      const Rail& s = rails_[rail];
      if (s.pairs < 2) continue;
      size_t in_all = 0, node = 0;
      for (size_t n = 0; n < s.count.size(); ++n) {
        if (s.count[n] == s.pairs) ++in_all, node = n;
      }
      if (in_all != 1 || 4 * s.count[node] < 3 * s.total[node]) continue;
      out[rail] = fmt::format("{} is in all {} {} pairs of rail {}", t_.node_name(static_cast<uint32_t>(node)), s.pairs,
                              s.errors ? "failing" : "slow", t_.rail_name(static_cast<uint16_t>(rail)));
    }
    return out;
  }

 private:
  struct Rail {
    std::vector<bool> seen, slow_seen;  // by (smaller node, larger node)
    std::vector<size_t> count, total;   // by node: its slow pairs, all its pairs
    size_t pairs = 0;
    bool errors = false;
  };
  const RecordTable& t_;
  size_t nodes_;
  std::vector<Rail> rails_;
};

// The likely causes of one warn or fail row.
std::vector<std::string> causes_of(const RecordTable& t, const Row& r, size_t i, const Profile& p,
                                   const std::vector<double>& rates, const std::vector<std::string>& common) {
  std::vector<std::string> causes;
  // Congestion always; fault counters when the findings do not name them already.
  for (std::string& s : counter_sentences(t, r, i, [&](const verbs::CounterDelta& d) {
         return d.meaning == verbs::CounterMeaning::kCongestion ||
                (!p.counter_faults && counts_as_fault(d, p));
       })) {
    causes.push_back(std::move(s));
  }
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
    // A link of the end's own below its port rate (a NIC trained at a lower PCIe speed or width).
    if (e.budget_gbps && e.rate_gbps && *e.budget_gbps < *e.rate_gbps && !e.budget_note.empty()) {
      causes.push_back(fmt::format("{} {}: {}", e.node, e.interface, e.budget_note));
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

std::string judged_cause(const JudgeContext& c, const RecordTable& t, size_t i) {
  const Row& r = t.row(i);
  const bool latency = t.latency(r);
  std::string cause;
  if (r.failed_to_run()) {
    cause = t.error(i);
  } else if (!r.figures()) {
    cause = latency ? "no latency figures recorded" : "no bandwidth figures recorded";
  } else {
    std::vector<Finding> findings;
    check(c, t, r, i, t.p99(i), &findings);
    // The most severe first.
    std::ranges::stable_sort(findings, [](const Finding& a, const Finding& b) {
      return verdict_rank(a.verdict) > verdict_rank(b.verdict);
    });
    for (const Finding& f : findings) cause += (cause.empty() ? "" : "; ") + f.reason;
  }
  if (r.verdict == Verdict::kWarn || r.verdict == Verdict::kFail) {
    const auto causes = causes_of(t, r, i, c.profile, c.rail_rates, c.common);
    if (!causes.empty()) cause = fmt::format("{}; likely cause: {}", cause, fmt::join(causes, "; "));
  }
  return cause;
}

void judge(RecordTable& t, const Profile& profile) {
  auto c = std::make_shared<JudgeContext>();
  c->profile = profile;
  c->all_gated = every_row_gated(t);
  if (!c->all_gated) c->gate = gate_flags(t);
  t.clear_causes();  // every row but the waived gets its verdict below
  c->rules = kind_rules(t, profile);
  c->end_rates.resize(t.rail_count());
  for (size_t rail = 0; rail < c->end_rates.size(); ++rail) {
    for (uint32_t e : t.rail_ends(static_cast<uint16_t>(rail))) {
      c->end_rates[rail].push_back(t.end(e).rate_gbps.value_or(std::numeric_limits<double>::quiet_NaN()));
    }
  }
  SlowPairs slow(t);
  t.for_each_row([&](size_t i, const Row& r, const RecordTable::Kind&, float p99) {
    if (r.verdict == Verdict::kWaived) return;
    const Verdict v = r.failed_to_run() || !r.figures() ? Verdict::kFail : check(*c, t, r, i, p99, nullptr);
    t.set_judged_verdict(i, v);
    slow.add(r, v == Verdict::kWarn || v == Verdict::kFail);
  });
  c->rail_rates = rail_rates(t);
  c->common = slow.sentences();
  t.set_judge_context(std::move(c));
}

Result<RecordTable> judge(Results& results, const Profile& profile) {
  auto table = RecordTable::of(results.records);
  if (!table) return table;
  results.meta.profile = profile.name;
  judge(*table, profile);
  for (size_t i = 0; i < results.records.size(); ++i) {
    Record& r = results.records[i];
    r.verdict = table->row(i).verdict;
    r.cause = table->cause(i);
  }
  return table;
}

}  // namespace railcheck::reports
