#pragma once
// Shared by the report tests: the fixed cluster run (fixtures/cluster.json), files as text,
// and a small builder for hand-made records.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "reports/judge.hpp"
#include "reports/outputs.hpp"
#include "reports/record_table.hpp"
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

// A test by name ("write_bw"); the test fails when there is no such test.
inline verbs::TestId test_id(std::string_view name) {
  auto id = verbs::parse_test_id(name);
  EXPECT_TRUE(id.has_value()) << name;
  return id.value_or(verbs::TestId{});
}

// Whether any record failed.
inline bool any_failed(const Results& r) {
  return std::ranges::any_of(r.records, [](const Record& rec) { return rec.verdict == Verdict::kFail; });
}

// A table of the records; the test fails when they do not fit one.
inline RecordTable table_of(const std::vector<Record>& records) {
  auto t = RecordTable::of(records);
  EXPECT_TRUE(t.has_value()) << t.error().message();
  return t ? std::move(*t) : RecordTable{};
}

// A format by name.
inline Format format(std::string_view name) {
  auto f = parse_format(name);
  EXPECT_TRUE(f.has_value()) << name;
  return f.value_or(all_formats().front());
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
  if (p) {
    EXPECT_TRUE(judge(r, *p).has_value());
  }
  return r;
}

// A record between two nodes of a 400 Gb/s RoCE rail with a 4096-byte MTU.
inline Record bw_record(std::string src, std::string dst, double gbps, uint64_t size = 1 << 20,
                        std::string rail = "r") {
  Record rec;
  rec.rail = std::move(rail);
  rec.test = test_id("write_bw");
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

inline Record lat_record(std::string src, std::string dst, std::string_view test, double p50_us, uint64_t size = 2,
                         std::string rail = "r") {
  Record rec = bw_record(std::move(src), std::move(dst), 0, size, std::move(rail));
  rec.test = test_id(test);
  rec.bandwidth.reset();
  rec.latency_us = LatencyUs{.count = 1000, .min = p50_us * 0.9, .p50 = p50_us, .p90 = p50_us * 1.1,
                             .p99 = p50_us * 1.5, .p99_9 = p50_us * 2, .max = p50_us * 3, .mean = p50_us, .stdev = 0.1};
  return rec;
}

}  // namespace railcheck::reports::testing
