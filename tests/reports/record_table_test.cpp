// RecordTable: what it interns and keeps, and that judging or summarizing a table gives what
// the Results-level functions give (those are built on it; judge_test and the golden files pin
// the rules themselves).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "report_fixtures.hpp"
#include "reports/outputs.hpp"
#include "reports/record_table.hpp"

namespace railcheck::reports {
namespace {

using testing::bw_record;
using testing::lat_record;

TEST(RecordTable, InternsEachEndOnceAndKeepsTheFacts) {
  RecordTable t;
  const size_t a = *t.add(bw_record("n1", "n2", 380));
  const size_t b = *t.add(bw_record("n1", "n3", 370));
  EXPECT_EQ(t.src(t.row(a)), t.src(t.row(b)));  // n1 net1, the same facts
  EXPECT_NE(t.dst(t.row(a)), t.dst(t.row(b)));
  EXPECT_EQ(t.end_count(), 3u);
  EXPECT_EQ(t.node_count(), 3u);
  EXPECT_EQ(t.end(t.dst(t.row(b))).node, "n3");
  EXPECT_EQ(t.end(t.dst(t.row(b))).rate_gbps, 400);

  Record other_mem = bw_record("n1", "n2", 300);
  other_mem.src.mem = "cuda";  // another end (the memory differs), the same node and port
  const size_t c = *t.add(other_mem);
  EXPECT_NE(t.src(t.row(c)), t.src(t.row(a)));
  EXPECT_EQ(t.node_of(t.src(t.row(c))), t.node_of(t.src(t.row(a))));
  EXPECT_EQ(t.port_of(t.src(t.row(c))), t.port_of(t.src(t.row(a))));
  EXPECT_EQ(t.end_count(), 4u);
  EXPECT_EQ(t.name(t.label(t.row(c))), "write_bw_cuda-host");
  EXPECT_EQ(t.test(t.row(c)).name(), "write_bw");
}

TEST(RecordTable, KeepsTheHeadlineFiguresErrorsAndVerdicts) {
  RecordTable t;
  Record lat = lat_record("a", "b", "read_lat", 4.25);
  lat.verdict = Verdict::kWaived;
  lat.cause = "no GPU";
  Record failed = bw_record("a", "c", 0, 65536, "rail-2");
  failed.bandwidth.reset();
  failed.error = "agent c unreachable since round 2";
  const size_t i = *t.add(lat);
  const size_t j = *t.add(failed);

  EXPECT_TRUE(t.latency(t.row(i)));
  EXPECT_TRUE(t.row(i).figures());
  EXPECT_DOUBLE_EQ(t.row(i).value, 4.25);
  EXPECT_FLOAT_EQ(t.p99(i), 4.25f * 1.5f);
  EXPECT_EQ(t.row(i).verdict, Verdict::kWaived);
  EXPECT_EQ(t.cause(i), "no GPU");
  EXPECT_EQ(t.error(i), "");
  EXPECT_EQ(t.size_bytes(t.row(i)), 2u);

  EXPECT_FALSE(t.latency(t.row(j)));
  EXPECT_EQ(t.p99(j), 0.0f);
  EXPECT_FALSE(t.row(j).figures());
  EXPECT_TRUE(t.row(j).failed_to_run());
  EXPECT_EQ(t.error(j), "agent c unreachable since round 2");
  EXPECT_EQ(t.size_bytes(t.row(j)), 65536u);
  EXPECT_EQ(t.rail_name(t.rail(t.row(j))), "rail-2");
  ASSERT_EQ(t.rail_count(), 2u);
  EXPECT_EQ(t.rail_name(0), "r");

  t.set_verdict(i, Verdict::kPass, "");
  EXPECT_EQ(t.cause(i), "");
  t.set_verdict(j, Verdict::kFail, "again");
  EXPECT_EQ(t.cause(j), "again");
}

TEST(RecordTable, HoldsCountersOnlyWhereTheyMovedAndTakesAConfirmingMeasurement) {
  RecordTable t;
  Record quiet = lat_record("a", "b", "write_lat", 2.0);
  quiet.counters = RecordCounters{.src = std::vector<verbs::CounterDelta>{}, .dst = std::vector<verbs::CounterDelta>{}, .note = {}};
  Record lossy = lat_record("a", "c", "write_lat", 9.0);
  lossy.counters.dst = std::vector<verbs::CounterDelta>{{"rcvd_seq_err", 3, verbs::CounterMeaning::kRetransmission}};
  const size_t i = *t.add(quiet);
  const size_t j = *t.add(lossy);
  EXPECT_EQ(t.counters(i), nullptr);
  ASSERT_NE(t.counters(j), nullptr);
  EXPECT_EQ(t.counters(j)->dst->front().name, "rcvd_seq_err");
  EXPECT_DOUBLE_EQ(t.kind_stats()[t.row(j).kind].max, 9.0);

  Record again = lossy;
  again.latency_us->p50 = 2.1;
  again.latency_us->p99 = 3.0;
  again.counters = quiet.counters;
  t.replace_figures(j, again);
  EXPECT_DOUBLE_EQ(t.row(j).value, 2.1);
  EXPECT_FLOAT_EQ(t.p99(j), 3.0f);
  EXPECT_EQ(t.counters(j), nullptr);  // the confirming run's counters did not move
  EXPECT_DOUBLE_EQ(t.kind_stats()[t.row(j).kind].max, 2.1);  // the statistics follow
  EXPECT_FLOAT_EQ(t.p99(i), 3.0f);  // and the other row's p99 is its own
}

TEST(RecordTable, GatesEachPairAtItsOwnSize) {
  RecordTable t;
  t.add(bw_record("a", "b", 100, 65536));
  t.add(bw_record("a", "b", 380, 1 << 20));
  t.add(bw_record("a", "c", 100, 65536));  // this pair ran one size: it is gated there
  t.add(lat_record("a", "b", "write_lat", 2, 2));
  t.add(lat_record("a", "b", "write_lat", 3, 4096));
  EXPECT_EQ(gate_flags(t), (std::vector<bool>{false, true, true, true, false}));
}

TEST(RecordTable, JudgingTheTableIsJudgingTheResults) {
  // The judged fixture (every verdict kind and cause) from a table, row by row.
  const Results expected = testing::judged_cluster();
  Results raw = testing::cluster();
  RecordTable t = testing::table_of(raw.records);
  judge(t, *load_profile("default"));
  ASSERT_EQ(t.size(), expected.records.size());
  size_t not_pass = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    EXPECT_EQ(t.row(i).verdict, expected.records[i].verdict) << "record " << i;
    EXPECT_EQ(t.cause(i), expected.records[i].cause) << "record " << i;
    not_pass += t.row(i).verdict != Verdict::kPass ? 1 : 0;
  }
  EXPECT_GT(not_pass, 0u);  // the fixture has warnings and failures to get right
}

TEST(RecordTable, SummarizesPairsNodesAndTestsPerRail) {
  Results res;
  res.meta.tests = {"write_lat", "write_bw"};
  res.rails.push_back({.name = "r", .grouped_by = "network", .members = {{.node = "z", .interface = "net1", .ip = ""}},
                       .missing_nodes = {}});
  res.records = {bw_record("a", "b", 380), bw_record("b", "a", 370), bw_record("a", "c", 100),
                 lat_record("a", "b", "write_lat", 2.0), lat_record("a", "c", "write_lat", 3.0)};
  res.records[2].verdict = Verdict::kFail;
  RecordTable t = testing::table_of(res.records);
  const auto rails = summarize_rails(t, res.rails, res.meta.tests);
  ASSERT_EQ(rails.size(), 1u);
  const RailSummary& s = rails[0];
  EXPECT_EQ(s.info, &res.rails[0]);
  EXPECT_EQ(s.nodes, (std::vector<std::string>{"z", "a", "b", "c"}));
  EXPECT_EQ(s.records, 5u);
  EXPECT_EQ(s.pairs, 3u);  // a->b, b->a, a->c
  EXPECT_EQ(s.fail, 1u);
  EXPECT_EQ(s.unjudged, 2u);
  ASSERT_EQ(s.tests.size(), 2u);
  EXPECT_EQ(s.tests[0].label, "write_lat");
  EXPECT_TRUE(s.tests[0].latency);
  EXPECT_DOUBLE_EQ(s.tests[0].median, 2.5);
  EXPECT_EQ(s.tests[0].worst_row, 4u);  // the higher latency
  EXPECT_EQ(s.tests[1].label, "write_bw");
  EXPECT_EQ(s.tests[1].measured, 3u);
  EXPECT_DOUBLE_EQ(s.tests[1].min, 100);
  EXPECT_DOUBLE_EQ(s.tests[1].median, 370);
  EXPECT_EQ(s.tests[1].worst_row, 2u);  // the failed pair
  EXPECT_EQ(s.tests[1].worst, nullptr);
}

TEST(RecordTable, SummarizesATestThatRanAtSeveralSizesOrQpCounts) {
  std::vector<Record> records = {
      // Bandwidth gated at each pair's largest size: 380, 370 and 360 Gb/s.
      bw_record("a", "b", 100, 65536), bw_record("a", "b", 380), bw_record("a", "c", 110, 65536),
      bw_record("a", "c", 370), bw_record("b", "c", 360),
      // Latency gated at each pair's smallest size: 2.0 and 2.2 us.
      lat_record("a", "b", "write_lat", 2.0), lat_record("a", "b", "write_lat", 3.5, 4096),
      lat_record("a", "c", "write_lat", 2.2)};
  // On rail r2, one size at two QP counts: every row gated.
  for (auto [src, dst, gbps, qps] : {std::tuple("d", "e", 300.0, 1u), std::tuple("d", "e", 390.0, 4u),
                                     std::tuple("e", "d", 310.0, 1u)}) {
    records.push_back(bw_record(src, dst, gbps, 1 << 20, "r2"));
    records.back().qps = qps;
  }
  const RecordTable t = testing::table_of(records);
  const std::vector<std::string> tests{"write_lat", "write_bw"};
  const auto rails = summarize_rails(t, {}, tests);
  ASSERT_EQ(rails.size(), 2u);
  ASSERT_EQ(rails[0].tests.size(), 2u);
  const TestRow& lat = rails[0].tests[0];
  EXPECT_EQ(lat.size_bytes, 2u);
  EXPECT_EQ(lat.measured, 2u);
  EXPECT_DOUBLE_EQ(lat.median, 2.1);
  EXPECT_DOUBLE_EQ(lat.max, 2.2);
  EXPECT_NEAR(lat.p99_median, 3.15, 1e-6);  // p99 is 1.5 x p50, kept as a float
  const TestRow& bw = rails[0].tests[1];
  EXPECT_EQ(bw.size_bytes, 1u << 20);
  EXPECT_EQ(bw.records, 3u);
  EXPECT_EQ(bw.measured, 3u);
  EXPECT_DOUBLE_EQ(bw.min, 360);
  EXPECT_DOUBLE_EQ(bw.median, 370);
  EXPECT_DOUBLE_EQ(bw.max, 380);
  ASSERT_EQ(rails[1].tests.size(), 1u);
  EXPECT_EQ(rails[1].tests[0].measured, 3u);
  EXPECT_DOUBLE_EQ(rails[1].tests[0].median, 310);
  EXPECT_DOUBLE_EQ(rails[1].tests[0].max, 390);
}

TEST(RecordTable, KindStatsFollowWaivedRows) {
  RecordTable t;
  for (double gbps : {380.0, 370.0, 360.0, 350.0}) t.add(bw_record("a", "b", gbps));
  t.add(lat_record("a", "b", "write_lat", 2.0));
  ASSERT_EQ(t.kind_count(), 2u);
  const auto& bw = t.kind_stats()[t.row(0).kind];
  EXPECT_EQ(bw.measured, 4u);
  EXPECT_DOUBLE_EQ(bw.median, 365);
  EXPECT_DOUBLE_EQ(bw.min, 350);
  const auto& lat = t.kind_stats()[t.row(4).kind];
  EXPECT_DOUBLE_EQ(lat.median, 2.0);
  EXPECT_FLOAT_EQ(static_cast<float>(lat.p99_median), 3.0f);

  t.set_verdict(3, Verdict::kWaived, "no GPU");  // 350 no longer counts
  const auto& after = t.kind_stats()[t.row(0).kind];
  EXPECT_EQ(after.measured, 3u);
  EXPECT_DOUBLE_EQ(after.median, 370);
  EXPECT_DOUBLE_EQ(after.min, 360);
  t.add(bw_record("a", "c", 100));
  EXPECT_DOUBLE_EQ(t.kind_stats()[t.row(0).kind].median, 365);
}

TEST(RecordTable, JudgedCausesAreWrittenWhenAskedNotHeld) {
  // A rail where every pair is slow, each at its own figure: 1000 distinct causes.
  RecordTable t;
  for (int i = 0; i < 1000; ++i) t.add(bw_record(fmt::format("n{}", i), "hub", 100 + i * 0.1));
  judge(t, *load_profile("default"));
  EXPECT_EQ(t.text_count(), 0u);
  std::set<std::string> causes;
  for (size_t i = 0; i < t.size(); ++i) {
    ASSERT_EQ(t.row(i).verdict, Verdict::kFail);
    causes.insert(t.cause(i));
  }
  EXPECT_EQ(causes.size(), 1000u);
  EXPECT_EQ(t.cause(0),
            "100.0 Gb/s < 360.0 Gb/s (0.90 x 400 Gb/s); 100.0 Gb/s is 33% below the rail's median 149.9 Gb/s; "
            "likely cause: hub is in all 1000 slow pairs of rail r");

  // A verdict given by hand replaces the judged one, and its cause with it.
  t.set_verdict(0, Verdict::kWaived, "no GPU on n0");
  EXPECT_EQ(t.cause(0), "no GPU on n0");
  t.set_verdict(1, Verdict::kPass, "");
  EXPECT_EQ(t.cause(1), "");
}

TEST(RecordTable, TheTerminalReportListsAFewFailuresPerRailNotEveryOne) {
  Results head;
  head.meta.profile = "default";
  RecordTable t;
  for (int i = 0; i < 30; ++i) t.add(bw_record(fmt::format("n{:02}", i), "hub", 100));
  t.add(bw_record("a", "b", 100, 1 << 20, "r2"));
  judge(t, *load_profile("default"));
  std::ostringstream out;
  ASSERT_TRUE(testing::format("terminal")->write(RunView(head, t), out).has_value());
  const std::string text = out.str();
  EXPECT_NE(text.find("failures (21 listed, 10 more records)"), std::string::npos) << text;
  EXPECT_NE(text.find("n19 -> hub"), std::string::npos);
  EXPECT_EQ(text.find("n20 -> hub"), std::string::npos);
  EXPECT_NE(text.find("a -> b"), std::string::npos);  // another rail has its own 20
  EXPECT_NE(text.find("... and 10 more fail records on rail r, not listed here"), std::string::npos) << text;
}

// Every fact of an end is part of its identity: two ends that differ in any field are two ends
// (the table's key and PairEnd's == cannot drift apart).
TEST(RecordTable, EveryEndFieldMakesAnotherEnd) {
  const PairEnd base = bw_record("a", "b", 1).src;
  const std::vector<std::function<void(PairEnd&)>> changes = {
      [](PairEnd& e) { e.node = "x"; },           [](PairEnd& e) { e.pod = "x"; },
      [](PairEnd& e) { e.interface = "x"; },      [](PairEnd& e) { e.ip = "x"; },
      [](PairEnd& e) { e.device = "x"; },         [](PairEnd& e) { e.gid = "x"; },
      [](PairEnd& e) { e.pci_address = "x"; },    [](PairEnd& e) { e.link_layer = "x"; },
      [](PairEnd& e) { e.active_mtu = 1024; },    [](PairEnd& e) { e.rate_gbps = 200; },
      [](PairEnd& e) { e.mem = "cuda"; },         [](PairEnd& e) { e.gpu = 3; },
      [](PairEnd& e) { e.gpu_pci_address = "x"; }, [](PairEnd& e) { e.gpu_class = "SYS"; },
      [](PairEnd& e) { e.mem_registration = "x"; }, [](PairEnd& e) { e.mem_note = "x"; },
      [](PairEnd& e) { e.cpu = 7; },              [](PairEnd& e) { e.numa_node = 1; },
      [](PairEnd& e) { e.placement_note = "x"; }, [](PairEnd& e) { e.relaxed_ordering = false; },
      [](PairEnd& e) { e.inline_bytes = 64; },    [](PairEnd& e) { e.scatter_to_cqe = "off"; },
  };
  RecordTable t;
  const uint32_t id = *t.intern_end(base);
  std::set<uint32_t> ids{id};
  for (const auto& change : changes) {
    PairEnd e = base;
    change(e);
    ASSERT_FALSE(e == base);
    const uint32_t other = *t.intern_end(e);
    EXPECT_TRUE(ids.insert(other).second) << "an end that differs got the id of another";
    EXPECT_EQ(t.end(other), e);
    EXPECT_EQ(*t.intern_end(e, id), other);  // a stale hint is not taken for it
  }
}

TEST(RecordTable, MoreEndsOnARailThanItCanNumberIsAClearError) {
  RecordTable t;
  Record r = bw_record("n0", "hub", 380);
  const uint32_t hub = *t.intern_end(r.dst);
  Result<size_t> added;
  uint32_t n = 0;
  for (; n <= 65'535 && added; ++n) {
    r.src.node = fmt::format("n{}", n);
    auto src = t.intern_end(r.src);
    ASSERT_TRUE(src.has_value());
    added = t.add(r, *src, hub);
  }
  ASSERT_FALSE(added.has_value()) << "65,537 ends on one rail were accepted";
  EXPECT_NE(added.error().what.find("rail r has more than 65535 ends"), std::string::npos) << added.error().what;
  EXPECT_EQ(added.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(t.size(), 65'534u);  // the hub and 65,534 others fit; the one that did not left nothing
}

// A run too large to hold: the records stream to a JSON Lines file and into a table; the
// reports come from the table and the file, and say what the in-memory path says.
class LargeRun : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / "railcheck-large-run";
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    raw_ = testing::cluster();
    std::ofstream spill(dir_ / "records.jsonl");
    for (const Record& r : raw_.records) {
      spill << to_json(r).dump() << "\n";
      ASSERT_TRUE(table_.add(r).has_value());
    }
    judge(table_, *load_profile("default"));
    head_ = raw_;
    head_.records.clear();
    head_.meta.profile = "default";
  }
  // finish_run over the streamed run, without judging again, into dir_/out.
  Result<FinishedRun> finish(const std::string& jsonl, std::vector<Format> formats) {
    return finish_run(head_, table_, (dir_ / jsonl).string(),
                      FinishOptions{.profile = nullptr, .formats = std::move(formats), .dir = (dir_ / "out").string(),
                                    .terminal = nullptr});
  }
  std::filesystem::path dir_;
  Results raw_, head_;
  RecordTable table_;
};

TEST_F(LargeRun, StreamedResultsAreTheResultsDocument) {
  auto done = finish("records.jsonl", {testing::format("json")});
  ASSERT_TRUE(done.has_value()) << done.error().message();
  EXPECT_EQ(testing::read_text((dir_ / "out/results.json").string()), render(testing::judged_cluster(), "json"));
}

TEST_F(LargeRun, TerminalReportAndCsvFromTheTableAndTheFile) {
  const RunView view(head_, table_, (dir_ / "records.jsonl").string());
  EXPECT_FALSE(view.records_in_memory());
  for (const char* name : {"terminal", "csv"}) {
    std::ostringstream text;
    ASSERT_TRUE(testing::format(name)->write(view, text).has_value()) << name;
    EXPECT_EQ(text.str(), render(testing::judged_cluster(), name)) << name;
  }
  EXPECT_TRUE(view.outcome().failed());  // the fixture has failures, and the same outcome as in memory
  EXPECT_EQ(view.outcome().headline(), RunView(testing::judged_cluster(), testing::table_of(testing::judged_cluster().records))
                                           .outcome()
                                           .headline());
}

TEST_F(LargeRun, LeavesOutTheFormatsThatNeedTheRecordsInMemory) {
  std::vector<Format> every(all_formats().begin(), all_formats().end());
  auto done = finish("records.jsonl", every);
  ASSERT_TRUE(done.has_value()) << done.error().message();
  const auto out = dir_ / "out";
  EXPECT_EQ(done->written, (std::vector<std::string>{(out / "report.txt").string(), (out / "results.json").string(),
                                                     (out / "records.csv").string()}));
  std::vector<std::string> left;
  for (Format f : done->left_out) left.emplace_back(to_string(f));
  EXPECT_EQ(left, (std::vector<std::string>{"junit", "html", "prometheus"}));
  EXPECT_EQ(testing::read_text((out / "report.txt").string()), render(testing::judged_cluster(), "terminal"));
  EXPECT_FALSE(std::filesystem::exists(out / "junit.xml"));
  EXPECT_TRUE(done->outcome.failed());
}

TEST_F(LargeRun, ASpillThatDisagreesWithTheTableIsAnError) {
  std::ofstream(dir_ / "short.jsonl") << to_json(raw_.records[0]).dump() << "\n";
  auto done = finish("short.jsonl", {testing::format("json")});
  ASSERT_FALSE(done.has_value());
  EXPECT_NE(done.error().message().find("has 1 records"), std::string::npos) << done.error().message();

  std::ofstream(dir_ / "bad.jsonl") << "{not json\n";
  done = finish("bad.jsonl", {testing::format("json")});
  ASSERT_FALSE(done.has_value());
  EXPECT_NE(done.error().message().find("line 1: not a JSON record"), std::string::npos) << done.error().message();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out/results.json"));  // nothing half-written left behind
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out/results.json.tmp"));

  done = finish("bad.jsonl", {testing::format("csv")});  // a streaming reader says which line too
  ASSERT_FALSE(done.has_value());
  EXPECT_NE(done.error().message().find("bad.jsonl line 1"), std::string::npos) << done.error().message();

  done = finish("missing.jsonl", {testing::format("json")});
  ASSERT_FALSE(done.has_value());
  EXPECT_NE(done.error().message().find("missing.jsonl"), std::string::npos);
}

TEST(Median, OddEvenAndEmpty) {
  EXPECT_EQ(median({}), 0);
  EXPECT_EQ(median({3, 1, 2}), 2);
  EXPECT_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_EQ(median({5, 5, 1, 9, 9, 9}), 7);
}

}  // namespace
}  // namespace railcheck::reports
