// MedianSelect against the plain median (copy, sort) over data that exercises each of its
// paths: small groups gathered whole, histograms that narrow, middle ranks split across
// buckets, ranges of one repeated value, negatives, many groups at once, and the gather budget.
#include "reports/median_select.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "reports/analysis.hpp"

namespace railcheck::reports {
namespace {

// Every group's median by MedianSelect; `passes` gets the number of passes it took.
std::vector<double> select_medians(const std::vector<std::vector<double>>& groups, size_t* passes = nullptr) {
  MedianSelect sel;
  for (const auto& g : groups) {
    if (g.empty()) sel.add(0, 0, 0);
    else sel.add(g.size(), *std::ranges::min_element(g), *std::ranges::max_element(g));
  }
  size_t guard = 0;
  while (!sel.done() && ++guard < 100) {
    sel.pass([&](auto&& value) {
      for (size_t i = 0; i < groups.size(); ++i) {
        for (double v : groups[i]) value(i, v);
      }
    });
  }
  EXPECT_TRUE(sel.done()) << "no result after 100 passes";
  if (passes) *passes = sel.passes();
  std::vector<double> out;
  for (size_t i = 0; i < groups.size(); ++i) out.push_back(sel.median(i));
  return out;
}

void expect_exact(const std::vector<std::vector<double>>& groups, size_t max_passes) {
  size_t passes = 0;
  const auto got = select_medians(groups, &passes);
  for (size_t i = 0; i < groups.size(); ++i) {
    // Bit for bit, not nearly: reports print these.
    EXPECT_EQ(got[i], median(groups[i])) << "group " << i << " of " << groups[i].size() << " values";
  }
  EXPECT_LE(passes, max_passes);
}

TEST(MedianSelect, EmptyOneAndEqualValuesNeedNoPass) {
  expect_exact({{}, {4.5}, {7, 7, 7}}, 0);
}

TEST(MedianSelect, SmallGroupsAreGatheredInOnePass) {
  expect_exact({{3, 1, 2}, {4, 1, 3, 2}, {5, 5, 1, 9, 9, 9}, {-2.5, 8, -7}}, 1);
}

TEST(MedianSelect, LargeNoisyGroupsTakeAHistogramAndAGather) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> lat(2.0, 0.05);
  std::normal_distribution<double> bw(380, 2);
  std::vector<std::vector<double>> groups(4);
  for (size_t i = 0; i < 300'001; ++i) groups[0].push_back(lat(rng));  // odd
  for (size_t i = 0; i < 300'000; ++i) groups[1].push_back(bw(rng));   // even
  for (size_t i = 0; i < 200'000; ++i) groups[2].push_back(-lat(rng)); // negatives
  for (size_t i = 0; i < 100; ++i) groups[3].push_back(bw(rng));       // small, beside large ones
  expect_exact(groups, 2);
}

TEST(MedianSelect, MiddleRanksSplitAcrossTwoValues) {
  // Half the pairs at 190 Gb/s, half at 380: the median is 285, between two huge buckets.
  std::vector<double> g(400'000, 380);
  std::fill(g.begin(), g.begin() + 200'000, 190);
  expect_exact({g}, 2);
}

TEST(MedianSelect, ARepeatedValueResolvesWithoutGatheringIt) {
  // One slow node: a few hundred slow pairs among 500,000 equal ones.
  std::vector<double> g(500'000, 380);
  std::fill(g.begin(), g.begin() + 1023, 190);
  std::vector<double> lat(500'001, 2.0);
  std::fill(lat.end() - 1023, lat.end(), 4.0);
  expect_exact({g, lat}, 2);
}

TEST(MedianSelect, ClusteredValuesNarrowOverSeveralPasses) {
  // Values 1 ulp apart around the median, and outliers far away: every histogram puts the
  // middle in one bucket until the range is a few ulps wide.
  std::vector<double> g;
  double v = 1.0;
  for (int i = 0; i < 150'000; ++i) g.push_back(v = std::nextafter(v, 2.0));
  for (int i = 0; i < 1000; ++i) {
    g.push_back(1e300);
    g.push_back(-1e300);
  }
  g.push_back(std::numeric_limits<double>::infinity());
  size_t passes = 0;
  EXPECT_EQ(select_medians({g}, &passes)[0], median(g));
  EXPECT_GE(passes, 3u);  // it did narrow
  EXPECT_LE(passes, 8u);
}

TEST(MedianSelect, ManyGroupsOverTheGatherBudgetTakeMorePasses) {
  // 40 groups of 60,000 values each want gathering: 2.4 M values, over one pass's budget.
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(0, 1000);
  std::vector<std::vector<double>> groups(40);
  for (auto& g : groups) {
    for (int i = 0; i < 60'000; ++i) g.push_back(u(rng));
  }
  size_t passes = 0;
  const auto got = select_medians(groups, &passes);
  for (size_t i = 0; i < groups.size(); ++i) EXPECT_EQ(got[i], median(groups[i])) << "group " << i;
  EXPECT_GE(passes, 3u);  // 1 M values a pass at most
}

TEST(MedianSelect, RandomGroupsOfEveryShape) {
  // Sizes around the gather limit, few or many distinct values, wide or narrow ranges.
  std::mt19937_64 rng(2026);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::vector<double>> groups(6);
    for (auto& g : groups) {
      const size_t n = std::uniform_int_distribution<size_t>(0, 3 * MedianSelect::kGatherMax)(rng);
      const int distinct = std::uniform_int_distribution<int>(1, 6)(rng);
      const double scale = std::pow(10.0, std::uniform_int_distribution<int>(-3, 6)(rng));
      std::vector<double> palette;
      for (int d = 0; d < (distinct == 6 ? 0 : distinct); ++d) palette.push_back(std::normal_distribution<double>(0, scale)(rng));
      for (size_t i = 0; i < n; ++i) {
        g.push_back(palette.empty() ? std::normal_distribution<double>(scale, scale / 100)(rng)
                                    : palette[std::uniform_int_distribution<size_t>(0, palette.size() - 1)(rng)]);
      }
    }
    const auto got = select_medians(groups);
    for (size_t i = 0; i < groups.size(); ++i) {
      EXPECT_EQ(got[i], median(groups[i])) << "round " << round << " group " << i << " of " << groups[i].size();
    }
  }
}

TEST(MedianSelect, NegativeZeroIsZero) {
  expect_exact({{-0.0, 0.0, 0.0}, {-1, -0.0, 0.0, 1}}, 1);
}

}  // namespace
}  // namespace railcheck::reports
