// reindent_compact() against nlohmann::json's own dump(2), byte for byte, over documents that
// exercise what a record can hold, and the shapes it must refuse (the caller then parses).
#include "reports/compact_json.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>
#include <string>

namespace railcheck::reports {
namespace {

using Replace = std::pair<std::string_view, std::string_view>;

// What the slow path writes: parse, replace, dump(2), every line after the first indented.
std::string reference(const nlohmann::json& doc, size_t indent, std::span<const Replace> replace) {
  nlohmann::json j = doc;
  for (const auto& [key, value] : replace) j[std::string(key)] = nlohmann::json::parse(value);
  std::string text = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string pad = "\n" + std::string(indent, ' ');
  for (size_t p = text.find('\n'); p != std::string::npos; p = text.find('\n', p + pad.size())) text.replace(p, 1, pad);
  return text;
}

void expect_same(const nlohmann::json& doc, std::span<const Replace> replace = {}) {
  const std::string compact = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out = "prefix:";
  ASSERT_TRUE(reindent_compact(compact, 4, replace, out)) << compact;
  EXPECT_EQ(out, "prefix:" + reference(doc, 4, replace)) << compact;
}

TEST(ReindentCompact, IsDumpTwoOfTheDocument) {
  expect_same(nlohmann::json::object());
  expect_same({{"a", 1}});
  expect_same({{"empty_object", nlohmann::json::object()},
               {"empty_array", nlohmann::json::array()},
               {"nested", {{"list", {1, -2.5, 3e-7, 1e300, true, false, nullptr}}, {"deep", {{"x", {{"y", "z"}}}}}}},
               {"strings", {"plain", "quote \" and \\ backslash", "tab\tnew\nline", "\x01 control", "ünïcödé ✓", ""}},
               {"numbers", {0, -0.0, 18446744073709551615ULL, -9223372036854775807LL, 0.1, 123456.789}}});
}

TEST(ReindentCompact, ReplacesTopLevelMembersOnly) {
  const nlohmann::json doc = {{"cause", "old"}, {"verdict", ""}, {"inner", {{"verdict", "kept"}}}, {"z", {1, 2}}};
  const std::string cause = nlohmann::json("p50 \"2.5\" us > 2 us").dump();
  const Replace replace[] = {{"cause", cause}, {"verdict", "\"fail\""}};
  expect_same(doc, replace);
  std::string out;
  ASSERT_TRUE(reindent_compact(doc.dump(), 0, replace, out));
  EXPECT_NE(out.find("\"kept\""), std::string::npos);
  EXPECT_EQ(out.find("\"old\""), std::string::npos);
}

TEST(ReindentCompact, RandomRecordsLikeDocuments) {
  std::mt19937_64 rng(42);
  auto random_value = [&](auto&& self, int depth) -> nlohmann::json {
    switch (std::uniform_int_distribution<int>(0, depth > 3 ? 3 : 5)(rng)) {
      case 0: return std::uniform_real_distribution<double>(-1e6, 1e6)(rng);
      case 1: return std::uniform_int_distribution<int64_t>(-1'000'000, 1'000'000)(rng);
      case 2: {
        std::string s;
        for (int i = std::uniform_int_distribution<int>(0, 12)(rng); i > 0; --i) {
          s += static_cast<char>(std::uniform_int_distribution<int>(1, 126)(rng));
        }
        return s;
      }
      case 3: return std::uniform_int_distribution<int>(0, 1)(rng) == 1;
      case 4: {
        nlohmann::json a = nlohmann::json::array();
        for (int i = std::uniform_int_distribution<int>(0, 4)(rng); i > 0; --i) a.push_back(self(self, depth + 1));
        return a;
      }
      default: {
        nlohmann::json o = nlohmann::json::object();
        for (int i = std::uniform_int_distribution<int>(0, 5)(rng); i > 0; --i) {
          o["k" + std::to_string(std::uniform_int_distribution<int>(0, 20)(rng))] = self(self, depth + 1);
        }
        return o;
      }
    }
  };
  for (int i = 0; i < 300; ++i) {
    nlohmann::json doc = nlohmann::json::object();
    for (int k = std::uniform_int_distribution<int>(0, 8)(rng); k > 0; --k) {
      doc["m" + std::to_string(k)] = random_value(random_value, 0);
    }
    doc["cause"] = "";
    doc["verdict"] = "";
    const Replace replace[] = {{"cause", "\"why\""}, {"verdict", "\"warn\""}};
    expect_same(doc, replace);
  }
}

TEST(ReindentCompact, RefusesWhatDumpDoesNotWrite) {
  const Replace replace[] = {{"verdict", "\"pass\""}};
  for (std::string_view text : {"", "[1,2]", "{\"verdict\": \"x\"}", "{\"verdict\":\"x\"} ", "{\"verdict\":tru}",
                                "{\"verdict\":\"x\",}", "{\"verdict\":\"x\"", "{\"a\":1}", "{\"verdict\":01.}",
                                "{\"verdict\":\"a\nb\"}", "{\"verdict\":\"x\",\"verdict\":\"y\"}"}) {
    std::string out = "kept";
    EXPECT_FALSE(reindent_compact(text, 4, replace, out)) << text;
    EXPECT_EQ(out, "kept") << text;
  }
}

}  // namespace
}  // namespace railcheck::reports
