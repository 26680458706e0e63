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

// Every k-th value (k = 0: none), as a table samples them while it fills.
std::vector<double> every(const std::vector<double>& g, size_t k) {
  std::vector<double> out;
  for (size_t i = 0; k > 0 && i < g.size(); i += k) out.push_back(g[i]);
  return out;
}

// Every group's median by MedianSelect, with a sample of every `sample_every`-th value;
// `passes` gets the number of passes it took.
std::vector<double> select_medians(const std::vector<std::vector<double>>& groups, size_t* passes = nullptr,
                                   size_t sample_every = 0) {
  MedianSelect sel;
  for (const auto& g : groups) {
    if (g.empty()) sel.add(0, 0, 0);
    else sel.add(g.size(), *std::ranges::min_element(g), *std::ranges::max_element(g), every(g, sample_every));
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
    const auto sampled = select_medians(groups, nullptr, 1 + round % 5 * 40);
    for (size_t i = 0; i < groups.size(); ++i) {
      EXPECT_EQ(got[i], median(groups[i])) << "round " << round << " group " << i << " of " << groups[i].size();
      EXPECT_EQ(sampled[i], median(groups[i])) << "sampled, round " << round << " group " << i;
    }
  }
}

TEST(MedianSelect, ASampleResolvesLargeGroupsInOnePass) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> bw(380, 2);
  std::vector<std::vector<double>> groups(8);
  for (auto& g : groups) {
    for (size_t i = 0; i < 200'001 + static_cast<size_t>(&g - groups.data()); ++i) g.push_back(bw(rng));  // odd, even
  }
  size_t passes = 0;
  const auto got = select_medians(groups, &passes, 64);
  for (size_t i = 0; i < groups.size(); ++i) EXPECT_EQ(got[i], median(groups[i])) << "group " << i;
  EXPECT_EQ(passes, 1u);
}

TEST(MedianSelect, AMisleadingSampleCostsPassesNotTheMedian) {
  // The sample saw only the first values, all low: the window misses the middle.
  std::vector<double> g;
  for (int i = 0; i < 100'000; ++i) g.push_back(i < 50'000 ? 1.0 + i * 1e-6 : 300.0 + i * 1e-3);
  const std::vector<double> misleading(g.begin(), g.begin() + 1000);
  MedianSelect sel;
  sel.add(g.size(), 1.0, *std::ranges::max_element(g), misleading);
  while (!sel.done() && sel.passes() < 20) {
    sel.pass([&](auto&& value) {
      for (double v : g) value(0, v);
    });
  }
  EXPECT_EQ(sel.median(0), median(g));
  EXPECT_GT(sel.passes(), 1u);
}

TEST(MedianSelect, ASampleOfARepeatedValueResolvesWithoutGathering) {
  std::vector<double> g(300'000, 380);
  std::fill(g.begin(), g.begin() + 1000, 190);
  size_t passes = 0;
  EXPECT_EQ(select_medians({g}, &passes, 64)[0], 380);
  EXPECT_EQ(passes, 1u);
}

TEST(MedianSelect, NegativeZeroIsZero) {
  expect_exact({{-0.0, 0.0, 0.0}, {-1, -0.0, 0.0, 1}}, 1);
}

}  // namespace
}  // namespace railcheck::reports
