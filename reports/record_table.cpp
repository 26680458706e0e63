#include "reports/record_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <tuple>

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
  k += e.rate_gbps ? fmt::format("{:a}", *e.rate_gbps) : "-";
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

// a == b for the short names of a record (rails, tests), without a call to memcmp: this runs
// for every record added.
bool same(const std::string& a, const std::string& b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// Whether row a is worse than row b: a more severe verdict, then no figures, then a worse figure.
bool worse(const RecordTable::Row& a, const RecordTable::Row& b) {
  if (verdict_rank(a.verdict) != verdict_rank(b.verdict)) return verdict_rank(a.verdict) > verdict_rank(b.verdict);
  if (a.figures() != b.figures()) return !a.figures();
  if (!a.figures()) return false;
  return a.latency() ? a.value() > b.value() : a.value() < b.value();
}

bool measured(const RecordTable& t, size_t i) {
  const auto& r = t.row(i);
  return r.verdict != Verdict::kWaived && !r.failed_to_run() && r.figures();
}

}  // namespace

uint32_t RecordTable::intern_end(const PairEnd& end) {
  auto [it, fresh] = end_ids_.try_emplace(end_key(end), static_cast<uint32_t>(ends_.size()));
  if (fresh) {
    const uint32_t node = intern<uint32_t>(end.node, nodes_, node_ids_, "nodes");
    auto [port, new_port] = port_ids_.try_emplace(end.node + '\n' + end.interface, static_cast<uint32_t>(port_ids_.size()));
    const uint16_t mem = name_id(end.mem);
    ends_.push_back({.facts = end, .node = node, .port = port->second, .mem = mem});
  }
  return it->second;
}

uint16_t RecordTable::name_id(std::string_view name) {
  const uint16_t id = intern<uint16_t>(name, names_, name_ids_, "rail and test names");
  if (is_rail_.size() < names_.size()) {
    is_rail_.resize(names_.size(), 0);
    label_test_.resize(names_.size(), 0);
  }
  return id;
}

uint32_t RecordTable::text_id(std::string_view text) { return intern<uint32_t>(text, texts_, text_ids_, "texts"); }

size_t RecordTable::add(const Record& r, uint32_t src, uint32_t dst) {
  Row row{.src = src, .dst = dst};
  if (last_rail_ == UINT16_MAX || !same(names_[last_rail_], r.rail)) {
    last_rail_ = name_id(r.rail);
    if (!is_rail_[last_rail_]) {
      is_rail_[last_rail_] = 1;
      rail_ids_.push_back(last_rail_);
    }
  }
  row.rail = last_rail_;
  // The label (test_label()) from the test and the ends' memory.
  const uint16_t src_mem = ends_[src].mem, dst_mem = ends_[dst].mem;
  auto recent = std::ranges::find_if(recent_labels_, [&](const RecentLabel& l) {
    return l.bidir == r.bidir && l.src_mem == src_mem && l.dst_mem == dst_mem && same(names_[l.test], r.test);
  });
  if (recent == recent_labels_.end()) {
    constexpr size_t kRecentLabels = 8;
    const uint16_t label = name_id(test_label(r.test, r.bidir, ends_[src].facts.mem, ends_[dst].facts.mem));
    const uint16_t test = name_id(r.test);
    label_test_[label] = test;
    if (recent_labels_.size() == kRecentLabels) recent_labels_.pop_back();
    recent_labels_.insert(recent_labels_.begin(),
                          {.label = label, .test = test, .bidir = r.bidir, .src_mem = src_mem, .dst_mem = dst_mem});
    recent = recent_labels_.begin();
  }
  row.label = recent->label;
  auto same_shape = [&](const Shape& s) { return s.size_bytes == r.size_bytes && s.qps == r.qps; };
  if (rows_.empty() || !same_shape(shapes_[rows_.back().shape])) {
    auto it = std::ranges::find_if(shapes_, same_shape);
    if (it == shapes_.end()) {
      if (shapes_.size() >= UINT16_MAX) throw std::length_error("record table: more than 65535 sizes and QP counts");
      it = shapes_.insert(shapes_.end(), {.size_bytes = r.size_bytes, .qps = r.qps});
    }
    row.shape = static_cast<uint16_t>(it - shapes_.begin());
  } else {
    row.shape = rows_.back().shape;
  }
  if (r.is_latency()) row.flags |= kLatency;
  if (r.bidir) row.flags |= kBidir;
  if (r.is_latency() && r.latency_us) {
    row.flags |= kFigures;
    row.set_value(r.latency_us->p50);
    row.p99 = static_cast<float>(r.latency_us->p99);
  } else if (!r.is_latency() && r.bandwidth) {
    row.flags |= kFigures;
    row.set_value(r.bandwidth->avg_gbps);
  }
  row.verdict = r.verdict;
  const size_t index = rows_.size();
  if (!r.error.empty()) {
    row.flags |= kError;
    errors_[index] = text_id(r.error);
  }
  if (!r.cause.empty()) {
    row.flags |= kCause;
    causes_[index] = text_id(r.cause);
  }
  rows_.push_back(row);
  return index;
}

