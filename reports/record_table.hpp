#pragma once
// A run's records in compact form: what the verdicts and the per-rail summaries need, and
// nothing more. Ends (an interface of a node, with its link, memory and GPU facts), rails and
// test labels are stored once, and so is each kind of row: a rail, a test label, a message
// size and a QP count, the rows a figure is compared within. Errors, and causes that came with
// the records, are stored once per distinct text; the causes judge() finds are written when
// asked for, from what it kept. A record is a 16-byte row (its kind, its two ends numbered
// within the rail, its figure, flags and verdict), plus 4 bytes of p99 for a latency record.
//
// judge() and summarize_rails() work on a table, and the coordinator keeps one for the whole
// run while the full records go to a file as they arrive: all-pairs over 1024 nodes x 8 rails
// with a latency and a bandwidth test per pair is 8.4 M rows, 144 MiB, where Records (every
// end's strings twice, every figure) would take GiBs (bench/cluster_bench.cpp,
// docs/benchmarks.md).
//
// Limits: 65,535 rails, test labels and kinds of row; 65,535 ends per rail (an end per node and
// interface, more only when a node's facts change mid-run); 2^32 - 1 rows. Past them add(),
// intern_end() and of() return an error naming the limit (Errc::kInvalidArgument); the table
// is unchanged by the record that did not fit.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "reports/analysis.hpp"
#include "reports/judge.hpp"
#include "reports/median_select.hpp"
#include "reports/results.hpp"

namespace railcheck::reports {

class RecordTable;
// What judge() worked out (the profile, each kind's median and gates, the rails' port rates,
// the nodes in every slow pair): a judged row's cause is written from it (judge.cpp).
struct JudgeContext;
std::string judged_cause(const JudgeContext& context, const RecordTable& table, size_t row);

class RecordTable {
 public:
  // Row::flags
  static constexpr uint8_t kFigures = 1;  // value (and p99, for latency) are set
  static constexpr uint8_t kError = 2;    // the test did not run: error() says why
  static constexpr uint8_t kCause = 4;    // cause() has a text
  static constexpr uint8_t kJudged = 8;   // verdict by judge(): cause() writes it from the judge's context

  // What the rows of one kind share. Their figures are compared with each other (the
  // outlier check) and summarized together.
  struct Kind {
    uint16_t rail = 0;    // rail index (rail_name())
    uint16_t label = 0;   // name id of the test as reports name it (test_label())
    verbs::TestId test;   // the test of the label: write_lat of "write_lat_cuda"
    uint16_t series = 0;  // the (rail, label): one test at every size and QP count
    uint64_t size_bytes = 0;
    uint32_t qps = 1;
    bool latency = false;  // a latency test (value is p50 us), else bandwidth (average Gb/s)
    bool bidir = false;
  };
  // One test of one rail: the kinds it ran as, its gated size is chosen among them.
  struct Series {
    uint16_t rail = 0;
    uint16_t label = 0;
    verbs::TestId test;
    bool plain = true;    // the label is the test's name: host memory on both sides, one direction
    bool latency = false;
    std::vector<uint16_t> kinds;
  };

  struct Row {
    double value = 0;           // the headline figure, exact: p50 us or average Gb/s
    uint16_t src = 0, dst = 0;  // the ends, numbered within the rail: src(), dst() give end ids
    uint16_t kind = 0;
    uint8_t flags = 0;
    Verdict verdict = Verdict::kNone;

    [[nodiscard]] bool figures() const noexcept { return (flags & kFigures) != 0; }
    [[nodiscard]] bool failed_to_run() const noexcept { return (flags & kError) != 0; }
    // Its figure counts in medians and summaries: it ran, has figures and was not waived.
    [[nodiscard]] bool measured() const noexcept { return verdict != Verdict::kWaived && !failed_to_run() && figures(); }
  };

  // Figures of the measured rows of one kind: those with figures that ran and were not waived.
  // (Also used for any other group of rows: a test over its sizes, in the summaries.)
  struct KindStats {
    size_t measured = 0;
    double min = 0, median = 0, max = 0;
    double p99_min = 0, p99_median = 0, p99_max = 0;  // latency kinds: of the rows' p99

    // A measured row's figures into the count and extremes (select_medians() does medians).
    void add(double value, bool latency, float p99) {
      const bool first = measured++ == 0;
      min = first ? value : std::min(min, value);
      max = first ? value : std::max(max, value);
      if (!latency) return;
      p99_min = first ? p99 : std::min<double>(p99_min, p99);
      p99_max = first ? p99 : std::max<double>(p99_max, p99);
    }
  };

