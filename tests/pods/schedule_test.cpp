#include "pods/schedule.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <utility>

namespace railcheck::pods {
namespace {

// Every NIC at most once per round; returns the unordered pairs seen, each counted.
std::map<std::pair<uint32_t, uint32_t>, int> check_rounds(const Schedule& s, uint32_t n) {
  std::map<std::pair<uint32_t, uint32_t>, int> seen;
  for (size_t r = 0; r < s.round_count(); ++r) {
    std::set<uint32_t> busy;
    for (const Pair& p : s.round(r)) {
      EXPECT_LT(p.client, n);
      EXPECT_LT(p.server, n);
      EXPECT_NE(p.client, p.server) << "round " << r;
      EXPECT_TRUE(busy.insert(p.client).second) << "member " << p.client << " twice in round " << r << " (n=" << n << ")";
      EXPECT_TRUE(busy.insert(p.server).second) << "member " << p.server << " twice in round " << r << " (n=" << n << ")";
      seen[{std::min(p.client, p.server), std::max(p.client, p.server)}]++;
    }
  }
  return seen;
}

TEST(Schedule, AllPairsIsAMinimalRoundRobinForTwoToSixtyFour) {
  for (uint32_t n = 2; n <= 64; ++n) {
    const Schedule s = make_schedule(Pattern::kAllPairs, n);
    EXPECT_EQ(s.round_count(), n % 2 == 0 ? n - 1 : n) << "n=" << n;
    const auto seen = check_rounds(s, n);
    EXPECT_EQ(seen.size(), size_t{n} * (n - 1) / 2) << "n=" << n;
    for (const auto& [pair, count] : seen) EXPECT_EQ(count, 1) << pair.first << "-" << pair.second << " n=" << n;
    // Every round is full: floor(n/2) pairs.
    for (size_t r = 0; r < s.round_count(); ++r) EXPECT_EQ(s.round(r).size(), n / 2) << "n=" << n;
  }
}

TEST(Schedule, AllPairsBalancesRoles) {
  for (uint32_t n : {4u, 8u, 9u, 64u}) {
    std::vector<int> as_client(n);
    const Schedule s = make_schedule(Pattern::kAllPairs, n);
    for (size_t r = 0; r < s.round_count(); ++r) {
      for (const Pair& p : s.round(r)) as_client[p.client]++;
    }
    const auto [lo, hi] = std::ranges::minmax(as_client);
    // Odd n: a regular tournament, everyone client (n-1)/2 times; even n: n/2 or n/2 - 1.
    EXPECT_EQ(lo, n % 2 == 1 ? static_cast<int>(n - 1) / 2 : static_cast<int>(n / 2) - 1) << "n=" << n;
    EXPECT_LE(hi - lo, n % 2 == 1 ? 0 : 1) << "n=" << n;
  }
}

TEST(Schedule, RingLinksNeighboursInTwoOrThreeRounds) {
  for (uint32_t n = 3; n <= 64; ++n) {
    const Schedule s = make_schedule(Pattern::kRing, n);
    EXPECT_EQ(s.round_count(), n % 2 == 0 ? 2u : 3u) << "n=" << n;
    const auto seen = check_rounds(s, n);
    EXPECT_EQ(seen.size(), n) << "n=" << n;
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t j = (i + 1) % n;
      EXPECT_EQ(seen.count({std::min(i, j), std::max(i, j)}), 1u) << i << "-" << j << " n=" << n;
    }
  }
  EXPECT_EQ(make_schedule(Pattern::kRing, 2).pair_count(), 1u);
}

TEST(Schedule, PairsIsOneRoundOfDisjointPairs) {
  const Schedule s = make_schedule(Pattern::kPairs, 7);
  ASSERT_EQ(s.round_count(), 1u);
  EXPECT_EQ(s.round(0), (Round{{0, 1}, {2, 3}, {4, 5}}));
  check_rounds(s, 7);
}

TEST(Schedule, FewerThanTwoMembersHaveNothingToDo) {
  for (Pattern p : {Pattern::kAllPairs, Pattern::kRing, Pattern::kPairs}) {
    EXPECT_EQ(make_schedule(p, 0).round_count(), 0u);
    EXPECT_EQ(make_schedule(p, 1).round_count(), 0u);
    EXPECT_TRUE(make_schedule(p, 1).round(0).empty());
  }
}

TEST(Schedule, PairCountIsThePairsOfTheRounds) {
  for (Pattern p : {Pattern::kAllPairs, Pattern::kRing, Pattern::kPairs}) {
    for (uint32_t n = 0; n <= 65; ++n) {
      const Schedule s = make_schedule(p, n);
      size_t pairs = 0;
      for (size_t r = 0; r < s.round_count(); ++r) pairs += s.round(r).size();
      EXPECT_EQ(pair_count(p, n), pairs) << to_string(p) << " n=" << n;
      EXPECT_EQ(s.pair_count(), pairs) << to_string(p) << " n=" << n;
    }
  }
  EXPECT_EQ(pair_count(Pattern::kAllPairs, 1024), 523'776u);
}

TEST(Schedule, PatternNamesRoundTrip) {
  for (Pattern p : {Pattern::kAllPairs, Pattern::kRing, Pattern::kPairs}) EXPECT_EQ(*parse_pattern(to_string(p)), p);
  auto bad = parse_pattern("mesh");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("all-pairs, ring or pairs"), std::string::npos);
}

}  // namespace
}  // namespace railcheck::pods
