// Profiles: the shipped ones (compiled in, and the same as the files in profiles/), the
// schema in step with the reader, and every kind of bad profile refused by name.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "report_fixtures.hpp"

namespace railcheck::reports {
namespace {

using nlohmann::json;
using testing::read_text;

const std::string kProfiles = RAILCHECK_PROFILES_DIR;

// Writes text to a temporary file for the length of a test.
class TempFile {
 public:
  explicit TempFile(const std::string& text)
      : path_(::testing::TempDir() + "railcheck_profile_" + std::to_string(::getpid()) + "_" +
              std::to_string(counter_++) + ".json") {
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

TEST(Profile, ShippedProfilesAreCompiledInAndMatchTheirFiles) {
  EXPECT_EQ(builtin_profile_names(), (std::vector<std::string>{"default", "lab"}));
  for (const std::string& name : builtin_profile_names()) {
    auto built_in = load_profile(name);
    ASSERT_TRUE(built_in.has_value()) << built_in.error().message();
    EXPECT_EQ(built_in->name, name);
    auto from_file = load_profile(kProfiles + "/" + name + ".json");
    ASSERT_TRUE(from_file.has_value()) << from_file.error().message();
    from_file->name = name;
    EXPECT_EQ(*built_in, *from_file) << name;
  }
}

TEST(Profile, DefaultIsTheCertificationGates) {
  auto p = load_profile("default");
  ASSERT_TRUE(p.has_value());
  Profile expected;  // the struct's defaults are documented as the default profile's values
  expected.description = p->description;
  EXPECT_EQ(*p, expected);
  EXPECT_DOUBLE_EQ(p->bw_rate_fraction, 0.90);
  EXPECT_DOUBLE_EQ(p->lat_p50_max_us.of("write"), 2.5);
  EXPECT_DOUBLE_EQ(p->lat_p50_max_us.of("send"), 2.5);
  EXPECT_DOUBLE_EQ(p->lat_p50_max_us.of("read"), 4.5);
  EXPECT_DOUBLE_EQ(p->lat_p50_max_us.of("atomic"), 4.5);
  EXPECT_DOUBLE_EQ(p->lat_p50_max_us.for_op(verbs::Op::kWriteImm), 2.5);  // write_imm goes by "write"
  EXPECT_DOUBLE_EQ(p->lat_p50_max_us.for_op(verbs::Op::kCmpSwap), 4.5);
  EXPECT_EQ(p->roce_min_mtu, 4096u);
}

TEST(Profile, LabHasNoRateGateAndGenerousLatency) {
  auto p = load_profile("lab");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->bw_rate_fraction, 0);
  EXPECT_GT(p->bw_min_gbps, 0);
  EXPECT_GE(p->lat_p50_max_us.of("read"), 1000);
  EXPECT_EQ(p->roce_min_mtu, 0u);
  // The lab's bandwidth tests: small and counted, for a TCG guest's ~0.1-1 Gb/s.
  EXPECT_EQ(p->run_bandwidth, (verbs::BandwidthDefaults{.size_bytes = 65536, .qps = 1, .iters = 5000}));
}

TEST(Profile, RunSectionSetsTheBandwidthDefaults) {
  auto p = profile_from_json(json{{"run", {{"bandwidth", {{"qps", 8}}}}}, {"bandwidth", {{"gate_from_bytes", 0}}}},
                             "mine");
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(p->run_bandwidth.qps, 8u);
  EXPECT_FALSE(p->run_bandwidth.size_bytes.has_value());
  EXPECT_FALSE(p->run_bandwidth.iters.has_value());
  EXPECT_EQ(p->bw_gate_from_bytes, 0u);
  auto bad = profile_from_json(json{{"run", {{"bandwidth", {{"qps", 0}}}}}}, "mine");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("run.bandwidth.qps"), std::string::npos) << bad.error().message();
  auto unknown = profile_from_json(json{{"run", {{"latency", json::object()}}}}, "mine");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message().find("run.latency"), std::string::npos) << unknown.error().message();
}

TEST(Profile, MissingFieldsKeepTheDefaults) {
  auto p = profile_from_json(json{{"latency", {{"p50_max_us", {{"read", 9.0}}}}}}, "mine");
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(p->name, "mine");
  EXPECT_DOUBLE_EQ(p->lat_p50_max_us.of("read"), 9.0);
  EXPECT_DOUBLE_EQ(p->lat_p50_max_us.of("write"), 2.5);
  EXPECT_DOUBLE_EQ(p->bw_rate_fraction, 0.90);
}

TEST(Profile, BadProfilesNameTheField) {
  struct Case {
    json doc;
    std::string expect;
  };
  const Case cases[] = {
      {{{"bandwidth", {{"rate_fraktion", 0.8}}}}, "bandwidth.rate_fraktion is not a profile field"},
      {{{"colour", "red"}}, "colour is not a profile field"},
      {{{"bandwidth", {{"rate_fraction", "0.9"}}}}, "bandwidth.rate_fraction must be a number"},
      {{{"bandwidth", {{"rate_fraction", 1.5}}}}, "bandwidth.rate_fraction is 1.5, must be in [0, 1]"},
      {{{"latency", {{"p50_max_us", {{"write", true}}}}}}, "latency.p50_max_us.write must be a number"},
      {{{"latency", {{"p99_max_us", {{"atomics", 1}}}}}}, "latency.p99_max_us.atomics is not a profile field"},
      {{{"latency", 3}}, "latency must be an object"},
      {{{"outliers", {{"pct", 100}}}}, "outliers.pct is 100, must be in [0, 100)"},
      {{{"outliers", {{"min_pairs", 1}}}}, "outliers.min_pairs is 1, must be at least 2"},
      {{{"outliers", {{"min_pairs", 2.5}}}}, "outliers.min_pairs must be a non-negative integer"},
      {{{"causes", {{"roce_min_mtu", -1}}}}, "causes.roce_min_mtu must be a non-negative integer"},
      {json::array(), "the document must be an object"},
  };
  for (const Case& c : cases) {
    auto p = profile_from_json(c.doc, "x.json");
    ASSERT_FALSE(p.has_value()) << c.doc.dump();
    EXPECT_NE(p.error().what.find("profile x.json: " + c.expect), std::string::npos)
        << c.doc.dump() << " -> " << p.error().what;
  }
}

TEST(Profile, FileErrorsNameTheFile) {
  TempFile bad_json("{\"bandwidth\": {\"rate_fraction\": 0.9,}}");
  auto p = load_profile(bad_json.path());
  ASSERT_FALSE(p.has_value());
  EXPECT_NE(p.error().what.find(bad_json.path() + ": not valid JSON at byte"), std::string::npos) << p.error().what;

  TempFile wrong_type("{\"outliers\": {\"pct\": \"25%\"}}");
  p = load_profile(wrong_type.path());
  ASSERT_FALSE(p.has_value());
  EXPECT_NE(p.error().what.find(wrong_type.path() + ": outliers.pct must be a number"), std::string::npos);

  p = load_profile("/nonexistent/profile.json");
  ASSERT_FALSE(p.has_value());
  EXPECT_NE(p.error().message().find("/nonexistent/profile.json"), std::string::npos);

  p = load_profile("strict");
  ASSERT_FALSE(p.has_value());
  EXPECT_NE(p.error().message().find("no profile named 'strict'"), std::string::npos);
  EXPECT_NE(p.error().message().find("default, lab"), std::string::npos);

  TempFile good("{\"outliers\": {\"pct\": 10}}");
  p = load_profile(good.path());
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(p->name, good.path());
  EXPECT_DOUBLE_EQ(p->outlier_pct, 10);
}

// Every leaf of the schema, with the schema's default: a document built from those defaults
// is the default profile, and a string in any leaf is refused with that leaf's path. So the
// schema and the reader cannot drift apart.
void schema_leaves(const json& schema, const json& node, const std::string& path,
                   std::vector<std::pair<std::string, json>>& out) {
  EXPECT_EQ(node.value("additionalProperties", true), false) << path << " must forbid unknown fields";
  for (const auto& [key, child] : node.at("properties").items()) {
    if (key == "$schema" || key == "description") continue;
    const std::string sub = path.empty() ? key : path + "." + key;
    if (child.contains("$ref")) {  // a per-verb object, its defaults given as one object
      const json& per_verb = schema.at("$defs").at("per_verb");
      EXPECT_EQ(per_verb.value("additionalProperties", true), false);
      const json defaults = child.value("default", json::object());
      for (const auto& [verb, leaf] : per_verb.at("properties").items()) {
        EXPECT_EQ(leaf.value("type", ""), "number") << sub << "." << verb;
        out.emplace_back(sub + "." + verb, defaults.value(verb, json()));
      }
    } else if (child.value("type", "") == "object") {
      schema_leaves(schema, child, sub, out);
    } else {
      out.emplace_back(sub, child.value("default", json()));
    }
  }
}

json set_path(json doc, const std::string& path, const json& value) {
  json* at = &doc;
  size_t start = 0;
  for (size_t dot; (dot = path.find('.', start)) != std::string::npos; start = dot + 1) {
    at = &(*at)[path.substr(start, dot - start)];
  }
  (*at)[path.substr(start)] = value;
  return doc;
}

TEST(Profile, SchemaAndReaderAgree) {
  const json schema = json::parse(read_text(kProfiles + "/profile.schema.json"));
  std::vector<std::pair<std::string, json>> leaves;
  schema_leaves(schema, schema, "", leaves);
  // The per-verb keys are the op table's profile keys, no more, no less.
  std::vector<std::string> schema_keys, table_keys;
  for (const auto& [key, leaf] : schema.at("$defs").at("per_verb").at("properties").items()) schema_keys.push_back(key);
  for (std::string_view k : verbs::profile_keys()) table_keys.emplace_back(k);
  std::ranges::sort(schema_keys);
  std::ranges::sort(table_keys);
  EXPECT_EQ(schema_keys, table_keys);
  // rate_fraction, min_gbps, gate_from_bytes, 2 x the profile keys, pct, min_pairs,
  // roce_min_mtu, counter_faults, counter_min_delta; run.bandwidth's size_bytes, qps, iters (no
  // default: unset is the built-in)
  ASSERT_EQ(leaves.size(), 8 + 2 * table_keys.size() + 3);
  json from_defaults = json::object();
  for (const auto& [path, value] : leaves) {
    if (path.starts_with("run.")) {
      EXPECT_TRUE(value.is_null()) << path << ": the built-in default is the absence of the field";
      continue;
    }
    ASSERT_FALSE(value.is_null()) << path << " has no default in the schema";
    from_defaults = set_path(from_defaults, path, value);
  }
  auto p = profile_from_json(from_defaults, "default");
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(*p, Profile{});
  for (const auto& [path, value] : leaves) {
    auto bad = profile_from_json(set_path(json::object(), path, "text"), "s");
    ASSERT_FALSE(bad.has_value()) << path;
    EXPECT_NE(bad.error().what.find("profile s: " + path + " must be"), std::string::npos) << bad.error().what;
  }
  // The shipped profiles use only what the schema knows (the reader refuses anything else).
  for (const char* f : {"default.json", "lab.json"}) {
    EXPECT_TRUE(profile_from_json(json::parse(read_text(kProfiles + "/" + f)), f).has_value()) << f;
  }
}

}  // namespace
}  // namespace railcheck::reports