  // The end's id; equal facts give the same id. With a `hint` (an id this end had before),
  // an unchanged end costs one comparison instead of a lookup.
  Result<uint32_t> intern_end(const PairEnd& end);
  Result<uint32_t> intern_end(const PairEnd& end, uint32_t hint) {
    if (hint < ends_.size() && ends_[hint].facts == end) return hint;
    return intern_end(end);
  }
  // Appends a record (its figures, error and verdict; not its iteration counts, timings or
  // every percentile) and returns the row index. The three-argument form takes ends already
  // interned, for a producer that adds many records of the same ends.
  Result<size_t> add(const Record& r, uint32_t src, uint32_t dst);
  Result<size_t> add(const Record& r);
  void reserve(size_t rows);
  // A table of these records, row i from records[i].
  static Result<RecordTable> of(std::span<const Record> records);

  [[nodiscard]] size_t size() const noexcept { return rows_.size(); }
  [[nodiscard]] const Row& row(size_t i) const { return rows_[i]; }
  [[nodiscard]] std::span<const Row> rows() const noexcept { return rows_; }

  [[nodiscard]] const Kind& kind(const Row& r) const { return kinds_[r.kind]; }
  [[nodiscard]] const Kind& kind_at(uint16_t id) const { return kinds_[id]; }
  [[nodiscard]] size_t kind_count() const noexcept { return kinds_.size(); }
  [[nodiscard]] const Series& series(uint16_t id) const { return series_[id]; }
  [[nodiscard]] size_t series_count() const noexcept { return series_.size(); }
  [[nodiscard]] bool latency(const Row& r) const { return kinds_[r.kind].latency; }
  [[nodiscard]] uint16_t rail(const Row& r) const { return kinds_[r.kind].rail; }
  [[nodiscard]] uint16_t label(const Row& r) const { return kinds_[r.kind].label; }
  [[nodiscard]] uint64_t size_bytes(const Row& r) const { return kinds_[r.kind].size_bytes; }
  [[nodiscard]] uint32_t qps(const Row& r) const { return kinds_[r.kind].qps; }
  // The label's test: write_lat of "write_lat_cuda".
  [[nodiscard]] verbs::TestId test(const Row& r) const { return kinds_[r.kind].test; }
  // A latency row's p99 (us, as a float: 7 significant digits); 0 for bandwidth rows.
  [[nodiscard]] float p99(size_t row) const;
  // Calls visit(index, row, kind, p99) for every row in order (p99 0 for bandwidth rows): a
  // pass over the rows that reads the p99 column alongside, without p99()'s lookup per row.
  template <typename Visit>
  void for_each_row(Visit&& visit) const {
    size_t latency_row = 0;  // the row's entry in p99_
    for (size_t i = 0; i < rows_.size(); ++i) {
      const Kind& k = kinds_[rows_[i].kind];
      visit(i, rows_[i], k, k.latency ? p99_[latency_row++] : 0.0f);
    }
  }

  // Rails, numbered in the order records first named them.
  [[nodiscard]] size_t rail_count() const noexcept { return rails_.size(); }
  [[nodiscard]] const std::string& rail_name(uint16_t rail) const { return names_[rails_[rail].name]; }
  [[nodiscard]] std::optional<uint16_t> find_rail(std::string_view name) const;
  // The rail's ends, in the order its rows first named them.
  [[nodiscard]] std::span<const uint32_t> rail_ends(uint16_t rail) const { return rails_[rail].ends; }

