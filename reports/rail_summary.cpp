// The views of a table the reports share: which size each pair's test is gated at, and the
// per-rail summaries (pairs, verdict counts, min / median / max per test, worst pair).
// Declared in record_table.hpp.
#include "reports/record_table.hpp"

#include <algorithm>
#include <functional>
#include <string_view>
#include <tuple>
#include <unordered_set>

namespace railcheck::reports {

namespace {

// Per test (series): whether it ran at several sizes.
std::vector<uint8_t> several_sizes(const RecordTable& t) {
  std::vector<uint8_t> several(t.series_count(), 0);
  for (size_t s = 0; s < several.size(); ++s) {
    const auto& kinds = t.series(static_cast<uint16_t>(s)).kinds;
    several[s] = std::ranges::any_of(
        kinds, [&](uint16_t k) { return t.kind_at(k).size_bytes != t.kind_at(kinds.front()).size_bytes; });
  }
  return several;
}

// Whether row a is worse than row b (of the same test): a more severe verdict, then no figures,
// then a worse figure.
bool worse(const RecordTable::Row& a, const RecordTable::Row& b, bool latency) {
  if (verdict_rank(a.verdict) != verdict_rank(b.verdict)) return verdict_rank(a.verdict) > verdict_rank(b.verdict);
  if (a.figures() != b.figures()) return !a.figures();
  if (!a.figures()) return false;
  return latency ? a.value > b.value : a.value < b.value;
}

}  // namespace

bool every_row_gated(const RecordTable& t) { return std::ranges::none_of(several_sizes(t), std::identity{}); }

std::vector<bool> gate_flags(const RecordTable& t) {
  const auto rows = t.rows();
  std::vector<bool> flags(rows.size(), true);
  // Usually a test runs at one size: every row is gated. Only the rows of a test (series) with
  // several sizes are grouped by pair of ports.
  const std::vector<uint8_t> several = several_sizes(t);
  if (std::ranges::none_of(several, std::identity{})) return flags;
  std::vector<std::vector<uint32_t>> members(t.series_count());
  for (size_t i = 0; i < rows.size(); ++i) {
    const uint16_t s = t.kind(rows[i]).series;
    if (several[s]) members[s].push_back(static_cast<uint32_t>(i));
  }
  for (auto& idx : members) {
    auto pair_of = [&](uint32_t i) { return std::pair(t.port_of(t.src(rows[i])), t.port_of(t.dst(rows[i]))); };
    std::ranges::stable_sort(idx, [&](uint32_t a, uint32_t b) { return pair_of(a) < pair_of(b); });
    for (size_t b = 0; b < idx.size();) {
      size_t e = b;
      uint64_t gate = t.size_bytes(rows[idx[b]]);
      for (; e < idx.size() && pair_of(idx[e]) == pair_of(idx[b]); ++e) {
        const uint64_t s = t.size_bytes(rows[idx[e]]);
        gate = t.latency(rows[idx[e]]) ? std::min(gate, s) : std::max(gate, s);
      }
      for (size_t k = b; k < e; ++k) flags[idx[k]] = t.size_bytes(rows[idx[k]]) == gate;
      b = e;
    }
  }
  return flags;
}

namespace {

// The one pass's accumulators. Per rail: each (source, destination) node pair's worst verdict in
// a dense matrix over the table's nodes (1 MiB for 1024 nodes), its tests. Per test (series):
// the gated rows' count, size and worst row. A rail's nodes, in the order its rows first name
// them, are its ends' nodes.
struct RailAcc {
  size_t records = 0;
  std::vector<uint32_t> node_of;  // by end number within the rail
  std::vector<uint32_t> nodes;
  std::vector<uint8_t> pair_rank;  // verdict rank + 1; 0: no record
  std::vector<uint16_t> series;
};
struct TestAcc {
  bool seen = false;
  size_t records = 0;
  uint64_t size = 0;
  size_t worst = SIZE_MAX;
  RecordTable::KindStats figures;  // of the gated, measured rows
};

// Which rows are judged: every row, or (several sizes) those the gate flags.
struct Gate {
  bool all = true;
  std::vector<bool> flags;
  [[nodiscard]] bool operator()(size_t row) const { return all || flags[row]; }
};

std::vector<RailAcc> rail_accumulators(const RecordTable& t) {
  const size_t n_nodes = t.node_count();
  std::vector<RailAcc> by_rail(t.rail_count());
  std::vector<uint8_t> node_listed(n_nodes);
  for (size_t r = 0; r < by_rail.size(); ++r) {
    std::ranges::fill(node_listed, 0);
    for (uint32_t end : t.rail_ends(static_cast<uint16_t>(r))) {
      const uint32_t node = t.node_of(end);
      by_rail[r].node_of.push_back(node);
      if (!node_listed[node]) {
        node_listed[node] = 1;
        by_rail[r].nodes.push_back(node);
      }
    }
    by_rail[r].pair_rank.assign(n_nodes * n_nodes, 0);
  }
  return by_rail;
}

// One pass over the rows: each pair's worst verdict, each rail's tests, each test's gated rows.
void accumulate_rows(const RecordTable& t, const Gate& gate, std::vector<RailAcc>& by_rail,
                     std::vector<TestAcc>& by_series) {
  const auto rows = t.rows();
  const size_t n_nodes = t.node_count();
  // A pair's rows come one after another: its worst rank is written once.
  uint8_t* pair = nullptr;
  uint8_t rank = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const RecordTable::Kind& k = t.kind(r);
    RailAcc& ra = by_rail[k.rail];
    ++ra.records;
    uint8_t* p = &ra.pair_rank[size_t{ra.node_of[r.src]} * n_nodes + ra.node_of[r.dst]];
    if (p != pair) {
      if (pair) *pair = std::max(*pair, rank);
      pair = p;
      rank = 0;
    }
    rank = std::max<uint8_t>(rank, static_cast<uint8_t>(verdict_rank(r.verdict) + 1));
    TestAcc& a = by_series[k.series];
    if (!a.seen) {
      a.seen = true;
      ra.series.push_back(k.series);
    }
    if (!gate(i)) continue;
    a.size = std::max(a.size, k.size_bytes);
    ++a.records;
    if (a.worst == SIZE_MAX || worse(r, rows[a.worst], k.latency)) a.worst = i;
  }
  if (pair) *pair = std::max(*pair, rank);
}

// The figures of the gated, measured rows. A test that ran at one size and QP count is one
// kind, whose figures the table has; the others are counted in one pass, their medians
// selected in a few more.
void add_figures(const RecordTable& t, const Gate& gate, std::vector<TestAcc>& by_series) {
  const auto& stats = t.kind_stats();
  std::vector<RecordTable::KindStats> several(by_series.size());  // tests of several kinds
  bool any_several = false;
  for (size_t s = 0; s < by_series.size(); ++s) {
    const auto& kinds = t.series(static_cast<uint16_t>(s)).kinds;
    if (kinds.size() == 1) by_series[s].figures = stats[kinds.front()];
    else any_several = true;
  }
  if (!any_several) return;
  auto feed = [&](auto&& visit) {
    t.for_each_row([&](size_t i, const RecordTable::Row& r, const RecordTable::Kind& k, float p99) {
      if (t.series(k.series).kinds.size() > 1 && gate(i) && r.measured()) visit(k.series, r.value, k.latency, p99);
    });
  };
  feed([&](size_t s, double v, bool latency, float p99) { several[s].add(v, latency, p99); });
  select_medians(several, feed);
  for (size_t s = 0; s < by_series.size(); ++s) {
    if (t.series(static_cast<uint16_t>(s)).kinds.size() > 1) by_series[s].figures = several[s];
  }
}

// Rails in report order: the run's, then those only the records name.
std::vector<std::string> rail_order(const RecordTable& t, std::span<const RailInfo> rails) {
  std::vector<std::string> names;
  for (const RailInfo& rail : rails) {
    if (std::ranges::find(names, rail.name) == names.end()) names.push_back(rail.name);
  }
  for (size_t r = 0; r < t.rail_count(); ++r) {
    if (std::ranges::find(names, t.rail_name(static_cast<uint16_t>(r))) == names.end()) {
      names.push_back(t.rail_name(static_cast<uint16_t>(r)));
    }
  }
  return names;
}

// Each node pair counted once, by its worst verdict.
void count_pairs(const RailAcc& ra, RailSummary& s) {
  for (uint8_t p : ra.pair_rank) {
    if (p == 0) continue;
    ++s.pairs;
    switch (p - 1) {
      case 0: ++s.unjudged; break;
      case 1: ++s.waived; break;
      case 2: ++s.pass; break;
      case 3: ++s.warn; break;
      default: ++s.fail; break;
    }
  }
}

// A rail's test rows: the run's test order; variants of one test after it, by name.
std::vector<TestRow> test_rows(const RecordTable& t, RailAcc& ra, const std::vector<TestAcc>& by_series,
                               std::span<const std::string> tests) {
  auto order = [&](uint16_t series) {
    const RecordTable::Series& se = t.series(series);
    return std::tuple(static_cast<size_t>(std::ranges::find(tests, se.test.name()) - tests.begin()), t.name(se.label));
  };
  std::ranges::stable_sort(ra.series, [&](uint16_t a, uint16_t b) { return order(a) < order(b); });
  std::vector<TestRow> out;
  for (uint16_t series : ra.series) {
    const TestAcc& a = by_series[series];
    TestRow row;
    row.label = t.name(t.series(series).label);
    row.test = t.series(series).test;
    row.plain = t.series(series).plain;
    row.latency = t.series(series).latency;
    row.size_bytes = a.size;
    row.records = a.records;
    row.worst_row = a.worst;
    row.measured = a.figures.measured;
    row.min = a.figures.min;
    row.median = a.figures.median;
    row.max = a.figures.max;
    row.p99_median = a.figures.p99_median;
    out.push_back(std::move(row));
  }
  return out;
}

// One rail's summary: its nodes (the run's members, then those only its records name), its
// pairs by worst verdict, its test rows.
RailSummary summarize_rail(const RecordTable& t, const std::string& name, std::span<const RailInfo> rails,
                           std::vector<RailAcc>& by_rail, const std::vector<TestAcc>& by_series,
                           std::span<const std::string> tests) {
  RailSummary s;
  s.name = name;
  std::unordered_set<std::string_view> listed;  // s.nodes
  for (const RailInfo& info : rails) {
    if (info.name != name) continue;
    s.info = &info;
    for (const RailMember& m : info.members) {
      if (!m.node.empty() && listed.insert(m.node).second) s.nodes.push_back(m.node);
    }
  }
  const auto rail = t.find_rail(name);
  if (!rail) return s;
  RailAcc& ra = by_rail[*rail];
  s.records = ra.records;
  for (uint32_t n : ra.nodes) {
    const std::string& node = t.node_name(n);
    if (!node.empty() && listed.insert(node).second) s.nodes.push_back(node);
  }
  count_pairs(ra, s);
  s.tests = test_rows(t, ra, by_series, tests);
  return s;
}

}  // namespace

std::vector<RailSummary> summarize_rails(const RecordTable& t, std::span<const RailInfo> rails,
                                         std::span<const std::string> tests) {
  Gate gate;
  gate.all = every_row_gated(t);
  if (!gate.all) gate.flags = gate_flags(t);
  std::vector<RailAcc> by_rail = rail_accumulators(t);
  std::vector<TestAcc> by_series(t.series_count());
  accumulate_rows(t, gate, by_rail, by_series);
  add_figures(t, gate, by_series);
  std::vector<RailSummary> out;
  for (const std::string& name : rail_order(t, rails)) {
    out.push_back(summarize_rail(t, name, rails, by_rail, by_series, tests));
  }
  return out;
}

}  // namespace railcheck::reports
