#pragma once
// A run's records in compact form: what the verdicts and the per-rail summaries need, and
// nothing more. Ends (an interface of a node, with its link, memory and GPU facts) and names
// (rails, test labels) are stored once; errors and causes once per distinct text; a record is
// a 28-byte row of ids and its two headline figures.
//
// judge() and summarize_rails() work on a table, and the coordinator keeps one for the whole
// run while the full records go to a file as they arrive: all-pairs over 1024 nodes x 8 rails
// is 4.2 M rows, 112 MiB, where Records (every end's strings twice, every figure) would take
// GiBs (bench/cluster_bench.cpp, docs/benchmarks.md).

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "reports/analysis.hpp"
#include "reports/judge.hpp"
#include "reports/results.hpp"

namespace railcheck::reports {

class RecordTable {
 public:
  // Row::flags
  static constexpr uint8_t kLatency = 1;  // a latency test (value is p50 us), else bandwidth (average Gb/s)
  static constexpr uint8_t kBidir = 2;
  static constexpr uint8_t kFigures = 4;  // value (and p99) are set
  static constexpr uint8_t kError = 8;    // the test did not run: error() says why
  static constexpr uint8_t kCause = 16;   // cause() has a text

  struct Row {
    uint32_t src = 0, dst = 0;  // end ids
    // The headline figure, exact (p50 us or average Gb/s: reports print its median), kept as
    // two words so the row needs 4-byte alignment only: 28 bytes, not 32.
    uint32_t value_bits[2] = {0, 0};
    float p99 = 0;              // latency p99 us (as a float: 7 significant digits)
    uint16_t rail = 0;          // name ids
    uint16_t label = 0;         // the test as reports name it (test_label())
    uint16_t shape = 0;         // (size, QPs) id: size_bytes(), qps()
    uint8_t flags = 0;
    Verdict verdict = Verdict::kNone;

    [[nodiscard]] double value() const noexcept { return std::bit_cast<double>(value_bits); }
    void set_value(double v) noexcept { std::memcpy(value_bits, &v, sizeof v); }
    [[nodiscard]] bool latency() const noexcept { return (flags & kLatency) != 0; }
    [[nodiscard]] bool figures() const noexcept { return (flags & kFigures) != 0; }
    [[nodiscard]] bool failed_to_run() const noexcept { return (flags & kError) != 0; }
  };

  // The end's id; equal facts give the same id. With a `hint` (an id this end had before),
  // an unchanged end costs one comparison instead of a lookup.
  uint32_t intern_end(const PairEnd& end);
  uint32_t intern_end(const PairEnd& end, uint32_t hint) {
    return hint < ends_.size() && ends_[hint].facts == end ? hint : intern_end(end);
  }
  // Appends a record (its figures, error and verdict; not its iteration counts, timings or
  // every percentile) and returns the row index. The two-argument form takes ends already
  // interned, for a producer that adds many records of the same ends.
  size_t add(const Record& r, uint32_t src, uint32_t dst);
  size_t add(const Record& r) { return add(r, intern_end(r.src), intern_end(r.dst)); }
  void reserve(size_t rows) { rows_.reserve(rows); }
  // A table of these records, row i from records[i].
  static RecordTable of(std::span<const Record> records);

  [[nodiscard]] size_t size() const noexcept { return rows_.size(); }
  [[nodiscard]] const Row& row(size_t i) const { return rows_[i]; }
  [[nodiscard]] std::span<const Row> rows() const noexcept { return rows_; }
  [[nodiscard]] const PairEnd& end(uint32_t id) const { return ends_[id].facts; }
  [[nodiscard]] size_t end_count() const noexcept { return ends_.size(); }
  // Nodes and ports ((node, interface)) interned too; ids index node_name().
  [[nodiscard]] uint32_t node_of(uint32_t end) const { return ends_[end].node; }
  [[nodiscard]] uint32_t port_of(uint32_t end) const { return ends_[end].port; }
  [[nodiscard]] const std::string& node_name(uint32_t node) const { return nodes_[node]; }
  [[nodiscard]] size_t node_count() const noexcept { return nodes_.size(); }
  [[nodiscard]] std::optional<uint32_t> find_node(std::string_view node) const;
  [[nodiscard]] const std::string& name(uint16_t id) const { return names_[id]; }
  // Rails in the order records first named them.
  [[nodiscard]] const std::vector<uint16_t>& rail_ids() const noexcept { return rail_ids_; }
  [[nodiscard]] uint64_t size_bytes(const Row& r) const { return shapes_[r.shape].size_bytes; }
  [[nodiscard]] uint32_t qps(const Row& r) const { return shapes_[r.shape].qps; }
  // The label's test: "write_lat" of "write_lat_cuda".
  [[nodiscard]] const std::string& test(const Row& r) const { return names_[label_test_[r.label]]; }
  // "gpu-a1 -> gpu-a2" (pair_name()).
  [[nodiscard]] std::string pair_name(size_t row) const;
  [[nodiscard]] std::string_view error(size_t row) const;  // empty: none
  [[nodiscard]] std::string_view cause(size_t row) const;  // empty: none

