// The results document: every field survives a JSON round trip; a bad document is refused
// with the JSON path of the bad field.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <fstream>

#include "report_fixtures.hpp"

namespace railcheck::reports {
namespace {

using nlohmann::json;
using testing::cluster;
using testing::kCluster;
using testing::read_text;

TEST(Results, FixtureRoundTripsExactly) {
  const json doc = json::parse(read_text(kCluster));
  auto r = results_from_json(doc);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  json want = doc;  // a v1 document reads whole; it is written back as this writer's version
  want["schema_version"] = kResultsSchema;
  EXPECT_EQ(to_json(*r), want);
}

TEST(Results, EveryFieldRoundTrips) {
  Results r;
  r.meta = RunMeta{.started = "2026-01-01T00:00:00Z", .finished = "2026-01-01T00:01:00Z",
                   .railcheck_version = "9.9", .git_commit = "abc", .mode = "single", .pattern = "ring",
                   .cross_rail = true, .tests = {"read_lat"}, .spec = json{{"iters", 7}}, .connection = "rdma_cm",
                   .clock = "tsc", .profile = "lab"};
  r.nodes.push_back(NodeInfo{.node = "n1", .pod = "p1", .agent = "1.2.3.4:7400", .reachable = false, .error = "down",
                             .rail_map = json{{"ports", json::array()}}, .checks = json{{"ok", true}}});
  r.rails.push_back(RailInfo{.name = "r", .grouped_by = "subnet", .members = {{"n1", "net1", "10.0.0.1"}},
                             .missing_nodes = {"n2"}});
  Record rec = testing::lat_record("n1", "n2", "read_lat", 3.5);
  rec.src.gid = "::ffff:10.0.0.1";
  rec.src.mem = "cuda";
  rec.src.gpu = 3;
  rec.src.gpu_class = "SYS";
  rec.src.gpu_pci_address = "0000:18:00.0";
  rec.dst.pci_address = "0000:17:00.1";
  rec.bandwidth = Bandwidth{.messages = 1, .avg_gbps = 2, .peak_gbps = 3, .msg_rate_mpps = 4};
  rec.bidir = true;
  rec.qps = 4;
  rec.iters = 99;
  rec.elapsed_s = 1.5;
  rec.error = "e";
  rec.attempts = 3;
  rec.round = 2;
  rec.remeasured = 2;
  rec.counters = RecordCounters{.src = std::vector<verbs::CounterDelta>{{"rcvd_seq_err", 4, verbs::CounterMeaning::kRetransmission},
                                                                      {"vendor_x", 1, verbs::CounterMeaning::kUnknown}},
                                .dst = std::nullopt,
                                .note = "peer: no counters"};
  rec.verdict = Verdict::kWarn;
  rec.cause = "c";
  r.records.push_back(rec);
  r.notes = {"a note"};
  const json doc = to_json(r);
  auto back = results_from_json(doc);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(to_json(*back), doc);
  EXPECT_EQ(back->records[0].src.gid, "::ffff:10.0.0.1");
  EXPECT_EQ(back->meta.connection, "rdma_cm");
  EXPECT_EQ(back->meta.clock, "tsc");
  EXPECT_EQ(back->records[0].verdict, Verdict::kWarn);
  EXPECT_EQ(back->records[0].remeasured, 2u);
  EXPECT_EQ(back->records[0].counters, rec.counters);  // meanings come back from the table
  EXPECT_EQ(doc["records"][0]["counters"]["dst"], nullptr);
  // A record without counters or confirmations writes neither field (documents stay as they were).
  EXPECT_FALSE(to_json(testing::bw_record("a", "b", 1)).contains("counters"));
  EXPECT_FALSE(to_json(testing::bw_record("a", "b", 1)).contains("remeasured"));
}

TEST(Results, BadFieldsNameTheirPath) {
  const json good = json::parse(read_text(kCluster));
  struct Case {
    const char* what;
    std::function<void(json&)> edit;
    std::string path;
  };
  const Case cases[] = {
      {"size as text", [](json& d) { d["records"][3]["size_bytes"] = "big"; }, "records[3].size_bytes"},
      {"no src node", [](json& d) { d["records"][0]["src"].erase("node"); }, "records[0].src.node"},
      {"latency p50 missing", [](json& d) { d["records"][0]["latency_us"].erase("p50"); }, "records[0].latency_us.p50"},
      {"bad verdict", [](json& d) { d["records"][1]["verdict"] = "maybe"; }, "records[1].verdict"},
      {"rails not a list", [](json& d) { d["rails"] = 5; }, "rails"},
      {"member without interface", [](json& d) { d["rails"][1]["members"][0].erase("interface"); },
       "rails[1].members[0].interface"},
      {"node reachable as text", [](json& d) { d["nodes"][2]["reachable"] = "yes"; }, "nodes[2].reachable"},
      {"size as true", [](json& d) { d["records"][2]["size_bytes"] = true; }, "records[2].size_bytes"},
      {"avg_gbps as true", [](json& d) { d["records"][2]["bandwidth"]["avg_gbps"] = true; },
       "records[2].bandwidth.avg_gbps"},
      {"mtu beyond 32 bits", [](json& d) { d["records"][0]["dst"]["active_mtu"] = 1ull << 40; },
       "records[0].dst.active_mtu"},
      {"negative attempts", [](json& d) { d["records"][0]["attempts"] = -1; }, "records[0].attempts"},
      {"counter as text", [](json& d) { d["records"][0]["counters"] = {{"src", {{"symbol_error", "x"}}}}; },
       "records[0].counters.src.symbol_error"},
      {"counters not an object", [](json& d) { d["records"][0]["counters"] = {{"dst", 3}}; }, "records[0].counters.dst"},
  };
  for (const Case& c : cases) {
    json doc = good;
    c.edit(doc);
    auto r = results_from_json(doc);
    ASSERT_FALSE(r.has_value()) << c.what;
    EXPECT_NE(r.error().what.find(c.path), std::string::npos) << c.what << ": " << r.error().what;
  }
}

TEST(Results, OtherMajorSchemaIsRefused) {
  json doc = json::parse(read_text(kCluster));
  doc["schema_version"] = "railcheck.results/v2";
  auto r = results_from_json(doc);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().what.find("railcheck.results/v2"), std::string::npos);
  doc["schema_version"] = "railcheck.results/v12";
  EXPECT_FALSE(results_from_json(doc).has_value());
  doc["schema_version"] = "railcheck.results/v1.3";  // a later minor version: read
  EXPECT_TRUE(results_from_json(doc).has_value());
  doc["schema_version"] = "railcheck.results/v1";  // the major itself, as 0.1 wrote it
  EXPECT_TRUE(results_from_json(doc).has_value());
}

TEST(Results, LoadNamesTheFileWhenMissingOrMalformed) {
  auto missing = load_results("/nonexistent/results.json");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find("/nonexistent/results.json"), std::string::npos);

  const std::string path = ::testing::TempDir() + "railcheck_bad_" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << "{\"schema_version\": \"railcheck.results/v1\", \"records\": [";
  auto bad = load_results(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("not valid JSON"), std::string::npos) << bad.error().message();
  EXPECT_NE(bad.error().message().find(path), std::string::npos);
}

}  // namespace
}  // namespace railcheck::reports
