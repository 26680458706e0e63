#include "verbs/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace railcheck::verbs {
namespace {

using H = LatencyHistogram;

// The documented bound: a percentile is within 1/256 of the exact nearest-rank sample.
constexpr double kRelativeError = 1.0 / 256;
constexpr double kPercentiles[] = {0, 0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};

// Nearest-rank percentile of sorted samples: the ceil(p/100 * N)-th smallest, rank >= 1.
double exact_percentile(const std::vector<uint64_t>& sorted, double p) {
  const auto n = static_cast<double>(sorted.size());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * n - 1e-9));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return static_cast<double>(sorted[rank - 1]);
}

H record_all(const std::vector<uint64_t>& samples) {
  H h;
  for (uint64_t v : samples) h.record(v);
  return h;
}

void expect_percentiles_within_bound(std::vector<uint64_t> samples) {
  const H h = record_all(samples);
  std::sort(samples.begin(), samples.end());
  for (double p : kPercentiles) {
    const double exact = exact_percentile(samples, p);
    EXPECT_NEAR(h.percentile(p), exact, exact * kRelativeError) << "p" << p;
  }
  const LatencySummary s = h.summary();
  EXPECT_EQ(s.p50_ns, h.percentile(50));
  EXPECT_EQ(s.p90_ns, h.percentile(90));
  EXPECT_EQ(s.p99_ns, h.percentile(99));
  EXPECT_EQ(s.p999_ns, h.percentile(99.9));
}

std::vector<uint64_t> random_latencies(size_t n, uint64_t seed) {
  // Around 2..50 us with a tail: lognormal, median ~6 us.
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(std::log(6000.0), 0.8);
  std::vector<uint64_t> v(n);
  for (auto& x : v) x = static_cast<uint64_t>(dist(rng));
  return v;
}

