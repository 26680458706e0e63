// A single `railcheck lat|bw` run as a results document (one record per size), and several
// documents merged into one.
#include <gtest/gtest.h>

#include <tuple>

#include "report_fixtures.hpp"
#include "reports/judge.hpp"
#include "reports/outputs.hpp"
#include "reports/single_results.hpp"

namespace railcheck::reports {
namespace {

using testing::any_failed;

verbs::RunRecord latency_run() {
  verbs::RunRecord run;
  run.spec.kind = verbs::TestKind::kLatency;
  run.spec.op = verbs::Op::kRead;
  run.spec.sizes_bytes = {2, 4096};
  run.peer = "10.233.0.11:18515";  // the OOB connection's peer, port included
  for (auto [end, dev, gid] : {std::tuple{&run.local, "rxe_p0n1", "::ffff:172.16.1.10"},
                                {&run.remote, "rxe_p1n1", "::ffff:172.16.1.11"}}) {
    end->device = dev;
    end->link_layer = "Ethernet";
    end->gid = gid;
    end->mtu_bytes = 1024;
  }
  run.path_mtu_bytes = 1024;
  run.clock = "CLOCK_MONOTONIC_RAW";
  for (uint64_t size : run.spec.sizes_bytes) {
    verbs::SizeOutcome s;
    s.msg_bytes = size;
    s.iters = 1000;
    s.elapsed_s = 0.5;
    s.latency = verbs::LatencySummary{.count = 1000, .min_ns = 30000, .p50_ns = 45000, .p90_ns = 50000,
                                      .p99_ns = 90000, .p999_ns = 120000, .max_ns = 200000, .mean_ns = 47000,
                                      .stdev_ns = 5000};
    run.sizes.push_back(std::move(s));
  }
  return run;
}

SingleRunContext context(std::string node, std::string interface, std::string started, std::string finished) {
  SingleRunContext c;
  c.node = std::move(node);
  c.interface = std::move(interface);
  c.started = std::move(started);
  c.finished = std::move(finished);
  return c;
}

TEST(SingleResults, OneRecordPerSizeInMicroseconds) {
  const Results r = results_from_run(latency_run(), context("lab", "net1", "t0", ""));
  EXPECT_EQ(r.meta.mode, "single");
  EXPECT_EQ(r.meta.tests, std::vector<std::string>{"read_lat"});
  EXPECT_EQ(r.meta.started, "t0");
  EXPECT_FALSE(r.meta.finished.empty());
  EXPECT_EQ(r.meta.clock, "CLOCK_MONOTONIC_RAW");
  EXPECT_EQ(r.meta.connection, "oob");
  EXPECT_EQ(r.meta.spec.at("sizes"), nlohmann::json::array({2, 4096}));
  ASSERT_EQ(r.records.size(), 2u);
  const Record& rec = r.records[1];
  EXPECT_EQ(rec.rail, "net1");
  EXPECT_EQ(rec.test.name(), "read_lat");
  EXPECT_EQ(rec.size_bytes, 4096u);
  EXPECT_EQ(rec.src.node, "lab");
  EXPECT_EQ(rec.src.interface, "net1");
  EXPECT_EQ(rec.src.device, "rxe_p0n1");
  EXPECT_EQ(rec.src.ip, "172.16.1.10");
  EXPECT_EQ(rec.src.gid, "::ffff:172.16.1.10");
  EXPECT_EQ(rec.src.active_mtu, 1024u);
  EXPECT_EQ(rec.dst.node, "10.233.0.11");
  EXPECT_EQ(rec.dst.device, "rxe_p1n1");
  ASSERT_TRUE(rec.latency_us.has_value());
  EXPECT_DOUBLE_EQ(rec.latency_us->p50, 45.0);
  EXPECT_DOUBLE_EQ(rec.latency_us->p99_9, 120.0);
  EXPECT_EQ(rec.latency_us->count, 1000u);
  EXPECT_EQ(rec.verdict, Verdict::kNone);  // judged later, by `railcheck report`
  // The same shape the coordinator writes: it reads back and judges like any other run.
  auto back = results_from_json(to_json(r));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  Results judged = *back;
  judge(judged, *load_profile("lab"));
  EXPECT_FALSE(any_failed(judged));
  judge(judged, *load_profile("default"));  // 45 us read latency is no real NIC's
  EXPECT_TRUE(any_failed(judged));
}

TEST(SingleResults, WithoutAnInterfaceTheRailIsTheDevice) {
  verbs::RunRecord run = latency_run();
  run.spec.kind = verbs::TestKind::kBandwidth;
  run.spec.op = verbs::Op::kWrite;
  run.spec.bidir = true;
  run.spec.qps = 4;
  run.sizes[0].latency.reset();
  run.sizes[0].bandwidth = verbs::BandwidthFigures{
      .messages = 10, .elapsed_s = 1, .avg_gbps = 2.5, .peak_gbps = 3, .msg_rate_mpps = 0.1};
  run.sizes[1].latency.reset();  // no figures on this side: recorded as an error, not dropped
  const Results r = results_from_run(run, context("lab", "", "", ""));
  EXPECT_EQ(r.records[0].rail, "rxe_p0n1");
  EXPECT_EQ(r.records[0].test.name(), "write_bw");
  EXPECT_TRUE(r.records[0].bidir);
  EXPECT_EQ(r.records[0].qps, 4u);
  EXPECT_DOUBLE_EQ(r.records[0].bandwidth->avg_gbps, 2.5);
  EXPECT_FALSE(r.records[1].error.empty());
}

TEST(SingleResults, MergeUnitesRailsNodesAndRecords) {
  Results a = results_from_run(latency_run(), context("lab", "net1", "2026-01-01T00:00:05Z", "2026-01-01T00:00:09Z"));
  Results b = results_from_run(latency_run(), context("lab", "net2", "2026-01-01T00:00:01Z", "2026-01-01T00:00:03Z"));
  Results c = results_from_run(latency_run(), context("lab", "net1", "2026-01-01T00:00:10Z", "2026-01-01T00:00:12Z"));
  c.meta.tests = {"write_lat"};
  const Results m = merge_results({a, b, c});
  EXPECT_EQ(m.records.size(), 6u);
  ASSERT_EQ(m.rails.size(), 2u);
  EXPECT_EQ(m.rails[0].name, "net1");
  EXPECT_EQ(m.rails[0].members.size(), 2u);
  EXPECT_EQ(m.nodes.size(), 2u);
  EXPECT_EQ(m.meta.started, "2026-01-01T00:00:01Z");
  EXPECT_EQ(m.meta.finished, "2026-01-01T00:00:12Z");
  EXPECT_EQ(m.meta.tests, (std::vector<std::string>{"read_lat", "write_lat"}));
  EXPECT_EQ(m.notes.size(), 1u);  // the same path-MTU note once
}

}  // namespace
}  // namespace railcheck::reports
