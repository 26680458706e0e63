// The Prometheus text is checked by a strict reader of the exposition format (0.0.4): the
// agent serves it after its own families, and node-exporter's textfile collector refuses the
// whole file over one bad line. (promtool, when installed, checks it too: promtool_test.sh.)
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <charconv>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "report_fixtures.hpp"
#include "reports/analysis.hpp"
#include "reports/outputs.hpp"

namespace railcheck::reports {
namespace {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> help, type;
  std::vector<Sample> samples;
  std::vector<std::string> errors;
};

// Reads `{a="x",b="y\"z"}` from text at i; false on any deviation from the format.
bool read_labels(const std::string& line, size_t& i, std::map<std::string, std::string>& out, std::string& err) {
  static const std::regex name_re("[a-zA-Z_][a-zA-Z0-9_]*");
  ++i;  // '{'
  while (i < line.size() && line[i] != '}') {
    const size_t eq = line.find('=', i);
    if (eq == std::string::npos) return err = "label without '='", false;
    const std::string name = line.substr(i, eq - i);
    if (!std::regex_match(name, name_re) || name.starts_with("__")) return err = "bad label name " + name, false;
    if (eq + 1 >= line.size() || line[eq + 1] != '"') return err = "label value not quoted", false;
    std::string value;
    size_t k = eq + 2;
    for (; k < line.size() && line[k] != '"'; ++k) {
      if (line[k] == '\\') {
        if (++k >= line.size()) return err = "dangling backslash", false;
        if (line[k] == 'n') value += '\n';
        else if (line[k] == '\\' || line[k] == '"') value += line[k];
        else return err = "bad escape \\" + std::string(1, line[k]), false;
      } else {
        value += line[k];
      }
    }
    if (k >= line.size()) return err = "unterminated label value", false;
    if (!out.emplace(name, value).second) return err = "repeated label " + name, false;
    i = k + 1;
    if (i < line.size() && line[i] == ',') ++i;
  }
  if (i >= line.size()) return err = "unterminated label set", false;
  ++i;  // '}'
  return true;
}

Exposition parse(const std::string& text) {
  Exposition e;
  static const std::regex metric_re("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::set<std::string> types{"counter", "gauge", "summary", "histogram", "untyped"};
  std::istringstream lines(text);
  std::string current;  // the family whose samples we are in
  std::set<std::string> finished, series;
  auto family_of = [&](const std::string& name) {
    for (const char* suffix : {"_sum", "_count", "_bucket"}) {
      const std::string base = name.substr(0, name.size() - std::string_view(suffix).size());
      if (name.ends_with(suffix) && (e.type[base] == "summary" || e.type[base] == "histogram")) return base;
    }
    return name;
  };
  int n = 0;
  for (std::string line; std::getline(lines, line);) {
    const std::string at = fmt::format("line {}: ", ++n);
    if (line.empty()) continue;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      std::istringstream words(line.substr(7));
      std::string name, rest;
      words >> name;
      std::getline(words >> std::ws, rest);
      auto& map = line[2] == 'H' ? e.help : e.type;
      if (!std::regex_match(name, metric_re)) e.errors.push_back(at + "bad metric name " + name);
      if (map.contains(name)) e.errors.push_back(at + "second " + line.substr(2, 4) + " for " + name);
      if (finished.contains(name)) e.errors.push_back(at + name + " continues after another family");
      if (line[2] == 'T' && !types.contains(rest)) e.errors.push_back(at + "unknown type " + rest);
      if (!current.empty() && current != name) finished.insert(current);
      current = name;
      map[name] = rest;
      continue;
    }
    if (line.starts_with("#")) continue;
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    std::string err;
    if (i < line.size() && line[i] == '{' && !read_labels(line, i, s.labels, err)) {
      e.errors.push_back(at + err + ": " + line);
      continue;
    }
    if (i >= line.size() || line[i] != ' ') {
      e.errors.push_back(at + "no value: " + line);
      continue;
    }
    const std::string value = line.substr(i + 1);
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), s.value);
    if (ec != std::errc() || end != value.data() + value.size()) e.errors.push_back(at + "bad value " + value);
    const std::string family = family_of(s.name);
    if (!e.help.contains(family) || !e.type.contains(family)) e.errors.push_back(at + "no HELP/TYPE before " + s.name);
    if (family != current) e.errors.push_back(at + s.name + " is not in its family's block");
    if (e.type[family] != "summary" && s.labels.contains("quantile")) e.errors.push_back(at + "quantile on non-summary");
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "|" + k + "=" + v;
    if (!series.insert(key).second) e.errors.push_back(at + "duplicate series " + line);
    e.samples.push_back(std::move(s));
  }
  return e;
}

TEST(Prometheus, FixtureIsValidExposition) {
  const Results r = testing::judged_cluster();
  const Exposition e = parse(render(r, "prometheus"));
  EXPECT_TRUE(e.errors.empty()) << fmt::format("{}", fmt::join(e.errors, "\n"));
  for (const auto& [name, type] : e.type) {
    EXPECT_TRUE(name.starts_with("railcheck_")) << name;  // apart from the agent's own families
    EXPECT_TRUE(e.help.contains(name)) << name;
  }
  EXPECT_EQ(e.type.at("railcheck_bandwidth_gbps"), "gauge");
  EXPECT_EQ(e.type.at("railcheck_latency_seconds"), "summary");
}