TEST(LatencyHistogram, LayoutIsExactBelow256AndWithin1Over128Above) {
  for (uint64_t v = 0; v < H::kExactBelowNs; ++v) {
    ASSERT_EQ(H::bucket_index(v), v);
    ASSERT_EQ(H::bucket_lower_ns(v), v);
    ASSERT_EQ(H::bucket_width_ns(v), 1u);
  }
  EXPECT_EQ(H::bucket_index(H::kMaxTrackableNs), H::kBucketCount - 1);
  EXPECT_GE(H::kMaxTrackableNs, 100'000'000'000u);  // at least 100 s
  for (size_t i = H::kExactBelowNs; i < H::kBucketCount; ++i) {
    const uint64_t lower = H::bucket_lower_ns(i);
    const uint64_t width = H::bucket_width_ns(i);
    ASSERT_EQ(H::bucket_index(lower), i);
    ASSERT_EQ(H::bucket_index(lower + width - 1), i);
    ASSERT_LE(width * 128, lower) << i;
    if (i + 1 < H::kBucketCount) {
      ASSERT_EQ(H::bucket_lower_ns(i + 1), lower + width) << i;
    }
  }
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  std::vector<uint64_t> samples;
  for (uint64_t v = 1; v <= 255; ++v) samples.push_back(v);
  const H h = record_all(samples);
  for (double p = 0; p <= 100; p += 0.5) {
    EXPECT_EQ(h.percentile(p), exact_percentile(samples, p)) << "p" << p;
  }
  EXPECT_EQ(h.min_ns(), 1u);
  EXPECT_EQ(h.max_ns(), 255u);
  EXPECT_DOUBLE_EQ(h.mean_ns(), 128.0);
}

TEST(LatencyHistogram, UniformPercentilesWithinBound) {
  std::vector<uint64_t> samples;
  for (uint64_t v = 1; v <= 10000; ++v) samples.push_back(v);
  expect_percentiles_within_bound(samples);
  const H h = record_all(samples);
  EXPECT_NEAR(h.percentile(50), 5000, 5000 * kRelativeError);
  EXPECT_NEAR(h.percentile(99), 9900, 9900 * kRelativeError);
  EXPECT_NEAR(h.percentile(99.9), 9990, 9990 * kRelativeError);
}

TEST(LatencyHistogram, ConstantIsExactEverywhere) {
  H h;
  for (int i = 0; i < 1000; ++i) h.record(5000);
  for (double p : kPercentiles) EXPECT_EQ(h.percentile(p), 5000.0) << "p" << p;
  const LatencySummary s = h.summary();
  EXPECT_EQ(s.count, 1000u);
  EXPECT_EQ(s.min_ns, 5000.0);
  EXPECT_EQ(s.max_ns, 5000.0);
  EXPECT_EQ(s.mean_ns, 5000.0);
  EXPECT_EQ(s.stdev_ns, 0.0);
}

TEST(LatencyHistogram, TwoPointMixSplitsAtTheKnownRanks) {
  // 990 x 2 us and 10 x 50 us: ranks 1..990 are 2 us, 991..1000 are 50 us.
  std::vector<uint64_t> samples(990, 2000);
  samples.insert(samples.end(), 10, 50000);
  expect_percentiles_within_bound(samples);
  const LatencySummary s = record_all(samples).summary();
  EXPECT_NEAR(s.p50_ns, 2000, 2000 * kRelativeError);
  EXPECT_NEAR(s.p90_ns, 2000, 2000 * kRelativeError);
  EXPECT_NEAR(s.p99_ns, 2000, 2000 * kRelativeError);     // rank 990
  EXPECT_NEAR(s.p999_ns, 50000, 50000 * kRelativeError);  // rank 999
  EXPECT_EQ(s.mean_ns, (990.0 * 2000 + 10.0 * 50000) / 1000);
}

TEST(LatencyHistogram, RandomLatenciesWithinBound) {
  expect_percentiles_within_bound(random_latencies(100'000, 42));
}

TEST(LatencyHistogram, MinMaxMeanStdevExact) {
  const H h = record_all({1000, 2000, 3000, 4000});
  EXPECT_EQ(h.min_ns(), 1000u);
  EXPECT_EQ(h.max_ns(), 4000u);
  EXPECT_EQ(h.mean_ns(), 2500.0);
  EXPECT_DOUBLE_EQ(h.stdev_ns(), std::sqrt(1'250'000.0));  // population

  const std::vector<uint64_t> samples = random_latencies(10'000, 7);
  const H r = record_all(samples);
  long double sum = 0;
  for (uint64_t v : samples) sum += v;
  const long double mean = sum / samples.size();
  long double squares = 0;
  for (uint64_t v : samples) squares += (v - mean) * (v - mean);
  EXPECT_DOUBLE_EQ(r.mean_ns(), static_cast<double>(mean));
  EXPECT_DOUBLE_EQ(r.stdev_ns(), static_cast<double>(std::sqrt(squares / samples.size())));
  EXPECT_EQ(r.min_ns(), *std::min_element(samples.begin(), samples.end()));
  EXPECT_EQ(r.max_ns(), *std::max_element(samples.begin(), samples.end()));
}

TEST(LatencyHistogram, StdevIsStableForLargeValuesWithTinySpread) {
  // 100 s plus {0, 1, 2} ns: a naive sum-of-squares in double loses this entirely.
  const uint64_t base = 100'000'000'000;
  const H h = record_all({base, base + 1, base + 2});
  EXPECT_EQ(h.mean_ns(), static_cast<double>(base + 1));
  EXPECT_DOUBLE_EQ(h.stdev_ns(), std::sqrt(2.0 / 3.0));
}

TEST(LatencyHistogram, OverflowIsClampedAndCounted) {
  H h;
  h.record(1000);
  h.record(H::kMaxTrackableNs);
  h.record(H::kMaxTrackableNs + 1);
  h.record(std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.overflow_count(), 2u);
  EXPECT_EQ(h.max_ns(), H::kMaxTrackableNs);
  EXPECT_EQ(h.percentile(100), static_cast<double>(H::kMaxTrackableNs));
  EXPECT_EQ(h.percentile(25), 1000.0);  // rank 1 of 4
  const auto top = static_cast<double>(H::kMaxTrackableNs);
  EXPECT_NEAR(h.percentile(50), top, top * kRelativeError);  // rank 2: the top bucket
  EXPECT_EQ(h.to_buckets().buckets.back().count, 3u);
}

TEST(LatencyHistogram, EmptySummaryIsAllZero) {
  const H h;
  EXPECT_EQ(h.summary(), LatencySummary{});
  EXPECT_EQ(h.percentile(50), 0.0);
  EXPECT_EQ(h.min_ns(), 0u);
  EXPECT_EQ(h.max_ns(), 0u);
  EXPECT_EQ(h.mean_ns(), 0.0);
  EXPECT_EQ(h.stdev_ns(), 0.0);
}

TEST(LatencyHistogram, P0IsMinAndP100IsMax) {
  const H h = record_all({777, 1234, 98765, 123457});  // none at a bucket midpoint
  EXPECT_EQ(h.percentile(0), 777.0);
  EXPECT_EQ(h.percentile(100), 123457.0);
  EXPECT_EQ(h.percentile(-5), 777.0);
  EXPECT_EQ(h.percentile(250), 123457.0);
  EXPECT_EQ(h.percentile(std::numeric_limits<double>::quiet_NaN()), 777.0);
  const H one = record_all({4321});
  for (double p : kPercentiles) EXPECT_EQ(one.percentile(p), 4321.0);
}

TEST(LatencyHistogram, MergeEqualsRecordingEverythingInOne) {
  const auto a = random_latencies(5000, 1);
  auto b = random_latencies(7000, 2);
  b.push_back(H::kMaxTrackableNs + 5);
  H merged = record_all(a);
  merged.merge(record_all(b));
  std::vector<uint64_t> all = a;
  all.insert(all.end(), b.begin(), b.end());
  const H one = record_all(all);
  EXPECT_EQ(merged.to_buckets(), one.to_buckets());
  EXPECT_EQ(merged.summary(), one.summary());
  EXPECT_EQ(merged.overflow_count(), 1u);

  H empty;
  empty.merge(one);
  EXPECT_EQ(empty.summary(), one.summary());
  merged.merge(H{});
  EXPECT_EQ(merged.summary(), one.summary());
}

TEST(LatencyHistogram, ResetEmptiesAndKeepsWorking) {
  H h = record_all(random_latencies(1000, 3));
  h.reset();
  EXPECT_EQ(h.summary(), LatencySummary{});
  EXPECT_EQ(h.to_buckets(), H{}.to_buckets());
  h.record(42);
  EXPECT_EQ(h.percentile(50), 42.0);
}

TEST(LatencyHistogram, BucketsRoundTrip) {
  for (const auto& samples : {random_latencies(20'000, 9), std::vector<uint64_t>{},
                              std::vector<uint64_t>{5, H::kMaxTrackableNs * 2}}) {
    const H h = record_all(samples);
    const HistogramBuckets b = h.to_buckets();
    EXPECT_EQ(b.count, samples.size());
    auto rebuilt = H::from_buckets(b);
    ASSERT_TRUE(rebuilt.has_value()) << rebuilt.error().message();
    EXPECT_EQ(rebuilt->summary(), h.summary());
    EXPECT_EQ(rebuilt->to_buckets(), b);
    EXPECT_EQ(rebuilt->overflow_count(), h.overflow_count());
  }
}

TEST(LatencyHistogram, BucketsOnlyListNonEmptyInOrder) {
  const HistogramBuckets b = record_all({3000, 10, 3000, 70000}).to_buckets();
  ASSERT_EQ(b.buckets.size(), 3u);
  EXPECT_EQ(b.buckets[0], (HistogramBuckets::Bucket{.index = 10, .count = 1}));
  EXPECT_EQ(b.buckets[1].count, 2u);
  EXPECT_LT(b.buckets[1].index, b.buckets[2].index);
}

TEST(LatencyHistogram, FromBucketsRejectsInconsistentData) {
  const HistogramBuckets good = record_all({1000, 2000, 3000}).to_buckets();
  auto rejected = [](HistogramBuckets b) {
    auto h = H::from_buckets(b);
    return !h.has_value() && h.error().code == Errc::kProtocol;
  };
  auto b = good;
  b.sub_bucket_bits = 5;
  EXPECT_TRUE(rejected(b));
  b = good;
  b.count = 4;
  EXPECT_TRUE(rejected(b));
  b = good;
  b.buckets[1].index = static_cast<uint32_t>(H::kBucketCount + 10);
  EXPECT_TRUE(rejected(b));
  b = good;
  std::swap(b.buckets[1].index, b.buckets[0].index);
  EXPECT_TRUE(rejected(b));
  b = good;
  b.min_ns = 1500;
  EXPECT_TRUE(rejected(b));
  b = good;
  b.sum_ns_lo = 1;
  EXPECT_TRUE(rejected(b));
  b = HistogramBuckets{};
  b.sub_bucket_bits = H::kSubBucketBits;
  b.max_trackable_ns = H::kMaxTrackableNs;
  b.buckets.push_back({.index = 1, .count = 1});
  EXPECT_TRUE(rejected(b));
}

}  // namespace
}  // namespace railcheck::verbs