  void set_verdict(size_t row, Verdict v, std::string_view cause);

 private:
  struct End {
    PairEnd facts;
    uint32_t node = 0;
    uint32_t port = 0;
    uint16_t mem = 0;  // name id of facts.mem
  };
  uint16_t name_id(std::string_view name);
  uint32_t text_id(std::string_view text);

  std::vector<Row> rows_;
  std::vector<End> ends_;
  std::unordered_map<std::string, uint32_t> end_ids_;   // key: every field of the end
  std::vector<std::string> nodes_;
  std::unordered_map<std::string, uint32_t> node_ids_;
  std::unordered_map<std::string, uint32_t> port_ids_;  // "node\ninterface"
  std::vector<std::string> names_;
  std::unordered_map<std::string, uint16_t> name_ids_;
  std::vector<uint16_t> rail_ids_;
  std::vector<uint8_t> is_rail_;                        // by name id
  std::vector<uint16_t> label_test_;                    // by name id (labels only)
  struct Shape {
    uint64_t size_bytes = 0;
    uint32_t qps = 1;
  };
  std::vector<Shape> shapes_;
  std::vector<std::string> texts_;                      // errors and causes
  std::unordered_map<std::string, uint32_t> text_ids_;
  std::unordered_map<size_t, uint32_t> errors_;         // row -> text id
  std::unordered_map<size_t, uint32_t> causes_;         // row -> text id
  // The last record's rail, and the labels of the last few tests: records come in runs of one
  // rail, a pair's tests one after another.
  uint16_t last_rail_ = UINT16_MAX;
  struct RecentLabel {
    uint16_t label = 0;
    uint16_t test = 0;
    bool bidir = false;
    uint16_t src_mem = 0, dst_mem = 0;
  };
  std::vector<RecentLabel> recent_labels_;  // at most kRecentLabels, the latest first
};

// Calls `visit(key, values)` once per group of rows: `key(row)` names a row's group (an
// integer), `value(index, row, out)` gives its value, or false to leave the row out. With a
// few groups, each group's rows are gathered as 4-byte indices and only one group's values are
// in memory at a time, not 8 bytes for every row at once (33 MiB at 4 M rows).
template <typename KeyFn, typename ValueFn, typename Visit>
void for_each_group(const RecordTable& t, KeyFn key, ValueFn value, Visit visit) {
  constexpr size_t kGroupsMax = 64;
  const auto rows = t.rows();
  std::vector<uint64_t> keys;  // in first appearance order
  std::vector<size_t> counts;
  size_t current = 0;
  bool few = rows.size() <= UINT32_MAX;
  auto group_of = [&](const RecordTable::Row& row) {
    const uint64_t k = key(row);
    if (keys.empty() || keys[current] != k) {
      current = static_cast<size_t>(std::ranges::find(keys, k) - keys.begin());
      if (current == keys.size()) {
        few = few && keys.size() < kGroupsMax;
        keys.push_back(k);
        counts.push_back(0);
      }
    }
    return current;
  };
  // Count, then gather: every index list at its exact size.
  for (size_t i = 0; i < rows.size() && few; ++i) ++counts[group_of(rows[i])];
  std::vector<std::vector<uint32_t>> members(few ? keys.size() : 0);
  for (size_t g = 0; g < members.size(); ++g) members[g].reserve(counts[g]);
  double v = 0;
  for (size_t i = 0; i < rows.size() && few; ++i) {
    const size_t g = group_of(rows[i]);
    if (value(i, rows[i], v)) members[g].push_back(static_cast<uint32_t>(i));
  }
  std::vector<double> values;
  if (few) {
    for (size_t g = 0; g < keys.size(); ++g) {
      values.clear();
      values.reserve(members[g].size());
      for (uint32_t i : members[g]) {
        value(i, rows[i], v);
        values.push_back(v);
      }
      std::vector<uint32_t>().swap(members[g]);
      visit(keys[g], values);
    }
    return;
  }
  std::map<uint64_t, std::vector<double>> all;  // many groups (a sweep of sizes): every value at once
  for (size_t i = 0; i < rows.size(); ++i) {
    if (value(i, rows[i], v)) all[key(rows[i])].push_back(v);
  }
  for (auto& [k, vals] : all) visit(k, vals);
}

// The table's verdicts and causes (judge(Results&) is this, over a table of the results'
// records).
void judge(RecordTable& table, const Profile& profile);

// For each row, whether its size is the one its pair's test is gated at (see gate_flags()).
std::vector<bool> gate_flags(const RecordTable& table);

// Per-rail summaries of a table. `rails` and `tests` order them (as in summarize_rails());
// TestRow::worst stays null, TestRow::worst_row names the row.
std::vector<RailSummary> summarize_rails(const RecordTable& table, std::span<const RailInfo> rails,
                                         std::span<const std::string> tests);

}  // namespace railcheck::reports
