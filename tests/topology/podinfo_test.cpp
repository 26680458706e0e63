#include "topology/podinfo.hpp"

#include <gtest/gtest.h>

namespace railcheck::topology {
namespace {

const std::string kFixtures = RAILCHECK_FIXTURES;

TEST(GoUnquote, ResolvesEveryEscapeKubeletWrites) {
  EXPECT_EQ(unquote_go_string(R"("plain")"), "plain");
  EXPECT_EQ(unquote_go_string(R"("a\nb\tc\\d\"e")"), "a\nb\tc\\d\"e");
  EXPECT_EQ(unquote_go_string(R"("\x41\u00e9\U0001F600")"), "A\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(unquote_go_string(R"("\101")"), "A");
  EXPECT_EQ(unquote_go_string(R"("")"), "");
}

TEST(GoUnquote, RejectsMalformedValuesWithTheReason) {
  EXPECT_EQ(unquote_go_string("noquotes").error().what, "value is not a double-quoted string");
  EXPECT_EQ(unquote_go_string(R"("a"b")").error().what, "unescaped quote at offset 2");
  EXPECT_EQ(unquote_go_string(R"("\q")").error().what, "unknown escape \\q at offset 1");
  EXPECT_EQ(unquote_go_string(R"("\u12")").error().what, "bad \\u escape at offset 1");
  EXPECT_EQ(unquote_go_string(R"("\U00110000")").error().what, "code point out of range at offset 1");
  EXPECT_EQ(unquote_go_string("\"ends\\\"").error().what, "value ends in a lone backslash");
}

TEST(Annotations, ParsesKeyValueLines) {
  auto a = parse_annotations("a.io/x=\"1\"\nb.io/y=\"two\\nlines\"\n\nc=\"\"");
  ASSERT_TRUE(a.has_value()) << a.error().message();
  EXPECT_EQ(a->size(), 3u);
  EXPECT_EQ(a->at("a.io/x"), "1");
  EXPECT_EQ(a->at("b.io/y"), "two\nlines");
  EXPECT_EQ(a->at("c"), "");
}

TEST(Annotations, NamesTheBadLine) {
  auto a = parse_annotations("ok=\"1\"\nbroken line\n");
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, Errc::kProtocol);
  EXPECT_EQ(a.error().what, "annotations line 2: expected key=\"value\"");
  auto b = parse_annotations("ok=\"1\"\nk8s.v1.cni.cncf.io/network-status=\"[{\"name\"}]\"\n");
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().what, "annotations line 2 (k8s.v1.cni.cncf.io/network-status): unescaped quote at offset 3");
}

TEST(Annotations, ReadsTheSpiderpoolFixture) {
  auto a = read_annotations_file(kFixtures + "/annotations_spiderpool");
  ASSERT_TRUE(a.has_value()) << a.error().message();
  EXPECT_EQ(a->size(), 4u);
  EXPECT_EQ(a->at("k8s.v1.cni.cncf.io/networks"), "spiderpool/gpu1-sriov,spiderpool/gpu2-sriov");
  EXPECT_TRUE(a->at("k8s.v1.cni.cncf.io/network-status").starts_with("[\n    {\n        \"name\": \"kube-system/calico\""));
}

TEST(Annotations, MissingFileSaysHowToMountIt) {
  auto a = read_annotations_file("/nonexistent/podinfo/annotations");
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, Errc::kNotFound);
  EXPECT_NE(a.error().hint.find("downward-API"), std::string::npos);
}

}  // namespace
}  // namespace railcheck::topology
