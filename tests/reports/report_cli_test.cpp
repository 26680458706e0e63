// `railcheck report` as a user runs it: re-rendering and re-judging a saved run, the files it
// writes, its exit codes, and one-line errors that name the bad file or field.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "report_fixtures.hpp"
#include "reports/log_block.hpp"
#include "reports/outputs.hpp"
#include "support/process.hpp"

namespace railcheck::reports {
namespace {

using nlohmann::json;
using railcheck::testing::run_command;
using railcheck::testing::shell_quote;
using testing::kCluster;
using testing::read_text;

const std::string kBin = RAILCHECK_BIN;

class ReportCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "railcheck_report_cli_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) const {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string fixture_with(const std::function<void(json&)>& edit) const {
    json doc = json::parse(read_text(kCluster));
    edit(doc);
    return write("edited.json", doc.dump());
  }
  static railcheck::testing::ProcessResult report(const std::string& args) {
    return run_command(kBin + " report " + args);
  }

  std::string dir_;
};

TEST_F(ReportCli, TerminalIsTheGoldenReportAndExitsOneOnFailures) {
  auto r = report(shell_quote(kCluster));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, read_text(testing::kGolden + "/report.txt"));
  EXPECT_EQ(r.err, "");
}

TEST_F(ReportCli, WritesEveryFormatToItsFile) {
  auto r = report(shell_quote(kCluster) + " --format terminal,json,junit,html,prometheus -o " + shell_quote(dir_ + "/out"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  for (const char* f : {"report.txt", "results.json", "junit.xml", "report.html", "metrics.prom"}) {
    const std::string path = dir_ + "/out/" + f;
    EXPECT_TRUE(std::filesystem::exists(path)) << f;
    EXPECT_NE(r.err.find("wrote " + path), std::string::npos) << r.err;
    EXPECT_EQ(read_text(path), read_text(testing::kGolden + "/" + f)) << f;
  }
  // The JSON keeps its verdicts: rendering it again, unjudged, gives the same report.
  auto again = report(shell_quote(dir_ + "/out/results.json"));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.out, read_text(dir_ + "/out/report.txt"));
}

TEST_F(ReportCli, AnotherProfileRejudges) {
  // The lab profile has no rate gate: gpu-a2's slow rail-2 pairs pass; the error still fails.
  auto r = report(shell_quote(kCluster) + " --profile lab --format json");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["meta"]["profile"], "lab");
  size_t fails = 0;
  for (const json& rec : doc["records"]) {
    if (rec["verdict"] == "fail") {
      ++fails;
      EXPECT_NE(rec["error"], "") << rec.dump();
    }
  }
  EXPECT_EQ(fails, 1u);
  // Without the error, the same run passes under lab and exits 0.
  const std::string clean = fixture_with([](json& d) {
    for (json& rec : d["records"]) rec["error"] = "";
    for (json& rec : d["records"]) {
      if (rec["latency_us"].is_null() && rec["test"] == "write_lat") rec["latency_us"] = d["records"][0]["latency_us"];
    }
  });
  // Every pair passes now, but the run still fails: gpu-a6's agent never answered and gpu-a5
  // lacks rail-2. The exit code and the verdict line say the same, for the same reasons.
  r = report(shell_quote(clean) + " --profile lab");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("verdict: FAIL: 1 node(s) unreachable: gpu-a6; rail missing: rail-2 on gpu-a5"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("failing pairs"), std::string::npos) << r.out;
  // With every node reached and every rail everywhere, the same run passes under lab and exits 0.
  const std::string whole = fixture_with([](json& d) {
    for (json& rec : d["records"]) rec["error"] = "";
    for (json& rec : d["records"]) {
      if (rec["latency_us"].is_null() && rec["test"] == "write_lat") rec["latency_us"] = d["records"][0]["latency_us"];
    }
    for (json& n : d["nodes"]) n["reachable"] = true;
    for (json& rail : d["rails"]) rail["missing_nodes"] = json::array();
  });
  r = report(shell_quote(whole) + " --profile lab --format json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const json passed = json::parse(r.out);
  EXPECT_EQ(passed["outcome"]["verdict"], "warn");  // the lab's outliers are warnings, not failures
  EXPECT_EQ(passed["outcome"]["reasons"], json::array());
}

TEST_F(ReportCli, ProfileFromAFile) {
  const std::string profile = write("loose.json", R"({"bandwidth": {"rate_fraction": 0.3}, "latency": {"p50_max_us":
      {"write": 10}}})");
  auto r = report(shell_quote(kCluster) + " --profile " + shell_quote(profile) + " --format json");
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["meta"]["profile"], profile);
  EXPECT_EQ(r.exit_code, 1);  // the error record
}