  // Ends: src() and dst() give a row's end ids.
  [[nodiscard]] uint32_t src(const Row& r) const { return rails_[kinds_[r.kind].rail].ends[r.src]; }
  [[nodiscard]] uint32_t dst(const Row& r) const { return rails_[kinds_[r.kind].rail].ends[r.dst]; }
  [[nodiscard]] const PairEnd& end(uint32_t id) const { return ends_[id].facts; }
  [[nodiscard]] size_t end_count() const noexcept { return ends_.size(); }
  // Nodes and ports ((node, interface)) interned too; ids index node_name().
  [[nodiscard]] uint32_t node_of(uint32_t end) const { return ends_[end].node; }
  [[nodiscard]] uint32_t port_of(uint32_t end) const { return ends_[end].port; }
  [[nodiscard]] const std::string& node_name(uint32_t node) const { return nodes_[node]; }
  [[nodiscard]] size_t node_count() const noexcept { return nodes_.size(); }
  [[nodiscard]] std::optional<uint32_t> find_node(std::string_view node) const;
  // Test labels and tests (Kind::label, Kind::test).
  [[nodiscard]] const std::string& name(uint16_t id) const { return names_[id]; }
  // "gpu-a1 -> gpu-a2" (pair_name()).
  [[nodiscard]] std::string pair_name(size_t row) const;
  [[nodiscard]] std::string_view error(size_t row) const;  // empty: none
  // The port counters that moved during the row's test (any end); null when none did or none
  // were read. Held only for the rows where one moved: a healthy run holds none.
  [[nodiscard]] const RecordCounters* counters(size_t row) const;
  // A measurement of the same test (the coordinator's confirmation run) replaces the row's
  // figures and counters, when it has figures; its kind, ends and errors stay.
  void replace_figures(size_t row, const Record& r);
  // Why the row has its verdict; empty: no reason given. A verdict judge() gave has its cause
  // written now, from what judge() kept (judged_cause()).
  [[nodiscard]] std::string cause(size_t row) const;
  // Distinct error and cause texts held (judge()'s causes are not: they are written when asked for).
  [[nodiscard]] size_t text_count() const noexcept { return texts_.size(); }

  void set_verdict(size_t row, Verdict v, std::string_view cause) {
    Row& r = rows_[row];
    // Most verdicts are a pass without a cause, set once: no lookup.
    if (cause.empty() && (r.flags & kCause) == 0 && (r.verdict == Verdict::kWaived) == (v == Verdict::kWaived)) {
      r.verdict = v;
      r.flags &= static_cast<uint8_t>(~kJudged);
      return;
    }
    set_verdict_and_cause(row, v, cause);
  }
  // judge(): a verdict whose cause comes from the context it sets when done.
  void set_judged_verdict(size_t row, Verdict v) {
    rows_[row].verdict = v;
    rows_[row].flags |= kJudged;
  }
  void set_judge_context(std::shared_ptr<const JudgeContext> context) { judged_ = std::move(context); }
  // Drops the causes of every row but the waived ones (judge() starts here).
  void clear_causes();

  // Per kind (indexed by kind id). Counts and extremes are kept as rows are added; the medians
  // are computed when first asked for after a change (a row added, waived or no longer waived),
  // in a few passes over the rows (MedianSelect), and shared by judge() and the summaries. Not
  // safe to call from two threads at once.
  [[nodiscard]] const std::vector<KindStats>& kind_stats() const;

 private:
  struct End {
    PairEnd facts;
    uint32_t node = 0;
    uint32_t port = 0;
  };
  struct Rail {
    uint16_t name = 0;
    std::vector<uint32_t> ends;   // end ids by number within the rail
    std::vector<uint16_t> local;  // by end id: the number within the rail + 1; 0: none yet
  };
  void set_verdict_and_cause(size_t row, Verdict v, std::string_view cause);
  // add() and intern_end() without the limit check's conversion: they throw std::length_error,
  // which the public ones turn into an Error (no exception leaves the table).
  uint32_t intern_end_or_throw(const PairEnd& end);
  size_t add_or_throw(const Record& r, uint32_t src, uint32_t dst);
  uint16_t name_id(std::string_view name);
  uint32_t text_id(std::string_view text);
  uint16_t rail_index(std::string_view name);
  uint16_t local_end(uint16_t rail, uint32_t end);
  uint16_t kind_of(const Record& r, uint32_t src, uint32_t dst, uint16_t& rail);
  static std::string_view text_of(const std::vector<std::pair<uint32_t, uint32_t>>& by_row,
                                  const std::vector<std::string>& texts, size_t row);

  std::vector<Row> rows_;
  // p99 of the latency rows, in row order; the latency rows marked in a bit per row, and the
  // count of latency rows before every 64 rows: p99(i) finds row i's entry in O(1).
  std::vector<float> p99_;
  std::vector<uint64_t> latency_bits_;
  std::vector<uint32_t> latency_before_;

