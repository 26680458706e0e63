#include "verbs/work.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace railcheck::verbs {
namespace {

// Regression: a copied work request kept pointing at the original's scatter/gather entry, so
// bandwidth tests posted whatever that stack memory held (completions came, data did not).
TEST(QpWork, CopiesPointAtTheirOwnScatterGatherEntries) {
  QpWork a;
  a.send_sge.length = 65536;
  a.recv_sge.length = 4096;
  a.repoint();
  std::vector<QpWork> works;
  for (int i = 0; i < 5; ++i) works.push_back(a);  // reallocations copy again
  for (const QpWork& w : works) {
    EXPECT_EQ(w.send_wr.sg_list, &w.send_sge);
    EXPECT_EQ(w.recv_wr.sg_list, &w.recv_sge);
    EXPECT_EQ(w.send_wr.sg_list->length, 65536u);
  }
  QpWork b;
  b = a;
  EXPECT_EQ(b.send_wr.sg_list, &b.send_sge);
}

TEST(DataPattern, DetectsTheFirstDifferentByte) {
  std::vector<uint8_t> buf(70000);
  fill_pattern(buf.data(), buf.size(), 3);
  EXPECT_FALSE(find_pattern_mismatch(buf.data(), buf.size(), 3).has_value());
  // Another QP's or another size's pattern differs, so a region fed by the wrong QP is caught.
  EXPECT_TRUE(find_pattern_mismatch(buf.data(), buf.size(), 4).has_value());
  EXPECT_TRUE(find_pattern_mismatch(buf.data(), buf.size() - 1, 3).has_value());
  buf[54321] ^= 0x40;
  EXPECT_EQ(find_pattern_mismatch(buf.data(), buf.size(), 3), 54321u);
  // A region still zeroed (nothing arrived) fails.
  std::vector<uint8_t> zeros(4096, 0);
  EXPECT_TRUE(find_pattern_mismatch(zeros.data(), zeros.size(), 0).has_value());
}

}  // namespace
}  // namespace railcheck::verbs