RecordTable RecordTable::of(std::span<const Record> records) {
  RecordTable table;
  table.reserve(records.size());
  for (const Record& r : records) table.add(r);
  return table;
}

std::optional<uint32_t> RecordTable::find_node(std::string_view node) const {
  auto it = node_ids_.find(std::string(node));
  if (it == node_ids_.end()) return std::nullopt;
  return it->second;
}

std::string RecordTable::pair_name(size_t row) const {
  return fmt::format("{} -> {}", nodes_[ends_[rows_[row].src].node], nodes_[ends_[rows_[row].dst].node]);
}

std::string_view RecordTable::error(size_t row) const {
  if (!rows_[row].failed_to_run()) return {};
  auto it = errors_.find(row);
  return it == errors_.end() ? std::string_view{} : std::string_view{texts_[it->second]};
}

std::string_view RecordTable::cause(size_t row) const {
  if ((rows_[row].flags & kCause) == 0) return {};
  auto it = causes_.find(row);
  return it == causes_.end() ? std::string_view{} : std::string_view{texts_[it->second]};
}

void RecordTable::set_verdict(size_t row, Verdict v, std::string_view cause) {
  Row& r = rows_[row];
  r.verdict = v;
  if (!cause.empty()) {
    causes_[row] = text_id(cause);
    r.flags |= kCause;
  } else if ((r.flags & kCause) != 0) {
    causes_.erase(row);
    r.flags &= static_cast<uint8_t>(~kCause);
  }
}