TEST(Prometheus, FiguresAndVerdictsPerPair) {
  const Results r = testing::judged_cluster();
  const Exposition e = parse(render(r, "prometheus"));
  auto find = [&](const std::string& name, std::map<std::string, std::string> labels) -> const Sample* {
    for (const Sample& s : e.samples) {
      if (s.name == name && s.labels == labels) return &s;
    }
    return nullptr;
  };
  // Bandwidth: the 1 MiB figure (the largest size) of each pair.
  for (const Record& rec : r.records) {
    if (rec.test.name() != "write_bw" || rec.size_bytes != (1 << 20) || !rec.bandwidth) continue;
    const Sample* s = find("railcheck_bandwidth_gbps",
                           {{"rail", rec.rail}, {"src", rec.src.node}, {"dst", rec.dst.node}, {"test", "write_bw"}});
    ASSERT_NE(s, nullptr) << rec.rail << " " << pair_name(rec);
    EXPECT_DOUBLE_EQ(s->value, rec.bandwidth->avg_gbps);
  }
  // Latency: quantiles of the 2-byte test in seconds, with _sum and _count.
  const Record& lat = r.records.front();
  ASSERT_EQ(lat.test.name(), "write_lat");
  std::map<std::string, std::string> labels{
      {"rail", lat.rail}, {"src", lat.src.node}, {"dst", lat.dst.node}, {"test", "write_lat"}};
  auto q = labels;
  q["quantile"] = "0.99";
  ASSERT_NE(find("railcheck_latency_seconds", q), nullptr);
  EXPECT_NEAR(find("railcheck_latency_seconds", q)->value, lat.latency_us->p99 * 1e-6, 1e-15);
  ASSERT_NE(find("railcheck_latency_seconds_count", labels), nullptr);
  EXPECT_EQ(find("railcheck_latency_seconds_count", labels)->value, static_cast<double>(lat.latency_us->count));
  // Verdicts: one state set per pair and test; the waived GPU test is "waived".
  auto v = [&](const std::string& src, const std::string& dst, const std::string& rail, const std::string& test,
               const std::string& state) {
    const Sample* s = find("railcheck_verdict",
                           {{"rail", rail}, {"src", src}, {"dst", dst}, {"test", test}, {"verdict", state}});
    return s ? s->value : -1;
  };
  EXPECT_EQ(v("gpu-a1", "gpu-a2", "rail-2", "write_bw", "fail"), 1);
  EXPECT_EQ(v("gpu-a1", "gpu-a2", "rail-2", "write_bw", "pass"), 0);
  EXPECT_EQ(v("gpu-a1", "gpu-a3", "rail-1", "write_bw", "warn"), 1);
  EXPECT_EQ(v("gpu-a1", "gpu-a2", "rail-1", "write_bw_cuda", "waived"), 1);
  ASSERT_NE(find("railcheck_node_reachable", {{"node", "gpu-a6"}}), nullptr);
  EXPECT_EQ(find("railcheck_node_reachable", {{"node", "gpu-a6"}})->value, 0);
  ASSERT_NE(find("railcheck_run_failed", {}), nullptr);
  EXPECT_EQ(find("railcheck_run_failed", {})->value, 1);
  ASSERT_NE(find("railcheck_rail_pairs", {{"rail", "rail-2"}, {"verdict", "fail"}}), nullptr);
  EXPECT_EQ(find("railcheck_rail_pairs", {{"rail", "rail-2"}, {"verdict", "fail"}})->value, 3);
  EXPECT_EQ(find("railcheck_run_finished_timestamp_seconds", {})->value, 1795169052);  // 2026-11-20T10:04:12Z
}

TEST(Prometheus, LabelValuesAreEscaped) {
  Results r = testing::judged_cluster();
  for (Record& rec : r.records) rec.src.node = "node \"7\"\\a\nb";
  const Exposition e = parse(render(r, "prometheus"));
  EXPECT_TRUE(e.errors.empty()) << fmt::format("{}", fmt::join(e.errors, "\n"));
  bool seen = false;
  for (const Sample& s : e.samples) seen = seen || (s.labels.contains("src") && s.labels.at("src") == "node \"7\"\\a\nb");
  EXPECT_TRUE(seen);
}

TEST(Prometheus, TheReaderCatchesBrokenText) {
  // The checks above are only worth something if the reader refuses what is wrong.
  EXPECT_FALSE(parse("railcheck_x 1\n").errors.empty());  // no HELP/TYPE
  EXPECT_FALSE(parse("# HELP a h\n# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n").errors.empty());
  EXPECT_FALSE(parse("# HELP a h\n# TYPE a gauge\n# HELP a h\na 1\n").errors.empty());
  EXPECT_FALSE(parse("# HELP a h\n# TYPE a gauge\na{x=\"a\"b\"} 1\n").errors.empty());
  EXPECT_FALSE(parse("# HELP a h\n# TYPE a gauge\na one\n").errors.empty());
  EXPECT_FALSE(parse("# HELP a h\n# TYPE a gauge\n# HELP b h\n# TYPE b gauge\nb 1\na 1\n").errors.empty());
  EXPECT_TRUE(parse("# HELP a h\n# TYPE a gauge\na{x=\"\\\\\\n\\\"\"} 1\n").errors.empty());
}

}  // namespace
}  // namespace railcheck::reports
