#pragma once
// Shared by the report tests: the fixed cluster run (fixtures/cluster.json), files as text,
// and a small builder for hand-made records.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "reports/judge.hpp"
#include "reports/results.hpp"

namespace railcheck::reports::testing {

inline const std::string kFixtures = RAILCHECK_REPORT_FIXTURES;
inline const std::string kGolden = RAILCHECK_REPORT_GOLDEN;
inline const std::string kCluster = kFixtures + "/cluster.json";

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The fixture, unjudged as the coordinator hands it over.
inline Results cluster() {
  auto r = load_results(kCluster);
  EXPECT_TRUE(r.has_value()) << r.error().message();
  return r ? *r : Results{};
}

// The fixture judged with the default profile, as every golden file shows it.
inline Results judged_cluster() {
  Results r = cluster();
  auto p = load_profile("default");
  EXPECT_TRUE(p.has_value());
  if (p) judge(r, *p);
  return r;
}

// A record between two nodes of a 400 Gb/s RoCE rail with a 4096-byte MTU.
inline Record bw_record(std::string src, std::string dst, double gbps, uint64_t size = 1 << 20,
                        std::string rail = "r") {
  Record rec;
  rec.rail = std::move(rail);
  rec.test = "write_bw";
  rec.size_bytes = size;
  for (PairEnd* e : {&rec.src, &rec.dst}) {
    e->interface = "net1";
    e->link_layer = "Ethernet";
    e->active_mtu = 4096;
    e->rate_gbps = 400;
  }
  rec.src.node = std::move(src);
  rec.dst.node = std::move(dst);
  rec.bandwidth = Bandwidth{.messages = 1000, .avg_gbps = gbps, .peak_gbps = gbps, .msg_rate_mpps = 0};
  return rec;
}

inline Record lat_record(std::string src, std::string dst, std::string test, double p50_us, uint64_t size = 2,
                         std::string rail = "r") {
  Record rec = bw_record(std::move(src), std::move(dst), 0, size, std::move(rail));
  rec.test = std::move(test);
  rec.bandwidth.reset();
  rec.latency_us = LatencyUs{.count = 1000, .min = p50_us * 0.9, .p50 = p50_us, .p90 = p50_us * 1.1,
                             .p99 = p50_us * 1.5, .p99_9 = p50_us * 2, .max = p50_us * 3, .mean = p50_us, .stdev = 0.1};
  return rec;
}

}  // namespace railcheck::reports::testing