std::vector<bool> gate_flags(const RecordTable& t) {
  const auto rows = t.rows();
  std::vector<bool> flags(rows.size(), true);
  // Usually a test runs at one size: every row is gated. Only (rail, label)s with several
  // sizes are grouped by pair of ports.
  std::map<std::pair<uint16_t, uint16_t>, std::vector<uint32_t>> multi;
  {
    std::map<std::pair<uint16_t, uint16_t>, uint64_t> first_size;
    std::map<std::pair<uint16_t, uint16_t>, bool> several;
    std::pair<uint16_t, uint16_t> last{UINT16_MAX, UINT16_MAX};
    uint64_t last_size = 0;
    for (const auto& r : rows) {
      if (std::pair(r.rail, r.label) == last && t.size_bytes(r) == last_size) continue;
      last = {r.rail, r.label};
      last_size = t.size_bytes(r);
      auto [it, fresh] = first_size.try_emplace(last, last_size);
      if (!fresh && it->second != last_size) several[last] = true;
    }
    for (size_t i = 0; i < rows.size() && !several.empty(); ++i) {
      if (several.contains({rows[i].rail, rows[i].label})) multi[{rows[i].rail, rows[i].label}].push_back(static_cast<uint32_t>(i));
    }
  }
  for (auto& [key, idx] : multi) {
    auto pair_of = [&](uint32_t i) { return std::pair(t.port_of(rows[i].src), t.port_of(rows[i].dst)); };
    std::ranges::stable_sort(idx, [&](uint32_t a, uint32_t b) { return pair_of(a) < pair_of(b); });
    for (size_t b = 0; b < idx.size();) {
      size_t e = b;
      uint64_t gate = t.size_bytes(rows[idx[b]]);
      for (; e < idx.size() && pair_of(idx[e]) == pair_of(idx[b]); ++e) {
        const uint64_t s = t.size_bytes(rows[idx[e]]);
        gate = rows[idx[e]].latency() ? std::min(gate, s) : std::max(gate, s);
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
  const std::vector<bool> gate = gate_flags(t);
  const size_t n_nodes = t.node_count();

  // One pass over the rows. Per rail: its nodes by first appearance, each (source,
  // destination) node pair's worst verdict in a dense matrix over the table's nodes (1 MiB for
  // 1024 nodes), its labels. Per rail and label: the gated rows' figures and the worst row.
  struct RailAcc {
    bool used = false;
    size_t records = 0;
    std::vector<uint8_t> node_seen;
    std::vector<uint32_t> nodes;
    std::vector<uint8_t> pair_rank;  // verdict rank + 1; 0: no record
    std::vector<uint16_t> labels;
  };
  struct TestAcc {
    size_t records = 0;
    size_t measured = 0;
    double min = 0, median = 0, max = 0, p99_median = 0;
    uint64_t size = 0;
    size_t worst = SIZE_MAX;
    bool latency = false;
  };
  std::vector<RailAcc> by_rail;
  std::map<std::pair<uint16_t, uint16_t>, TestAcc> by_test;
  std::pair<uint16_t, uint16_t> last_key{UINT16_MAX, UINT16_MAX};
  TestAcc* last_acc = nullptr;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    if (by_rail.size() <= r.rail) by_rail.resize(size_t{r.rail} + 1);
    RailAcc& ra = by_rail[r.rail];
    if (!ra.used) {
      ra.used = true;
      ra.node_seen.assign(n_nodes, 0);
      ra.pair_rank.assign(n_nodes * n_nodes, 0);
    }
    ++ra.records;
    const uint32_t src = t.node_of(r.src), dst = t.node_of(r.dst);
    for (uint32_t n : {src, dst}) {
      if (!ra.node_seen[n]) {
        ra.node_seen[n] = 1;
        ra.nodes.push_back(n);
      }
    }
    uint8_t& p = ra.pair_rank[size_t{src} * n_nodes + dst];
    p = std::max<uint8_t>(p, static_cast<uint8_t>(verdict_rank(r.verdict) + 1));
    if (ra.labels.empty() || (ra.labels.back() != r.label && std::ranges::find(ra.labels, r.label) == ra.labels.end())) {
      ra.labels.push_back(r.label);
    }
    if (!gate[i]) continue;
    if (std::pair(r.rail, r.label) != last_key) {
      last_key = {r.rail, r.label};
      last_acc = &by_test[last_key];
    }
    TestAcc& a = *last_acc;
    a.latency = r.latency();
    a.size = std::max(a.size, t.size_bytes(r));
    ++a.records;
    if (a.worst == SIZE_MAX || worse(r, rows[a.worst])) a.worst = i;
  }
  // The figures of the gated rows with figures, one (rail, label) at a time.
  auto test_key = [](const RecordTable::Row& r) { return uint64_t{r.rail} << 16 | r.label; };
  auto acc_of = [&](uint64_t key) -> TestAcc& {
    return by_test[{static_cast<uint16_t>(key >> 16), static_cast<uint16_t>(key & 0xffff)}];
  };
  for_each_group(
      t, test_key,
      [&](size_t i, const RecordTable::Row& r, double& v) {
        v = r.value();
        return gate[i] && measured(t, i);
      },
      [&](uint64_t key, std::vector<double>& values) {
        TestAcc& a = acc_of(key);
        a.measured = values.size();
        if (values.empty()) return;
        a.min = std::ranges::min(values);
        a.max = std::ranges::max(values);
        a.median = median(std::move(values));
      });
  const bool any_latency = std::ranges::any_of(by_test, [](const auto& kv) { return kv.second.latency; });
  if (any_latency) for_each_group(
      t, test_key,
      [&](size_t i, const RecordTable::Row& r, double& v) {
        v = r.p99;
        return r.latency() && gate[i] && measured(t, i);
      },
      [&](uint64_t key, std::vector<double>& values) { acc_of(key).p99_median = median(std::move(values)); });

  // Rails in report order: the run's, then those only the records name.
  std::vector<std::string> names;
  for (const RailInfo& rail : rails) {
    if (std::ranges::find(names, rail.name) == names.end()) names.push_back(rail.name);
  }
  for (uint16_t id : t.rail_ids()) {
    if (std::ranges::find(names, t.name(id)) == names.end()) names.push_back(t.name(id));
  }
  std::vector<RailSummary> out;
  for (const std::string& name : names) {
    RailSummary s;
    s.name = name;
    for (const RailInfo& info : rails) {
      if (info.name != name) continue;
      s.info = &info;
      for (const RailMember& m : info.members) {
        if (!m.node.empty() && std::ranges::find(s.nodes, m.node) == s.nodes.end()) s.nodes.push_back(m.node);
      }
    }
    auto rail_id = std::ranges::find_if(t.rail_ids(), [&](uint16_t id) { return t.name(id) == name; });
    if (rail_id == t.rail_ids().end()) {
      out.push_back(std::move(s));
      continue;
    }
    RailAcc& ra = by_rail[*rail_id];
    s.records = ra.records;
    const size_t members = s.nodes.size();
    for (uint32_t n : ra.nodes) {
      const std::string& node = t.node_name(n);
      if (!node.empty() && std::find(s.nodes.begin(), s.nodes.begin() + static_cast<std::ptrdiff_t>(members), node) ==
                               s.nodes.begin() + static_cast<std::ptrdiff_t>(members)) {
        s.nodes.push_back(node);
      }
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
    auto order = [&](uint16_t label) {
      const std::string& test = t.name(label);
      const std::string base = test.substr(0, test.find('_', test.find('_') + 1));
      return std::tuple(static_cast<size_t>(std::ranges::find(tests, base) - tests.begin()), test);
    };
    std::ranges::stable_sort(ra.labels, [&](uint16_t a, uint16_t b) { return order(a) < order(b); });
    for (uint16_t label : ra.labels) {
      TestRow row;
      row.label = t.name(label);
      if (auto it = by_test.find({*rail_id, label}); it != by_test.end()) {
        const TestAcc& a = it->second;
        row.latency = a.latency;
        row.size_bytes = a.size;
        row.records = a.records;
        row.worst_row = a.worst;
        row.measured = a.measured;
        row.min = a.min;
        row.median = a.median;
        row.max = a.max;
        row.p99_median = a.p99_median;
      }
      s.tests.push_back(std::move(row));
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace railcheck::reports
