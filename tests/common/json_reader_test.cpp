#include "common/json_reader.hpp"

#include <gtest/gtest.h>

namespace railcheck {
namespace {

using nlohmann::json;

struct Sample {
  std::string name;
  uint32_t count = 0;
  double ratio = 0;
  bool on = false;
  std::optional<int> level;
  std::vector<uint64_t> sizes;
};

Result<Sample> read_sample(const json& j) {
  JsonErrors errors("sample: ", "see the docs");
  Sample s;
  JsonReader r(j, "", errors);
  r.only({"name", "count", "ratio", "on", "level", "sizes", "inner"});
  r.require("name", s.name);
  r.get("count", s.count);
  r.get_in("ratio", s.ratio, 0.0, 1.0);
  r.get("on", s.on);
  r.get("level", s.level);
  r.get("sizes", s.sizes);
  r.object("inner", [&](JsonReader& in) {
    in.only({"count"});
    in.get("count", s.count);
  });
  if (errors.failed()) return errors.unexpected();
  return s;
}

TEST(JsonReader, ReadsEveryTypeAndKeepsDefaults) {
  auto s = read_sample(json{{"name", "a"}, {"count", 3}, {"ratio", 0.5}, {"on", true}, {"level", -2}, {"sizes", {1, 2}}});
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_EQ(s->name, "a");
  EXPECT_EQ(s->count, 3u);
  EXPECT_DOUBLE_EQ(s->ratio, 0.5);
  EXPECT_TRUE(s->on);
  EXPECT_EQ(s->level, -2);
  EXPECT_EQ(s->sizes, (std::vector<uint64_t>{1, 2}));
  auto d = read_sample(json{{"name", "b"}, {"level", nullptr}});  // null counts as absent
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->count, 0u);
  EXPECT_EQ(d->level, std::nullopt);
}

// One row per refusal: the message and the field it names.
struct Bad {
  json doc;
  std::string what;
  std::string field;
};

class JsonReaderRefuses : public ::testing::TestWithParam<Bad> {};

TEST_P(JsonReaderRefuses, NamesTheField) {
  auto s = read_sample(GetParam().doc);
  ASSERT_FALSE(s.has_value()) << GetParam().doc.dump();
  EXPECT_EQ(s.error().what, GetParam().what);
  EXPECT_EQ(s.error().field, GetParam().field);
  EXPECT_EQ(s.error().hint, "see the docs");
  EXPECT_EQ(s.error().code, Errc::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(
    Table, JsonReaderRefuses,
    ::testing::Values(
        Bad{json::array(), "sample: the document must be an object", "the document"},
        Bad{json::object(), "sample: name must be a string (missing)", "name"},
        Bad{json{{"name", "a"}, {"colour", 1}}, "sample: colour is not a known field", "colour"},
        Bad{json{{"name", 7}}, "sample: name must be a string", "name"},
        // No conversions: -1 into an unsigned, 2.5 into an integer, true into a number.
        Bad{json{{"name", "a"}, {"count", -1}}, "sample: count must be a non-negative integer in range", "count"},
        Bad{json{{"name", "a"}, {"count", 2.5}}, "sample: count must be a non-negative integer in range", "count"},
        Bad{json{{"name", "a"}, {"count", 1ull << 33}}, "sample: count must be a non-negative integer in range", "count"},
        Bad{json{{"name", "a"}, {"ratio", true}}, "sample: ratio must be a number", "ratio"},
        Bad{json{{"name", "a"}, {"ratio", 1.5}}, "sample: ratio is 1.5, must be in [0, 1]", "ratio"},
        Bad{json{{"name", "a"}, {"on", 1}}, "sample: on must be true or false", "on"},
        Bad{json{{"name", "a"}, {"sizes", {1, -1}}}, "sample: sizes must be an array of numbers in range", "sizes"},
        Bad{json{{"name", "a"}, {"inner", 3}}, "sample: inner must be an object", "inner"},
        Bad{json{{"name", "a"}, {"inner", {{"x", 1}}}}, "sample: inner.x is not a known field", "inner.x"},
        Bad{json{{"name", "a"}, {"inner", {{"count", "2"}}}}, "sample: inner.count must be a non-negative integer in range",
            "inner.count"}));

TEST(JsonReader, FirstErrorWinsAndArraysNameTheirIndex) {
  JsonErrors errors;
  const json doc = json::parse(R"({"items": [{"n": 1}, {"n": "x"}, {"n": "y"}], "z": "q"})");
  JsonReader r(doc, "doc", errors);  // borrows the document
  std::vector<int> seen;
  r.each("items", [&](const json& e, const std::string& path) {
    JsonReader item(e, path, errors);
    int n = 0;
    if (item.get("n", n)) seen.push_back(n);
  });
  int z = 0;
  r.get("z", z);
  ASSERT_TRUE(errors.failed());
  EXPECT_EQ(errors.error().what, "doc.items[1].n must be an integer in range");
  EXPECT_EQ(errors.error().field, "doc.items[1].n");
  EXPECT_EQ(seen, std::vector<int>{1});  // nothing is read after the first error
}

}  // namespace
}  // namespace railcheck
