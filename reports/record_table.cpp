#include "reports/record_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <stdexcept>
#include <tuple>
#include <unordered_set>

#include "reports/median_select.hpp"

namespace railcheck::reports {
namespace {

// Every field of an end, separated by a byte no name contains.
std::string end_key(const PairEnd& e) {
  std::string k;
  k.reserve(160);
  for (const std::string* s : {&e.node, &e.pod, &e.interface, &e.ip, &e.device, &e.gid, &e.pci_address,
                               &e.link_layer, &e.mem, &e.gpu_pci_address, &e.gpu_class, &e.mem_registration,
                               &e.mem_note}) {
    k += *s;
    k += '\x1f';
  }
  k += e.active_mtu ? fmt::format("{}", *e.active_mtu) : "-";
  k += '\x1f';
  k += e.rate_gbps ? fmt::format("{:x}", std::bit_cast<uint64_t>(*e.rate_gbps)) : "-";  // exact, and cheap
  k += '\x1f';
  k += e.gpu ? fmt::format("{}", *e.gpu) : "-";
  return k;
}

template <typename Id>
Id intern(std::string_view text, std::vector<std::string>& pool, std::unordered_map<std::string, Id>& ids,
          const char* what) {
  // One string for the lookup; try_emplace keeps it only when the text is new.
  auto [it, fresh] = ids.try_emplace(std::string(text), static_cast<Id>(pool.size()));
  if (fresh) {
    if (pool.size() >= std::numeric_limits<Id>::max()) {
      throw std::length_error(fmt::format("record table: more than {} distinct {}", std::numeric_limits<Id>::max(), what));
    }
    pool.emplace_back(text);
  }
  return it->second;
}

// a == b for the short names a record carries (rails, tests), compared 8 bytes at a time
// inline: this runs a few times for every record added, where a call to memcmp costs more than
// the comparison.
[[gnu::always_inline]] inline bool same(std::string_view a, std::string_view b) noexcept {
  const size_t n = a.size();
  if (n != b.size()) return false;
  auto word = [](const char* p) {
    uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
  };
  if (n < 8) {
    for (size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  for (size_t i = 0; i + 8 <= n; i += 8) {
    if (word(a.data() + i) != word(b.data() + i)) return false;
  }
  return word(a.data() + n - 8) == word(b.data() + n - 8);  // the last bytes, overlapping
}

// Whether row a is worse than row b (of the same test): a more severe verdict, then no figures,
// then a worse figure.
bool worse(const RecordTable::Row& a, const RecordTable::Row& b, bool latency) {
  if (verdict_rank(a.verdict) != verdict_rank(b.verdict)) return verdict_rank(a.verdict) > verdict_rank(b.verdict);
  if (a.figures() != b.figures()) return !a.figures();
  if (!a.figures()) return false;
  return latency ? a.value > b.value : a.value < b.value;
}

// A row whose figure counts: it ran, has figures and was not waived.
bool measured(const RecordTable::Row& r) {
  return r.verdict != Verdict::kWaived && !r.failed_to_run() && r.figures();
}

}  // namespace

uint32_t RecordTable::intern_end(const PairEnd& end) {
  auto [it, fresh] = end_ids_.try_emplace(end_key(end), static_cast<uint32_t>(ends_.size()));
  if (fresh) {
    const uint32_t node = intern<uint32_t>(end.node, nodes_, node_ids_, "nodes");
    auto [port, new_port] = port_ids_.try_emplace(end.node + '\n' + end.interface, static_cast<uint32_t>(port_ids_.size()));
    const uint16_t mem = name_id(end.mem);
    ends_.push_back({.facts = end, .node = node, .port = port->second});
    end_mem_.push_back(mem);
  }
  return it->second;
}

uint16_t RecordTable::name_id(std::string_view name) {
  return intern<uint16_t>(name, names_, name_ids_, "rail, test and memory names");
}

uint32_t RecordTable::text_id(std::string_view text) { return intern<uint32_t>(text, texts_, text_ids_, "texts"); }

uint16_t RecordTable::rail_index(std::string_view name) {
  if (auto known = find_rail(name)) return *known;
  if (rails_.size() >= UINT16_MAX) throw std::length_error("record table: more than 65535 rails");
  rails_.push_back({.name = name_id(name), .ends = {}, .local = {}});
  return static_cast<uint16_t>(rails_.size() - 1);
}

std::optional<uint16_t> RecordTable::find_rail(std::string_view name) const {
  auto it = std::ranges::find_if(rails_, [&](const Rail& r) { return names_[r.name] == name; });
  if (it == rails_.end()) return std::nullopt;
  return static_cast<uint16_t>(it - rails_.begin());
}

uint16_t RecordTable::local_end(uint16_t rail, uint32_t end) {
  Rail& r = rails_[rail];
  if (end >= r.local.size()) r.local.resize(ends_.size(), 0);
  uint16_t& local = r.local[end];
  if (local == 0) {
    if (r.ends.size() >= UINT16_MAX) {
      throw std::length_error(fmt::format("record table: rail {} has more than {} ends", names_[r.name], UINT16_MAX));
    }
    r.ends.push_back(end);
    local = static_cast<uint16_t>(r.ends.size());
  }
  return static_cast<uint16_t>(local - 1);
}

uint16_t RecordTable::kind_of(const Record& r, uint32_t src, uint32_t dst, uint16_t& rail) {
  const uint16_t src_mem = end_mem_[src], dst_mem = end_mem_[dst];
  const auto recent = std::ranges::find_if(recent_.begin(), recent_.begin() + static_cast<std::ptrdiff_t>(recent_count_),
                                           [&](const Recent& k) {
                                             return k.size_bytes == r.size_bytes && k.qps == r.qps && k.bidir == r.bidir &&
                                                    k.src_mem == src_mem && k.dst_mem == dst_mem && same(k.test, r.test) &&
                                                    same(k.rail, r.rail);
                                           });
  if (recent != recent_.begin() + static_cast<std::ptrdiff_t>(recent_count_)) {
    rail = recent->rail_index;
    return recent->kind;
  }

  rail = rail_index(r.rail);
  // The label (test_label()) from the test and the ends' memory.
  const uint16_t label = name_id(test_label(r.test, r.bidir, ends_[src].facts.mem, ends_[dst].facts.mem));
  auto [it, fresh] = kind_ids_.try_emplace({rail, label, r.size_bytes, r.qps}, static_cast<uint16_t>(kinds_.size()));
  if (fresh) {
    if (kinds_.size() >= UINT16_MAX) {
      kind_ids_.erase(it);
      throw std::length_error("record table: more than 65535 kinds of row (rail, test, size and QP count)");
    }
    auto [series, new_series] = series_ids_.try_emplace({rail, label}, static_cast<uint16_t>(series_.size()));
    if (new_series) series_.push_back({.rail = rail, .label = label, .latency = r.is_latency(), .kinds = {}});
    series_[series->second].kinds.push_back(it->second);
    kinds_.push_back({.rail = rail,
                      .label = label,
                      .test = name_id(r.test),
                      .series = series->second,
                      .size_bytes = r.size_bytes,
                      .qps = r.qps,
                      .latency = r.is_latency(),
                      .bidir = r.bidir});
  }
  // Remembered first, the oldest forgotten.
  if (recent_count_ < recent_.size()) ++recent_count_;
  std::move_backward(recent_.begin(), recent_.begin() + static_cast<std::ptrdiff_t>(recent_count_) - 1,
                     recent_.begin() + static_cast<std::ptrdiff_t>(recent_count_));
  recent_.front() = {.rail = r.rail,
                     .test = r.test,
                     .size_bytes = r.size_bytes,
                     .qps = r.qps,
                     .src_mem = src_mem,
                     .dst_mem = dst_mem,
                     .bidir = r.bidir,
                     .rail_index = rail,
                     .kind = it->second};
  return it->second;
}

void RecordTable::reserve(size_t rows) {
  rows_.reserve(rows);
  // Room for every row to be a latency row: address space only, the pages the p99s of a run
  // with fewer latency rows never reach are never touched.
  p99_.reserve(rows);
  latency_bits_.reserve(rows / 64 + 1);
  latency_before_.reserve(rows / 64 + 1);
}

size_t RecordTable::add(const Record& r, uint32_t src, uint32_t dst) {
  if (rows_.size() >= UINT32_MAX) throw std::length_error("record table: more than 4294967295 rows");
  uint16_t rail = 0;
  const uint16_t kind = kind_of(r, src, dst, rail);
  if (rail != last_ends_.rail || src != last_ends_.src || dst != last_ends_.dst) {
    last_ends_ = {.rail = rail, .src = src, .dst = dst, .local_src = local_end(rail, src), .local_dst = local_end(rail, dst)};
  }
  Row row{.src = last_ends_.local_src, .dst = last_ends_.local_dst, .kind = kind, .verdict = r.verdict};
  const bool latency = kinds_[kind].latency;
  float p99 = 0;
  if (latency && r.latency_us) {
    row.flags |= kFigures;
    row.value = r.latency_us->p50;
    p99 = static_cast<float>(r.latency_us->p99);
  } else if (!latency && r.bandwidth) {
    row.flags |= kFigures;
    row.value = r.bandwidth->avg_gbps;
  }
  const size_t index = rows_.size();
  if (index % 64 == 0) {
    latency_bits_.push_back(0);
    latency_before_.push_back(static_cast<uint32_t>(p99_.size()));
  }
  if (latency) {
    latency_bits_.back() |= uint64_t{1} << (index % 64);
    p99_.push_back(p99);
  }
  if (!r.error.empty()) {
    row.flags |= kError;
    errors_.emplace_back(static_cast<uint32_t>(index), text_id(r.error));
  }
  if (!r.cause.empty()) {
    row.flags |= kCause;
    causes_.emplace_back(static_cast<uint32_t>(index), text_id(r.cause));
  }
  rows_.push_back(row);
  if (counts_valid_ && measured(row)) count(row, p99);
  medians_valid_ = false;
  return index;
}

RecordTable RecordTable::of(std::span<const Record> records) {
  RecordTable table;
  table.reserve(records.size());
  // A pair's records come together: each end is first compared with the last record's.
  uint32_t src = UINT32_MAX, dst = UINT32_MAX;
  for (const Record& r : records) {
    src = table.intern_end(r.src, src);
    dst = table.intern_end(r.dst, dst);
    table.add(r, src, dst);
  }
  return table;
}

float RecordTable::p99(size_t row) const {
  const uint64_t word = latency_bits_[row / 64];
  const uint64_t bit = uint64_t{1} << (row % 64);
  if ((word & bit) == 0) return 0;
  return p99_[latency_before_[row / 64] + static_cast<size_t>(std::popcount(word & (bit - 1)))];
}

std::optional<uint32_t> RecordTable::find_node(std::string_view node) const {
  auto it = node_ids_.find(std::string(node));
  if (it == node_ids_.end()) return std::nullopt;
  return it->second;
}

std::string RecordTable::pair_name(size_t row) const {
  const Row& r = rows_[row];
  return fmt::format("{} -> {}", nodes_[ends_[src(r)].node], nodes_[ends_[dst(r)].node]);
}

std::string_view RecordTable::text_of(const std::vector<std::pair<uint32_t, uint32_t>>& by_row,
                                      const std::vector<std::string>& texts, size_t row) {
  auto it = std::ranges::lower_bound(by_row, static_cast<uint32_t>(row), {}, &std::pair<uint32_t, uint32_t>::first);
  if (it == by_row.end() || it->first != row) return {};
  return texts[it->second];
}

std::string_view RecordTable::error(size_t row) const {
  return rows_[row].failed_to_run() ? text_of(errors_, texts_, row) : std::string_view{};
}

std::string RecordTable::cause(size_t row) const {
  const uint8_t flags = rows_[row].flags;
  if ((flags & kCause) != 0) return std::string(text_of(causes_, texts_, row));
  if ((flags & kJudged) != 0 && judged_) return judged_cause(*judged_, *this, row);
  return {};
}

void RecordTable::set_verdict_and_cause(size_t row, Verdict v, std::string_view cause) {
  Row& r = rows_[row];
  if ((r.verdict == Verdict::kWaived) != (v == Verdict::kWaived)) counts_valid_ = medians_valid_ = false;
  r.verdict = v;
  r.flags &= static_cast<uint8_t>(~kJudged);
  if (cause.empty() && (r.flags & kCause) == 0) return;
  const auto key = static_cast<uint32_t>(row);
  // Verdicts are mostly set in row order: the new cause goes at the end.
  auto it = !causes_.empty() && causes_.back().first < key
                ? causes_.end()
                : std::ranges::lower_bound(causes_, key, {}, &std::pair<uint32_t, uint32_t>::first);
  const bool has = it != causes_.end() && it->first == key;
  if (!cause.empty()) {
    const uint32_t text = text_id(cause);
    if (has) it->second = text;
    else causes_.insert(it, {key, text});
    r.flags |= kCause;
  } else {
    if (has) causes_.erase(it);
    r.flags &= static_cast<uint8_t>(~kCause);
  }
}

void RecordTable::clear_causes() {
  std::erase_if(causes_, [&](const auto& c) {
    Row& r = rows_[c.first];
    if (r.verdict == Verdict::kWaived) return false;
    r.flags &= static_cast<uint8_t>(~kCause);
    return true;
  });
}

void RecordTable::count(const Row& r, float p99) const {
  if (stats_.size() <= r.kind) {
    stats_.resize(size_t{r.kind} + 1);
    samples_.resize(size_t{r.kind} + 1);
  }
  KindStats& s = stats_[r.kind];
  const bool sampled = s.measured % kSampleEvery == 0;
  const bool first = s.measured++ == 0;
  s.min = first ? r.value : std::min(s.min, r.value);
  s.max = first ? r.value : std::max(s.max, r.value);
  if (sampled) samples_[r.kind].values.push_back(r.value);
  if (!kinds_[r.kind].latency) return;
  s.p99_min = first ? p99 : std::min<double>(s.p99_min, p99);
  s.p99_max = first ? p99 : std::max<double>(s.p99_max, p99);
  if (sampled) samples_[r.kind].p99s.push_back(p99);
}

const std::vector<RecordTable::KindStats>& RecordTable::kind_stats() const {
  stats_.resize(kinds_.size());
  samples_.resize(kinds_.size());
  if (!counts_valid_) {
    stats_.assign(kinds_.size(), {});
    samples_.assign(kinds_.size(), {});
    size_t latency_row = 0;
    for (const Row& r : rows_) {
      const float p99 = kinds_[r.kind].latency ? p99_[latency_row++] : 0;
      if (measured(r)) count(r, p99);
    }
    counts_valid_ = true;
  }
  if (medians_valid_) return stats_;
  // Group 2k: kind k's values; 2k + 1: its p99s (latency kinds).
  MedianSelect select;
  for (size_t k = 0; k < kinds_.size(); ++k) {
    const KindStats& s = stats_[k];
    select.add(s.measured, s.min, s.max, samples_[k].values);
    select.add(kinds_[k].latency ? s.measured : 0, s.p99_min, s.p99_max, samples_[k].p99s);
  }
  while (!select.done()) {
    select.pass([&](auto&& value) {
      size_t latency_row = 0;  // the row's entry in p99_
      for (const Row& r : rows_) {
        const bool latency = kinds_[r.kind].latency;
        const size_t p99_index = latency ? latency_row++ : 0;
        if (!measured(r)) continue;
        value(2 * size_t{r.kind}, r.value);
        if (latency) value(2 * size_t{r.kind} + 1, p99_[p99_index]);
      }
    });
  }
  for (size_t k = 0; k < kinds_.size(); ++k) {
    stats_[k].median = select.median(2 * k);
    stats_[k].p99_median = select.median(2 * k + 1);
  }
  medians_valid_ = true;
  return stats_;
}

namespace {

// Whether the test (series) ran at several sizes.
bool several_sizes(const RecordTable& t, uint16_t series) {
  const auto& kinds = t.series(series).kinds;
  return std::ranges::any_of(kinds, [&](uint16_t k) {
    return t.kind_at(k).size_bytes != t.kind_at(kinds.front()).size_bytes;
  });
}

}  // namespace

bool every_row_gated(const RecordTable& t) {
  for (size_t s = 0; s < t.series_count(); ++s) {
    if (several_sizes(t, static_cast<uint16_t>(s))) return false;
  }
  return true;
}

std::vector<bool> gate_flags(const RecordTable& t) {
  const auto rows = t.rows();
  std::vector<bool> flags(rows.size(), true);
  // Usually a test runs at one size: every row is gated. Only the rows of a test (series) with
  // several sizes are grouped by pair of ports.
  if (every_row_gated(t)) return flags;
  std::vector<uint8_t> several(t.series_count(), 0);
  for (size_t s = 0; s < t.series_count(); ++s) several[s] = several_sizes(t, static_cast<uint16_t>(s));
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

std::vector<RailSummary> summarize_rails(const RecordTable& t, std::span<const RailInfo> rails,
                                         std::span<const std::string> tests) {
  const auto rows = t.rows();
  const bool all_gated = every_row_gated(t);
  const std::vector<bool> gate = all_gated ? std::vector<bool>{} : gate_flags(t);
  const size_t n_nodes = t.node_count();

  // One pass over the rows. Per rail: each (source, destination) node pair's worst verdict in a
  // dense matrix over the table's nodes (1 MiB for 1024 nodes), its tests. Per test (series):
  // the gated rows' count, size and worst row. A rail's nodes, in the order its rows first
  // name them, are its ends' nodes.
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
    size_t measured = 0;
    double min = 0, median = 0, max = 0, p99_median = 0;
    uint64_t size = 0;
    size_t worst = SIZE_MAX;
  };
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
  std::vector<TestAcc> by_series(t.series_count());
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
    if (!all_gated && !gate[i]) continue;
    a.size = std::max(a.size, k.size_bytes);
    ++a.records;
    if (a.worst == SIZE_MAX || worse(r, rows[a.worst], k.latency)) a.worst = i;
  }
  if (pair) *pair = std::max(*pair, rank);
  // The figures of the gated, measured rows. A test that ran at one size and QP count is one
  // kind, whose figures the table has; the others are gathered.
  const auto& stats = t.kind_stats();
  bool gather = false;
  for (size_t s = 0; s < by_series.size(); ++s) {
    const auto& kinds = t.series(static_cast<uint16_t>(s)).kinds;
    if (kinds.size() != 1) {
      gather = true;
      continue;
    }
    const RecordTable::KindStats& ks = stats[kinds.front()];
    TestAcc& a = by_series[s];
    a.measured = ks.measured;
    a.min = ks.min;
    a.median = ks.median;
    a.max = ks.max;
    a.p99_median = ks.p99_median;
  }
  if (gather) {
    // Tests that ran at several sizes or QP counts: their gated rows' figures, counted in one
    // pass, their medians selected in a few more.
    auto gated_measured = [&](size_t i, const RecordTable::Row& r) {
      return t.series(t.kind(r).series).kinds.size() > 1 && (all_gated || gate[i]) && measured(r);
    };
    std::vector<double> p99_min(by_series.size()), p99_max(by_series.size());
    auto for_each_figure = [&](auto&& visit) {
      const auto p99s = t.latency_p99s();
      size_t latency_row = 0;
      for (size_t i = 0; i < rows.size(); ++i) {
        const RecordTable::Kind& k = t.kind(rows[i]);
        const float p99 = k.latency ? p99s[latency_row++] : 0;
        if (gated_measured(i, rows[i])) visit(k.series, rows[i].value, k.latency, p99);
      }
    };
    for_each_figure([&](uint16_t s, double v, bool latency, float p99) {
      TestAcc& a = by_series[s];
      const bool first = a.measured++ == 0;
      a.min = first ? v : std::min(a.min, v);
      a.max = first ? v : std::max(a.max, v);
      if (!latency) return;
      p99_min[s] = first ? p99 : std::min<double>(p99_min[s], p99);
      p99_max[s] = first ? p99 : std::max<double>(p99_max[s], p99);
    });
    MedianSelect select;  // group 2s: test s's figures; 2s + 1: its p99s
    for (size_t s = 0; s < by_series.size(); ++s) {
      const bool several = t.series(static_cast<uint16_t>(s)).kinds.size() > 1;
      const TestAcc& a = by_series[s];
      select.add(several ? a.measured : 0, a.min, a.max);
      select.add(several && t.series(static_cast<uint16_t>(s)).latency ? a.measured : 0, p99_min[s], p99_max[s]);
    }
    while (!select.done()) {
      select.pass([&](auto&& value) {
        for_each_figure([&](uint16_t s, double v, bool latency, float p99) {
          value(2 * size_t{s}, v);
          if (latency) value(2 * size_t{s} + 1, p99);
        });
      });
    }
    for (size_t s = 0; s < by_series.size(); ++s) {
      if (t.series(static_cast<uint16_t>(s)).kinds.size() == 1) continue;
      by_series[s].median = select.median(2 * s);
      by_series[s].p99_median = select.median(2 * s + 1);
    }
  }

  // Rails in report order: the run's, then those only the records name.
  std::vector<std::string> names;
  for (const RailInfo& rail : rails) {
    if (std::ranges::find(names, rail.name) == names.end()) names.push_back(rail.name);
  }
  for (size_t r = 0; r < t.rail_count(); ++r) {
    if (std::ranges::find(names, t.rail_name(static_cast<uint16_t>(r))) == names.end()) {
      names.push_back(t.rail_name(static_cast<uint16_t>(r)));
    }
  }
  std::vector<RailSummary> out;
  for (const std::string& name : names) {
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
    if (!rail) {
      out.push_back(std::move(s));
      continue;
    }
    RailAcc& ra = by_rail[*rail];
    s.records = ra.records;
    for (uint32_t n : ra.nodes) {
      const std::string& node = t.node_name(n);
      if (!node.empty() && listed.insert(node).second) s.nodes.push_back(node);
    }
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
    // The run's test order; variants of one test after it, by name.
    auto order = [&](uint16_t series) {
      const std::string& test = t.name(t.series(series).label);
      const std::string base = test.substr(0, test.find('_', test.find('_') + 1));
      return std::tuple(static_cast<size_t>(std::ranges::find(tests, base) - tests.begin()), test);
    };
    std::ranges::stable_sort(ra.series, [&](uint16_t a, uint16_t b) { return order(a) < order(b); });
    for (uint16_t series : ra.series) {
      const TestAcc& a = by_series[series];
      TestRow row;
      row.label = t.name(t.series(series).label);
      row.latency = t.series(series).latency;
      row.size_bytes = a.size;
      row.records = a.records;
      row.worst_row = a.worst;
      row.measured = a.measured;
      row.min = a.min;
      row.median = a.median;
      row.max = a.max;
      row.p99_median = a.p99_median;
      s.tests.push_back(std::move(row));
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace railcheck::reports
