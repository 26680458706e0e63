// judge(): each gate at its size, the outliers, each likely cause, and the records it must
// leave alone (waived) or fail outright (errors, no figures).
#include <gtest/gtest.h>

#include "report_fixtures.hpp"
#include "reports/outputs.hpp"
#include "reports/pair_ends.hpp"

namespace railcheck::reports {
namespace {

using testing::any_failed;
using testing::bw_record;
using testing::lat_record;

Results run_of(std::vector<Record> records) {
  Results r;
  r.records = std::move(records);
  return r;
}

Results judged(std::vector<Record> records, const Profile& p = Profile{}) {
  Results r = run_of(std::move(records));
  judge(r, p);
  return r;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Judge, BandwidthGateIsNinetyPercentOfTheSlowerPort) {
  auto r = judged({bw_record("a", "b", 361), bw_record("a", "c", 359)});
  EXPECT_EQ(r.records[0].verdict, Verdict::kPass);
  EXPECT_EQ(r.records[0].cause, "");
  EXPECT_EQ(r.records[1].verdict, Verdict::kFail);
  EXPECT_EQ(r.records[1].cause, "359.0 Gb/s < 360.0 Gb/s (0.90 x 400 Gb/s)");

  Record slow_end = bw_record("a", "d", 185);
  slow_end.dst.rate_gbps = 200;  // the gate follows the slower end: 0.9 x 200
  EXPECT_EQ(judged({slow_end}).records[0].verdict, Verdict::kPass);
  slow_end.bandwidth->avg_gbps = 179;
  EXPECT_EQ(judged({slow_end}).records[0].verdict, Verdict::kFail);
}

TEST(Judge, BidirectionalGateCountsBothDirections) {
  Record rec = bw_record("a", "b", 700);
  rec.bidir = true;
  auto r = judged({rec});
  EXPECT_EQ(r.records[0].verdict, Verdict::kFail);
  EXPECT_EQ(r.records[0].cause, "700.0 Gb/s < 720.0 Gb/s (0.90 x 400 Gb/s x 2 directions)");
  rec.bandwidth->avg_gbps = 725;
  EXPECT_EQ(judged({rec}).records[0].verdict, Verdict::kPass);
}

TEST(Judge, BandwidthIsGatedFromTheSaturationSizeAndAtTheLargest) {
  // 64 KiB rarely fills the link: below gate_from_bytes (1 MiB) only the largest size is held
  // to the rate; from 1 MiB up every size is.
  auto r = judged({bw_record("a", "b", 120, 65536), bw_record("a", "b", 380, 1 << 20)});
  EXPECT_EQ(r.records[0].verdict, Verdict::kPass);
  EXPECT_EQ(r.records[1].verdict, Verdict::kPass);
  auto sweep = judged({bw_record("a", "b", 120, 65536), bw_record("a", "b", 200, 1 << 20),
                       bw_record("a", "b", 380, 8 << 20)});
  EXPECT_EQ(sweep.records[0].verdict, Verdict::kPass);
  EXPECT_EQ(sweep.records[1].verdict, Verdict::kFail);  // a 1 MiB dip is a fault, not a small size
  EXPECT_EQ(sweep.records[1].cause, "200.0 Gb/s < 360.0 Gb/s (0.90 x 400 Gb/s)");
  EXPECT_EQ(sweep.records[2].verdict, Verdict::kPass);
  Profile largest_only;
  largest_only.bw_gate_from_bytes = 0;
  auto old_rule = judged({bw_record("a", "b", 200, 1 << 20), bw_record("a", "b", 380, 8 << 20)}, largest_only);
  EXPECT_EQ(old_rule.records[0].verdict, Verdict::kPass);
}

TEST(Judge, NoPortRateMeansNoRateGateButTheFloorHolds) {
  Record rec = bw_record("a", "b", 5);
  rec.src.rate_gbps.reset();
  rec.dst.rate_gbps.reset();
  auto r = judged({rec});
  EXPECT_EQ(r.records[0].verdict, Verdict::kPass);
  EXPECT_EQ(r.records[0].cause, "no port rate known: bandwidth not gated against the link");

  Profile floor;
  floor.bw_min_gbps = 10;
  r = judged({rec}, floor);
  EXPECT_EQ(r.records[0].verdict, Verdict::kFail);
  EXPECT_TRUE(contains(r.records[0].cause, "5.00 Gb/s < the profile's floor of 10 Gb/s")) << r.records[0].cause;

  Profile off;
  off.bw_rate_fraction = 0;  // no rate gate asked for: nothing to say about the rate
  EXPECT_EQ(judged({rec}, off).records[0].cause, "");
}

TEST(Judge, LatencyGatesPerVerbAtTheSmallestSize) {
  auto r = judged({lat_record("a", "b", "write_lat", 2.4), lat_record("a", "c", "write_lat", 2.6),
                   lat_record("a", "d", "send_lat", 2.6), lat_record("a", "e", "read_lat", 4.4),
                   lat_record("a", "f", "read_lat", 4.6)});
  EXPECT_EQ(r.records[0].verdict, Verdict::kPass);
  EXPECT_EQ(r.records[1].verdict, Verdict::kFail);
  EXPECT_TRUE(r.records[1].cause.starts_with("p50 2.60 us > 2.5 us")) << r.records[1].cause;
  EXPECT_EQ(r.records[2].verdict, Verdict::kFail);
  EXPECT_EQ(r.records[3].verdict, Verdict::kPass);
  EXPECT_EQ(r.records[4].verdict, Verdict::kFail);
  EXPECT_TRUE(contains(r.records[4].cause, "p50 4.60 us > 4.5 us"));

  // A 4 KiB message takes longer; only the pair's smallest size is gated.
  r = judged({lat_record("a", "b", "write_lat", 2.0, 2), lat_record("a", "b", "write_lat", 3.1, 4096)});
  EXPECT_EQ(r.records[1].verdict, Verdict::kPass);
}

TEST(Judge, P99GateWhenTheProfileSetsOne) {
  Record rec = lat_record("a", "b", "write_lat", 2.0);  // p99 = 3.0
  EXPECT_EQ(judged({rec}).records[0].verdict, Verdict::kPass);
  Profile p;
  p.lat_p99_max_us.set("write", 2.9);
  auto r = judged({rec}, p);
  EXPECT_EQ(r.records[0].verdict, Verdict::kFail);
  EXPECT_EQ(r.records[0].cause, "p99 3.00 us > 2.9 us");
}

TEST(Judge, BandwidthOutlierIsAWarningEvenAboveTheGate) {
  Profile p;
  p.bw_rate_fraction = 0.5;  // 200 Gb/s: every pair passes the gate
  auto r = judged({bw_record("a", "b", 380), bw_record("a", "c", 382), bw_record("b", "c", 379),
                   bw_record("c", "d", 381), bw_record("b", "d", 270)},
                  p);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(r.records[i].verdict, Verdict::kPass) << i;
  EXPECT_EQ(r.records[4].verdict, Verdict::kWarn);
  EXPECT_TRUE(contains(r.records[4].cause, "270.0 Gb/s is 29% below the rail's median 380.0 Gb/s"))
      << r.records[4].cause;

  p.outlier_pct = 30;  // 270 is within 30% of 380
  r = judged({bw_record("a", "b", 380), bw_record("a", "c", 382), bw_record("b", "c", 379), bw_record("c", "d", 381),
              bw_record("b", "d", 270)},
             p);
  EXPECT_EQ(r.records[4].verdict, Verdict::kPass);
}

TEST(Judge, LatencyOutlierAboveTheMedian) {
  Profile p;
  p.lat_p50_max_us = {};  // no absolute gate: only the outlier speaks
  auto r = judged({lat_record("a", "b", "write_lat", 2.0), lat_record("a", "c", "write_lat", 2.1),
                   lat_record("b", "c", "write_lat", 2.0), lat_record("c", "d", "write_lat", 2.7)},
                  p);
  EXPECT_EQ(r.records[3].verdict, Verdict::kWarn);
  EXPECT_TRUE(contains(r.records[3].cause, "p50 2.70 us is 32% above the rail's median 2.05 us")) << r.records[3].cause;
  EXPECT_EQ(r.records[0].verdict, Verdict::kPass);
}

TEST(Judge, OutliersNeedEnoughPairsAndCompareWithinTestAndSize) {
  Profile p;
  p.bw_rate_fraction = 0;
  // Two pairs: no median worth the name.
  auto r = judged({bw_record("a", "b", 380), bw_record("a", "c", 100)}, p);
  EXPECT_EQ(r.records[1].verdict, Verdict::kPass);
  // Other sizes and rails are other groups.
  r = judged({bw_record("a", "b", 380), bw_record("a", "c", 381), bw_record("b", "c", 100, 65536),
              bw_record("b", "d", 100, 1 << 20, "other")},
             p);
  for (const Record& rec : r.records) EXPECT_EQ(rec.verdict, Verdict::kPass) << rec.src.node << rec.dst.node;
  p.outlier_pct = 0;  // off
  r = judged({bw_record("a", "b", 380), bw_record("a", "c", 381), bw_record("b", "c", 100)}, p);
  EXPECT_EQ(r.records[2].verdict, Verdict::kPass);
}

TEST(Judge, CauseGpuNicClassSysForGpuMemory) {
  Record rec = bw_record("a", "b", 200);
  rec.src.mem = rec.dst.mem = "cuda";
  rec.src.gpu = 5;
  rec.src.device = "mlx5_3";
  rec.src.gpu_class = "SYS";
  auto r = judged({rec});
  EXPECT_EQ(r.records[0].verdict, Verdict::kFail);
  EXPECT_TRUE(contains(r.records[0].cause, "likely cause: a net1: GPU 5 to mlx5_3 is SYS (across CPU sockets)"))
      << r.records[0].cause;
  rec.src.mem = rec.dst.mem = "host";  // host memory does not cross to the GPU
  EXPECT_FALSE(contains(judged({rec}).records[0].cause, "SYS"));
}

TEST(Judge, CauseRoceMtuBelow4096) {
  Record rec = bw_record("a", "b", 200);
  rec.dst.active_mtu = 1024;
  auto r = judged({rec});
  EXPECT_TRUE(contains(r.records[0].cause, "likely cause: b net1: RoCE active MTU 1024 < 4096")) << r.records[0].cause;
  rec.dst.link_layer = "InfiniBand";  // IB's MTU is another matter
  EXPECT_FALSE(contains(judged({rec}).records[0].cause, "MTU"));
  rec.dst.link_layer = "Ethernet";
  Profile p;
  p.roce_min_mtu = 0;
  EXPECT_FALSE(contains(judged({rec}, p).records[0].cause, "MTU"));
  // A passing pair gets no causes: they explain problems, they are not problems.
  rec.bandwidth->avg_gbps = 390;
  EXPECT_EQ(judged({rec}).records[0].cause, "");
}

TEST(Judge, CauseLinkRateBelowTheRail) {
  Record slow = bw_record("a", "c", 185);
  slow.dst.rate_gbps = 200;
  auto r = judged({bw_record("a", "b", 380), bw_record("b", "d", 381), bw_record("a", "d", 379), slow});
  EXPECT_EQ(r.records[3].verdict, Verdict::kWarn);  // passes 0.9 x 200, but half the rail's median
  EXPECT_TRUE(contains(r.records[3].cause, "c net1: link rate 200 Gb/s, below the rail's 400 Gb/s"))
      << r.records[3].cause;
}

TEST(Judge, CauseOneNodeInEverySlowPair) {
  auto r = judged({bw_record("n1", "n2", 380), bw_record("n1", "n7", 100), bw_record("n2", "n7", 101),
                   bw_record("n7", "n3", 102), bw_record("n2", "n3", 381)});
  EXPECT_EQ(r.records[1].verdict, Verdict::kFail);
  EXPECT_TRUE(contains(r.records[1].cause, "likely cause: n7 is in all 3 slow pairs of rail r")) << r.records[1].cause;
  EXPECT_TRUE(contains(r.records[3].cause, "n7 is in all 3 slow pairs of rail r"));
  EXPECT_EQ(r.records[0].cause, "");

  // Slow pairs with no node in common: nobody is blamed.
  r = judged({bw_record("n1", "n2", 100), bw_record("n3", "n4", 100), bw_record("n1", "n3", 380)});
  EXPECT_FALSE(contains(r.records[0].cause, "is in all"));
  // One slow pair: both its nodes are in it; nothing to single out.
  r = judged({bw_record("n1", "n2", 100), bw_record("n3", "n4", 380)});
  EXPECT_FALSE(contains(r.records[0].cause, "is in all"));
}

TEST(Judge, TwoSlowPairsOfANodeWithCleanOnesDoNotNameIt) {
  // What a busy host's stalls look like in a 4-node rail: two of n1's three pairs slow by chance.
  // A faulty port would slow all three; n1 is not named (docs/faults.md).
  auto r = judged({bw_record("n1", "n2", 100), bw_record("n1", "n3", 101), bw_record("n1", "n4", 380),
                   bw_record("n2", "n3", 381), bw_record("n2", "n4", 379), bw_record("n3", "n4", 380)});
  EXPECT_EQ(r.records[0].verdict, Verdict::kFail);
  EXPECT_FALSE(contains(r.records[0].cause, "is in all")) << r.records[0].cause;
  // All three slow: named.
  r.records[2].bandwidth->avg_gbps = 99;
  judge(r, Profile{});
  EXPECT_TRUE(contains(r.records[0].cause, "n1 is in all 3 slow pairs of rail r")) << r.records[0].cause;
}

RecordCounters moved(std::vector<verbs::CounterDelta> src, std::vector<verbs::CounterDelta> dst = {}) {
  return {.src = std::move(src), .dst = std::move(dst), .note = {}};
}

TEST(Judge, AFaultCounterThatMovedWarnsAPassingRecordAndNamesTheEnd) {
  using M = verbs::CounterMeaning;
  Record lossy = bw_record("a", "b", 390);
  lossy.counters = moved({}, {{"rcvd_seq_err", 12, M::kRetransmission}, {"duplicate_request", 3, M::kRetransmission},
                              {"link_downed", 1, M::kLinkDown}});
  auto r = judged({lossy, bw_record("a", "c", 391)});
  EXPECT_EQ(r.records[0].verdict, Verdict::kWarn);
  EXPECT_EQ(r.records[0].cause,
            "port counters moved during the test: b net1: retransmission (rcvd_seq_err +12, duplicate_request +3), "
            "link_down (link_downed +1)");
  EXPECT_EQ(r.records[1].verdict, Verdict::kPass);

  // Below the profile's least delta (the lab's: TCG stalls retransmit now and then): not counted.
  Profile lab;
  lab.counter_min_delta = 13;
  auto tolerant = judged({lossy}, lab);
  // A link that went down counts from 1 whatever the floor: no stall takes a link down.
  EXPECT_EQ(tolerant.records[0].cause, "port counters moved during the test: b net1: link_down (link_downed +1)")
      << tolerant.records[0].cause;
  Record stalled = lossy;
  stalled.counters.dst->pop_back();  // retransmissions alone, under the floor
  EXPECT_EQ(judged({stalled}, lab).records[0].verdict, Verdict::kPass);

  // Off in the profile: the figures decide, and the counters are named only as a cause of a slow record.
  Profile quiet;
  quiet.counter_faults = false;
  EXPECT_EQ(judged({lossy}, quiet).records[0].verdict, Verdict::kPass);
  lossy.bandwidth->avg_gbps = 100;
  auto slow = judged({lossy}, quiet);
  EXPECT_EQ(slow.records[0].verdict, Verdict::kFail);
  EXPECT_TRUE(contains(slow.records[0].cause, "likely cause: b net1: retransmission (rcvd_seq_err +12"))
      << slow.records[0].cause;
}

TEST(Judge, TheHtmlPageListsEveryEndWhoseCountersMoved) {
  using M = verbs::CounterMeaning;
  Record lossy = bw_record("a", "b", 390);
  lossy.dst.device = "mlx5_7";
  lossy.counters = moved({}, {{"out_of_sequence", 40, M::kRetransmission}});
  const std::string html = render(judged({lossy, bw_record("a", "c", 391)}), "html");
  EXPECT_TRUE(contains(html, "<h2>Port counters that moved</h2>")) << html;
  EXPECT_TRUE(contains(html, "b net1 mlx5_7")) << html;
  EXPECT_TRUE(contains(html, "out_of_sequence +40 (retransmission)")) << html;
  // Nothing moved: no section.
  EXPECT_FALSE(contains(render(judged({bw_record("a", "c", 391)}), "html"), "Port counters that moved"));
}

TEST(Judge, CongestionCountersAreACauseOfASlowRecordNotAFault) {
  using M = verbs::CounterMeaning;
  Record busy = bw_record("a", "b", 390);
  busy.counters = moved({{"rp_cnp_handled", 800, M::kCongestion}}, {{"np_cnp_sent", 800, M::kCongestion}});
  EXPECT_EQ(judged({busy}).records[0].verdict, Verdict::kPass);  // DCQCN at work on a lossless fabric
  busy.bandwidth->avg_gbps = 200;
  auto r = judged({busy});
  EXPECT_EQ(r.records[0].verdict, Verdict::kFail);
  EXPECT_TRUE(contains(r.records[0].cause,
                       "likely cause: a net1: congestion (rp_cnp_handled +800); b net1: congestion (np_cnp_sent +800)"))
      << r.records[0].cause;
  // Counters that were read and did not move, or were not read at all, say nothing.
  busy.counters = moved({}, {});
  busy.bandwidth->avg_gbps = 390;
  EXPECT_EQ(judged({busy}).records[0].cause, "");
  busy.counters = RecordCounters{.src = std::nullopt, .dst = std::nullopt, .note = "peer: no counters"};
  EXPECT_EQ(judged({busy}).records[0].verdict, Verdict::kPass);
}

TEST(Judge, ANicLinkBelowThePortRateIsTheCauseOfASlowPair) {
  // interface_end() computes the budget from the rail map's PCIe facts: a ConnectX-7 at 400 Gb/s
  // whose Gen5 x16 slot trained at Gen4 x8 moves at most ~107 Gb/s.
  topology::RailPort port;
  port.interface = "net3";
  port.rdma_device = "mlx5_2";
  port.rate_gbps = 400;
  port.pcie_link = topology::PcieLinkFacts{};
  port.pcie_link->device = "0000:5a:00.0";
  port.pcie_link->narrowest = topology::pcie_link_state(16, 8);
  port.pcie_link->narrowest_at = "0000:5a:00.0";
  const PairEnd end = interface_end(port, "n3", "pod-3");
  ASSERT_TRUE(end.budget_gbps);
  EXPECT_LT(*end.budget_gbps, 120);
  EXPECT_TRUE(contains(end.budget_note, "mlx5_2 PCIe Gen4 x8: at most")) << end.budget_note;

  Record slow = bw_record("a", "n3", 100);
  slow.dst.interface = "net3";
  slow.dst.budget_gbps = end.budget_gbps;
  slow.dst.budget_note = end.budget_note;
  auto r = judged({slow, bw_record("a", "b", 380)});
  EXPECT_EQ(r.records[0].verdict, Verdict::kFail);  // the rail is held to its port rate, not to the bottleneck
  EXPECT_TRUE(contains(r.records[0].cause, "likely cause: n3 net3: " + end.budget_note)) << r.records[0].cause;
  // GPU memory across the sockets: the class cap joins the budget where the engine says which GPU.
  PairEnd gpu_end = end;
  verbs::EndpointInfo measured;
  measured.device = "mlx5_2";
  measured.memory.kind = "cuda";
  measured.memory.gpu = 3;
  measured.memory.gpu_distance = "SYS";
  add_measured(gpu_end, measured);
  EXPECT_EQ(gpu_end.budget_note, "mlx5_2 to GPU3 is SYS (across the CPU sockets): at most 80 Gb/s") << gpu_end.budget_note;
  EXPECT_DOUBLE_EQ(*gpu_end.budget_gbps, 80);
  // A healthy link (its budget is the port rate) is never named.
  Record fine = bw_record("a", "b", 100);
  fine.dst.budget_gbps = 400;
  fine.dst.budget_note = "mlx5_1 port rate: at most 400 Gb/s";
  EXPECT_FALSE(contains(judged({fine}).records[0].cause, "at most")) << judged({fine}).records[0].cause;
}

TEST(Judge, ErrorRecordsFailWithTheErrorAsCause) {
  Record err = lat_record("a", "b", "write_lat", 0);
  err.latency_us.reset();
  err.error = "no completion for 10 s";
  auto r = judged({err, lat_record("c", "d", "write_lat", 1.0)});
  EXPECT_EQ(r.records[0].verdict, Verdict::kFail);
  EXPECT_EQ(r.records[0].cause, "no completion for 10 s");
  // Every failing pair of a rail through one node: the error keeps its text, and the node is
  // named after it.
  Record err2 = err;
  err2.src.node = "c";
  r = judged({err, err2});
  EXPECT_EQ(r.records[0].cause, "no completion for 10 s; likely cause: b is in all 2 failing pairs of rail r");
}

TEST(Judge, RecordsWithoutFiguresFail) {
  Record rec = bw_record("a", "b", 0);
  rec.bandwidth.reset();
  auto r = judged({rec});
  EXPECT_EQ(r.records[0].verdict, Verdict::kFail);
  EXPECT_EQ(r.records[0].cause, "no bandwidth figures recorded");
}

TEST(Judge, WaivedStaysWaivedAndOtherVerdictsAreRedone) {
  Record waived = bw_record("a", "b", 0);
  waived.bandwidth.reset();
  waived.verdict = Verdict::kWaived;
  waived.cause = "no GPU";
  Record stale = bw_record("a", "c", 390);
  stale.verdict = Verdict::kFail;
  stale.cause = "from another profile";
  Results r = run_of({waived, stale});
  Profile p;
  p.name = "mine.json";
  judge(r, p);
  EXPECT_EQ(r.records[0].verdict, Verdict::kWaived);
  EXPECT_EQ(r.records[0].cause, "no GPU");
  EXPECT_EQ(r.records[1].verdict, Verdict::kPass);
  EXPECT_EQ(r.records[1].cause, "");
  EXPECT_EQ(r.meta.profile, "mine.json");
  EXPECT_FALSE(any_failed(r));
  r.records[1].bandwidth->avg_gbps = 100;
  judge(r, p);
  EXPECT_TRUE(any_failed(r));
}

TEST(Judge, FixtureVerdictsAndCauses) {
  const Results r = testing::judged_cluster();
  auto find = [&](std::string_view rail, std::string_view src, std::string_view dst, std::string_view test,
                  uint64_t size) -> const Record& {
    for (const Record& rec : r.records) {
      if (rec.rail == rail && rec.src.node == src && rec.dst.node == dst && rec.test.name() == test &&
          rec.size_bytes == size && rec.src.mem == "host") {
        return rec;
      }
    }
    ADD_FAILURE() << "no record " << rail << " " << src << " " << dst << " " << test << " " << size;
    static const Record none;
    return none;
  };
  // rail-1: gpu-a3's 200 Gb/s port: over the gate, under the median; it is in every slow pair.
  const Record& a3 = find("rail-1", "gpu-a1", "gpu-a3", "write_bw", 1 << 20);
  EXPECT_EQ(a3.verdict, Verdict::kWarn);
  EXPECT_TRUE(contains(a3.cause, "gpu-a3 net1: link rate 200 Gb/s, below the rail's 400 Gb/s")) << a3.cause;
  EXPECT_TRUE(contains(a3.cause, "gpu-a3 is in all 4 slow pairs of rail rail-1")) << a3.cause;
  EXPECT_EQ(find("rail-1", "gpu-a3", "gpu-a5", "write_lat", 2).verdict, Verdict::kFail);
  EXPECT_EQ(find("rail-1", "gpu-a1", "gpu-a2", "write_bw", 1 << 20).verdict, Verdict::kPass);
  // rail-2: gpu-a2's MTU 1024: its pairs fail the gate.
  const Record& a2 = find("rail-2", "gpu-a1", "gpu-a2", "write_bw", 1 << 20);
  EXPECT_EQ(a2.verdict, Verdict::kFail);
  EXPECT_TRUE(contains(a2.cause, "gpu-a2 net2: RoCE active MTU 1024 < 4096")) << a2.cause;
  EXPECT_TRUE(contains(a2.cause, "gpu-a2 is in all 3 failing pairs of rail rail-2")) << a2.cause;
  const Record& err = find("rail-2", "gpu-a2", "gpu-a4", "write_lat", 4096);
  EXPECT_EQ(err.verdict, Verdict::kFail);
  EXPECT_EQ(err.cause.substr(0, err.error.size()), err.error);
  EXPECT_EQ(find("rail-2", "gpu-a1", "gpu-a3", "write_bw", 1 << 20).verdict, Verdict::kPass);
  size_t waived = 0;
  for (const Record& rec : r.records) waived += rec.verdict == Verdict::kWaived ? 1 : 0;
  EXPECT_EQ(waived, 1u);
  EXPECT_TRUE(any_failed(r));
}

}  // namespace
}  // namespace railcheck::reports