TEST_F(ReportCli, SeveralFilesAreMergedAndJudgedTogether) {
  const json doc = json::parse(read_text(kCluster));
  json part1 = doc, part2 = doc;
  part1["records"] = json::array();
  part2["records"] = json::array();
  for (const json& rec : doc["records"]) (rec["rail"] == "rail-1" ? part1 : part2)["records"].push_back(rec);
  const std::string a = write("a.json", part1.dump()), b = write("b.json", part2.dump());
  auto merged = report(shell_quote(a) + " " + shell_quote(b));
  EXPECT_EQ(merged.exit_code, 1);
  EXPECT_EQ(merged.out, read_text(testing::kGolden + "/report.txt"));
}

TEST_F(ReportCli, BadInputIsExitTwoWithTheCause) {
  struct Case {
    std::string args;
    std::string expect;
  };
  const std::string bad_field = fixture_with([](json& d) { d["records"][4]["bandwidth"]["avg_gbps"] = "fast"; });
  const std::string bad_json = write("broken.json", "{\"schema_version\": ");
  const std::string bad_profile = write("p.json", R"({"outliers": {"pct": "many"}})");
  const Case cases[] = {
      {shell_quote(dir_ + "/missing.json"), "missing.json"},
      {shell_quote(bad_json), bad_json + " is not valid JSON"},
      {shell_quote(bad_field), "records[4].bandwidth.avg_gbps must be a number"},
      {shell_quote(kCluster) + " --format pdf", "unknown report format 'pdf'"},
      {shell_quote(kCluster) + " --format json,html", "several formats need -o DIR"},
      {shell_quote(kCluster) + " --profile " + shell_quote(bad_profile), "outliers.pct must be a number"},
      {shell_quote(kCluster) + " --profile nightly", "no profile named 'nightly'"},
      {"", "give results file(s), or --from-log LOG"},
      {shell_quote(kCluster) + " --from-log " + shell_quote(kCluster), "excludes"},
      {"--from-log " + shell_quote(kCluster), "no railcheck results block in the log"},
      {"--from-log " + shell_quote(dir_ + "/missing.log"), "--from-log: open " + dir_ + "/missing.log"},
  };
  for (const Case& c : cases) {
    auto r = report(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(r.out, "") << c.args;
  }
}

// The coordinator's --log-results block, in a log with other lines around it, is read back as
// its results.json: every format the same as from the file, from a file or from stdin.
TEST_F(ReportCli, FromLogRendersTheResultsBlockAsItsResultsJson) {
  const std::string golden_json = testing::kGolden + "/results.json";
  std::ifstream doc(golden_json, std::ios::binary);
  std::ostringstream block;
  ASSERT_TRUE(write_log_block(doc, kResultsSchema, block).has_value());
  const std::string log = write("job.log", "[info] rail rail-1: round 1/3\nverdict: FAIL\n" + block.str() +
                                               "report: /report/report.txt\n");
  auto r = report("--from-log " + shell_quote(log) +
                  " --format terminal,json,junit,html,prometheus -o " + shell_quote(dir_ + "/out"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("railcheck report: results (railcheck.results/v1.2) from lines 3-"), std::string::npos) << r.err;
  // The same files as from results.json itself (the golden files come from fixtures/cluster.json,
  // of schema v1: report.html names the schema of what it read).
  auto direct = report(shell_quote(golden_json) + " --format terminal,json,junit,html,prometheus -o " +
                       shell_quote(dir_ + "/direct"));
  EXPECT_EQ(direct.exit_code, 1) << direct.err;
  for (const char* f : {"report.txt", "results.json", "junit.xml", "report.html", "metrics.prom"}) {
    EXPECT_EQ(read_text(dir_ + "/out/" + f), read_text(dir_ + "/direct/" + f)) << f;
  }
  EXPECT_EQ(read_text(dir_ + "/out/junit.xml"), read_text(testing::kGolden + "/junit.xml"));
  auto piped = run_command("cat " + shell_quote(log) + " | " + kBin + " report --from-log - --format junit");
  EXPECT_EQ(piped.exit_code, 1) << piped.err;
  EXPECT_EQ(piped.out, read_text(testing::kGolden + "/junit.xml"));
  // A cut log is exit 2, naming what is wrong.
  const std::string cut = write("cut.log", block.str().substr(0, block.str().size() / 2));
  r = report("--from-log " + shell_quote(cut) + " --format junit");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--from-log " + cut + ": the results block that starts at line 1 has no END line"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(ReportCli, UnwritableOutputFolderIsExitTwo) {
  const std::string file = write("a-file", "x");
  auto r = report(shell_quote(kCluster) + " --format json -o " + shell_quote(file + "/sub"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("create report folder " + file + "/sub"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace railcheck::reports
