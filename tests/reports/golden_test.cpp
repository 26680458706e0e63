// Every reporter against its expected file, over the fixed cluster run judged with the default
// profile. When an output changes on purpose, regenerate and review the diff before committing:
//     RAILCHECK_UPDATE_GOLDEN=1 build/dev/bin/reports_test --gtest_filter='*Golden.*'
// (the fixture itself: python3 tests/reports/fixtures/make_cluster.py).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "report_fixtures.hpp"
#include "reports/outputs.hpp"

namespace railcheck::reports {

namespace {

using testing::judged_cluster;
using testing::kGolden;
using testing::read_text;

bool updating() {
  const char* update = std::getenv("RAILCHECK_UPDATE_GOLDEN");
  return update != nullptr && std::string_view(update) == "1";
}

// The parameter is the format's name, so test listings say "GetParam() = html".
class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, MatchesTheExpectedFile) {
  const Format f = testing::format(GetParam());
  const std::string path = kGolden + "/" + std::string(file_name(f));
  const std::string text = render(judged_cluster(), f);
  if (updating()) {
    std::ofstream(path, std::ios::binary) << text;
    GTEST_SKIP() << "rewrote " << path << ": review the diff";
  }
  EXPECT_EQ(text, read_text(path)) << "regenerate on purpose only: see the comment at the top of this file";
}

INSTANTIATE_TEST_SUITE_P(EveryFormat, Golden,
                         ::testing::Values("terminal", "json", "junit", "html", "prometheus", "csv"),
                         [](const auto& param_info) { return param_info.param; });

// Display columns of a UTF-8 line (code points; the report uses no wide characters).
size_t columns(const std::string& line) {
  size_t n = 0;
  for (unsigned char c : line) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

TEST(Terminal, FitsOneHundredColumns) {
  Results r = judged_cluster();
  r.records[0].src.node = std::string(120, 'x');  // names longer than a line are shortened
  r.records[0].verdict = Verdict::kFail;
  r.records[0].cause = std::string(300, 'y') + " and a long, long explanation that must be wrapped";
  std::istringstream lines(render(r, "terminal"));
  for (std::string line; std::getline(lines, line);) EXPECT_LE(columns(line), 100u) << line;
}

TEST(Terminal, SummarisesEachRailThenTheFailures) {
  const std::string text = render(judged_cluster(), "terminal");
  EXPECT_NE(text.find("rail rail-1 (by network): 5 node(s), 10 pair(s): 6 pass, 3 warn, 1 fail, 0 waived"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("without this rail: gpu-a5"), std::string::npos);
  EXPECT_NE(text.find("\nfailures ("), std::string::npos);
  EXPECT_LT(text.find("rail rail-2"), text.find("\nfailures ("));
  EXPECT_NE(text.find("gpu-a6: unreachable: GET /v1/inventory: connection refused"), std::string::npos);
  EXPECT_NE(text.find("verdict: FAIL: failing pairs on 2 rail(s): rail-1, rail-2"), std::string::npos);
}

TEST(Json, IsTheResultsDocumentWithVerdicts) {
  const Results judged = judged_cluster();
  auto back = results_from_json(nlohmann::json::parse(render(judged, "json")));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  ASSERT_EQ(back->records.size(), judged.records.size());
  for (size_t i = 0; i < judged.records.size(); ++i) {
    EXPECT_EQ(back->records[i].verdict, judged.records[i].verdict) << i;
    EXPECT_EQ(back->records[i].cause, judged.records[i].cause) << i;
  }
  EXPECT_EQ(back->meta.profile, "default");
}

TEST(Json, BrokenUtf8BecomesReplacementCharacters) {
  Results r = judged_cluster();
  r.records[0].cause = "bad \xff byte";
  const std::string text = render(r, "json");
  EXPECT_NE(text.find("bad \xEF\xBF\xBD byte"), std::string::npos);
}

TEST(Junit, CountsMatchTheVerdicts) {
  const Results r = judged_cluster();
  size_t fail = 0, errors = 0, waived = 0;
  for (const Record& rec : r.records) {
    if (rec.verdict == Verdict::kFail) (rec.error.empty() ? fail : errors)++;
    if (rec.verdict == Verdict::kWaived) ++waived;
  }
  const std::string xml = render(r, "junit");
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t at = xml.find(what); at != std::string::npos; at = xml.find(what, at + 1)) ++n;
    return n;
  };
  // + the run's outcome: an unreachable node and a missing rail fail the run beyond its records
  EXPECT_EQ(count("<failure "), fail + 1);
  EXPECT_EQ(count("<error "), errors);
  EXPECT_EQ(count("<skipped "), waived + 1);  // + the unreachable node
  EXPECT_EQ(count("<testcase "), r.records.size() + 2);
  EXPECT_EQ(count("<testsuite "), 4u);        // rail-1, rail-2, nodes, run
  EXPECT_NE(xml.find(fmt::format("<testsuites name=\"railcheck\" tests=\"{}\" failures=\"{}\" errors=\"{}\"",
                                 r.records.size() + 2, fail + 1, errors)),
            std::string::npos);
  EXPECT_NE(xml.find("<testcase name=\"outcome\" classname=\"railcheck.run\""), std::string::npos);
  // The error text's markup arrives escaped, never raw.
  EXPECT_NE(xml.find("RETRY_EXC_ERR &lt;12&gt;) &amp; peer &quot;gpu-a4&quot; gone"), std::string::npos);
  EXPECT_EQ(xml.find("<12>"), std::string::npos);
}

TEST(Html, SelfContainedAndEscaped) {
  Results r = judged_cluster();
  r.nodes[0].node = "<script>alert(1)</script>";
  const std::string html = render(r, "html");
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  // Nothing is fetched: no src, no external href, no url(); the only URI is SVG's namespace.
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  const std::regex href("href=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), href); it != std::sregex_iterator(); ++it) {
    EXPECT_EQ((*it)[1].str().front(), '#') << (*it)[0];
  }
  const std::regex uri("(https?:)?//[A-Za-z0-9.-]+");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), uri); it != std::sregex_iterator(); ++it) {
    EXPECT_EQ((*it)[0].str(), "http://www.w3.org") << "unexpected address in the page";
  }
  EXPECT_NE(html.find("Content-Security-Policy\" content=\"default-src 'none'"), std::string::npos);
}

TEST(Html, OneBandwidthAndOneLatencyHeatmapPerRail) {
  const std::string html = render(judged_cluster(), "html");
  for (const char* rail : {"rail-1", "rail-2"}) {
    for (const char* metric : {"bandwidth", "latency_p99"}) {
      const std::string tag = fmt::format("data-rail=\"{}\" data-metric=\"{}\"", rail, metric);
      const size_t first = html.find(tag);
      EXPECT_NE(first, std::string::npos) << tag;
      EXPECT_EQ(html.find(tag, first + 1), std::string::npos) << tag;
    }
  }
  // rail-1 has 5 nodes: 25 cells; rail-2 has 4: 16; two maps each.
  size_t cells = 0;
  for (size_t at = html.find("<g class=\"cell"); at != std::string::npos; at = html.find("<g class=\"cell", at + 1)) {
    ++cells;
  }
  EXPECT_EQ(cells, 2u * (25 + 16));
}

}  // namespace
}  // namespace railcheck::reports