  std::vector<End> ends_;
  std::vector<uint16_t> end_mem_;  // by end: name id of facts.mem (every add() reads it)
  std::unordered_map<std::string, uint32_t> end_ids_;   // key: every field of the end
  std::vector<std::string> nodes_;
  std::unordered_map<std::string, uint32_t> node_ids_;
  std::unordered_map<std::string, uint32_t> port_ids_;  // "node\ninterface"
  std::vector<std::string> names_;
  std::unordered_map<std::string, uint16_t> name_ids_;
  std::vector<Rail> rails_;
  std::vector<Kind> kinds_;
  std::map<std::tuple<uint16_t, uint16_t, uint64_t, uint32_t>, uint16_t> kind_ids_;  // rail, label, size, QPs
  std::vector<Series> series_;
  std::map<std::pair<uint16_t, uint16_t>, uint16_t> series_ids_;  // rail, label
  std::vector<std::string> texts_;                      // errors and causes
  std::unordered_map<std::string, uint32_t> text_ids_;
  std::vector<std::pair<uint32_t, uint32_t>> errors_;   // (row, text id), by row
  std::vector<std::pair<uint32_t, uint32_t>> causes_;   // (row, text id), by row
  std::vector<std::pair<uint32_t, RecordCounters>> counters_;  // by row: the rows whose counters moved
  void set_counters(size_t row, const RecordCounters& c);
  // A latency row's entry in p99_: the latency rows before it (latency_before_ and a popcount).
  [[nodiscard]] size_t p99_index(size_t row) const;

  // The kinds of the last few distinct records, by what a record's kind is found from: a
  // coordinator's records come a pair's tests one after another, from a few rails at a time.
  struct Recent {
    std::string rail;
    verbs::TestId test;
    uint64_t size_bytes = 0;
    uint32_t qps = 0;
    uint16_t src_mem = 0, dst_mem = 0;
    bool bidir = false;
    uint16_t rail_index = 0, kind = 0;
  };
  std::array<Recent, 16> recent_{};  // the latest first
  size_t recent_count_ = 0;
  struct LastEnds {
    uint16_t rail = UINT16_MAX;
    uint32_t src = 0, dst = 0;
    uint16_t local_src = 0, local_dst = 0;
  };
  LastEnds last_ends_;  // a pair's records share their ends

  void count(const Row& r, float p99) const;  // into stats_: a measured row's figures

  std::shared_ptr<const JudgeContext> judged_;  // the last judge()'s, for cause()

  // Every kSampleEvery-th measured value (and p99) of a kind, for MedianSelect's first guess.
  static constexpr size_t kSampleEvery = 64;
  mutable std::vector<std::vector<double>> value_samples_, p99_samples_;  // by kind
  mutable std::vector<KindStats> stats_;  // by kind
  mutable bool counts_valid_ = true;      // stats_' counts and extremes
  mutable bool medians_valid_ = true;
};
static_assert(sizeof(RecordTable::Row) == 16);

// Fills stats[g].median and .p99_median from the figures feed(visit) gives, again on each
// pass: it calls visit(g, value, latency, p99) for every measured row of every group g, whose
// count and extremes stats[g] already has (KindStats::add()). Samples per group, when given,
// are MedianSelect's first guesses.
template <typename Feed>
void select_medians(std::span<RecordTable::KindStats> stats, Feed&& feed,
                    std::span<const std::vector<double>> value_samples = {},
                    std::span<const std::vector<double>> p99_samples = {}) {
  MedianSelect select;  // group 2g: g's values; 2g + 1: its p99s (all 0 for bandwidth: done at once)
  for (size_t g = 0; g < stats.size(); ++g) {
    const RecordTable::KindStats& s = stats[g];
    select.add(s.measured, s.min, s.max, g < value_samples.size() ? value_samples[g] : std::span<const double>{});
    select.add(s.measured, s.p99_min, s.p99_max, g < p99_samples.size() ? p99_samples[g] : std::span<const double>{});
  }
  while (!select.done()) {
    select.pass([&](auto&& value) {
      feed([&](size_t g, double v, bool latency, float p99) {
        value(2 * g, v);
        if (latency) value(2 * g + 1, p99);
      });
    });
  }
  for (size_t g = 0; g < stats.size(); ++g) {
    stats[g].median = select.median(2 * g);
    stats[g].p99_median = select.median(2 * g + 1);
  }
}

// The table's verdicts and causes (judge(Results&) is this, over a table of the results'
// records).
void judge(RecordTable& table, const Profile& profile);

// For each row, whether its size is the one its pair's test is gated at (see gate_flags()).
std::vector<bool> gate_flags(const RecordTable& table);
// Whether every row is gated (each test ran at one size): gate_flags() all true, without them.
bool every_row_gated(const RecordTable& table);

// Per-rail summaries of a table. `rails` and `tests` order them (as in summarize_rails());
// TestRow::worst stays null, TestRow::worst_row names the row.
std::vector<RailSummary> summarize_rails(const RecordTable& table, std::span<const RailInfo> rails,
                                         std::span<const std::string> tests);

}  // namespace railcheck::reports
