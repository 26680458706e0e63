// Escaping for XML and HTML: markup characters, what XML cannot carry, and ids.
#include <gtest/gtest.h>

#include "reports/markup.hpp"

namespace railcheck::reports {
namespace {

TEST(Markup, MarkupCharactersBecomeEntities) {
  EXPECT_EQ(xml_escape("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
}

TEST(Markup, LineBreaksSurviveInAttributesAndStayInText) {
  EXPECT_EQ(xml_escape("a\nb\tc\rd"), "a&#10;b&#9;c&#13;d");
  EXPECT_EQ(xml_text("a\nb\tc <"), "a\nb\tc &lt;");
}

TEST(Markup, WhatXmlCannotCarryBecomesReplacementCharacters) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(xml_escape(std::string("a\x01" "b\x1b" "c", 5)), "a" + fffd + "b" + fffd + "c");
  EXPECT_EQ(xml_escape(std::string("nul\0", 4)), "nul" + fffd);
  EXPECT_EQ(xml_escape("bad \xff byte"), "bad " + fffd + " byte");
  EXPECT_EQ(xml_escape("cut \xe2\x82"), "cut " + fffd + fffd);        // a truncated sequence
  EXPECT_EQ(xml_escape("over \xc0\xaf"), "over " + fffd + fffd);      // an overlong '/'
  EXPECT_EQ(xml_escape("sur \xed\xa0\x80"), "sur " + fffd + fffd + fffd);  // a UTF-16 surrogate
  EXPECT_EQ(xml_escape("ok \xc2\xb5s \xe2\x86\x92 \xf0\x9f\x9a\x80"), "ok \xc2\xb5s \xe2\x86\x92 \xf0\x9f\x9a\x80");
}

TEST(Markup, IdFragmentsKeepOnlySafeCharacters) {
  EXPECT_EQ(id_fragment("rail-1_a"), "rail-1_a");
  EXPECT_EQ(id_fragment("rail 1/\"x\""), "rail_1__x_");
}

}  // namespace
}  // namespace railcheck::reports
