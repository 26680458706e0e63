#include "verbs/histogram.hpp"

#include <array>
#include <cmath>
#include <string>

namespace railcheck::verbs {
namespace {

// p * N / 100 carries a few ulps of rounding (and p itself, e.g. 99.9, is inexact); shaving
// this relative amount off before ceil keeps an exact integer rank from becoming rank + 1.
constexpr double kRankSlack = 1e-14;

constexpr uint64_t hi_of(HistogramUint128 v) noexcept { return static_cast<uint64_t>(v >> 64); }
constexpr uint64_t lo_of(HistogramUint128 v) noexcept { return static_cast<uint64_t>(v); }
constexpr HistogramUint128 join(uint64_t hi, uint64_t lo) noexcept {
  return (static_cast<HistogramUint128>(hi) << 64) | lo;
}

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBucketCount, 0) {}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  if (other.count_ == 0) return;
  for (size_t i = bucket_index(other.min_ns_); i <= bucket_index(other.max_ns_); ++i) {
    counts_[i] += other.counts_[i];
  }
  count_ += other.count_;
  overflow_count_ += other.overflow_count_;
  min_ns_ = std::min(min_ns_, other.min_ns_);
  max_ns_ = std::max(max_ns_, other.max_ns_);
  sum_ns_ += other.sum_ns_;
  sum_sq_ns2_ += other.sum_sq_ns2_;
}

void LatencyHistogram::reset() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  overflow_count_ = 0;
  min_ns_ = UINT64_MAX;
  max_ns_ = 0;
  sum_ns_ = 0;
  sum_sq_ns2_ = 0;
}

double LatencyHistogram::mean_ns() const noexcept {
  if (count_ == 0) return 0.0;
  return static_cast<double>(static_cast<long double>(sum_ns_) / static_cast<long double>(count_));
}

double LatencyHistogram::stdev_ns() const noexcept {
  if (count_ == 0) return 0.0;
  // Exact integer work around m = floor(mean), r = sum - m*N (0 <= r < N):
  //   sum((x - m)^2) = S2 - m*(S1 + r)            (exact, and >= 0)
  //   sum((x - mean)^2) = sum((x - m)^2) - r^2/N  (mean - m = r/N)
  // so the only rounding is in the final small subtraction: no cancellation of big numbers.
  const HistogramUint128 n = count_;
  const HistogramUint128 m = sum_ns_ / n;
  const HistogramUint128 r = sum_ns_ - m * n;
  const HistogramUint128 around_m = sum_sq_ns2_ - m * (sum_ns_ + r);
  const long double rl = static_cast<long double>(r);
  const long double nl = static_cast<long double>(count_);
  const long double squares = static_cast<long double>(around_m) - rl * rl / nl;
  return squares <= 0 ? 0.0 : static_cast<double>(std::sqrt(squares / nl));
}

uint64_t LatencyHistogram::rank_of(double p) const noexcept {
  if (!(p > 0)) p = 0;  // also NaN
  if (p > 100) p = 100;
  double x = p * static_cast<double>(count_) / 100.0;
  x -= x * kRankSlack;
  const auto rank = static_cast<uint64_t>(std::ceil(x));
  return std::clamp<uint64_t>(rank, 1, count_);
}

double LatencyHistogram::value_at(uint64_t rank, size_t index) const noexcept {
  if (rank <= 1) return static_cast<double>(min_ns_);
  if (rank >= count_) return static_cast<double>(max_ns_);
  const double mid = static_cast<double>(bucket_lower_ns(index)) +
                     static_cast<double>(bucket_width_ns(index) - 1) / 2.0;
  return std::clamp(mid, static_cast<double>(min_ns_), static_cast<double>(max_ns_));
}

double LatencyHistogram::percentile(double p) const noexcept {
  if (count_ == 0) return 0.0;
  const uint64_t rank = rank_of(p);
  uint64_t seen = 0;
  const size_t last = bucket_index(max_ns_);
  for (size_t i = bucket_index(min_ns_); i <= last; ++i) {
    seen += counts_[i];
    if (seen >= rank) return value_at(rank, i);
  }
  return static_cast<double>(max_ns_);  // unreachable while the counts add up
}

LatencySummary LatencyHistogram::summary() const noexcept {
  LatencySummary s;
  if (count_ == 0) return s;
  s.count = count_;
  s.min_ns = static_cast<double>(min_ns_);
  s.max_ns = static_cast<double>(max_ns_);
  s.mean_ns = mean_ns();
  s.stdev_ns = stdev_ns();

  const std::array<uint64_t, 4> ranks{rank_of(50), rank_of(90), rank_of(99), rank_of(99.9)};
  const std::array<double*, 4> out{&s.p50_ns, &s.p90_ns, &s.p99_ns, &s.p999_ns};
  size_t next = 0;
  uint64_t seen = 0;
  const size_t last = bucket_index(max_ns_);
  for (size_t i = bucket_index(min_ns_); i <= last && next < ranks.size(); ++i) {
    seen += counts_[i];
    while (next < ranks.size() && seen >= ranks[next]) {
      *out[next] = value_at(ranks[next], i);
      ++next;
    }
  }
  return s;
}

HistogramBuckets LatencyHistogram::to_buckets() const {
  HistogramBuckets b{
      .sub_bucket_bits = kSubBucketBits,
      .max_trackable_ns = kMaxTrackableNs,
      .count = count_,
      .overflow_count = overflow_count_,
      .min_ns = min_ns(),
      .max_ns = max_ns_,
      .sum_ns_hi = hi_of(sum_ns_),
      .sum_ns_lo = lo_of(sum_ns_),
      .sum_sq_ns2_hi = hi_of(sum_sq_ns2_),
      .sum_sq_ns2_lo = lo_of(sum_sq_ns2_),
      .buckets = {},
  };
  if (count_ == 0) return b;
  const size_t last = bucket_index(max_ns_);
  for (size_t i = bucket_index(min_ns_); i <= last; ++i) {
    if (counts_[i] != 0) b.buckets.push_back({.index = static_cast<uint32_t>(i), .count = counts_[i]});
  }
  return b;
}

Result<LatencyHistogram> LatencyHistogram::from_buckets(const HistogramBuckets& b) {
  const std::string what = "latency histogram from peer";
  if (b.sub_bucket_bits != kSubBucketBits || b.max_trackable_ns != kMaxTrackableNs) {
    return fail(Errc::kProtocol, what,
                "bucket layout differs (sub_bucket_bits " + std::to_string(b.sub_bucket_bits) +
                    ", max_trackable_ns " + std::to_string(b.max_trackable_ns) +
                    "): run the same railcheck version on both ends");
  }
  if (b.overflow_count > b.count) return fail(Errc::kProtocol, what, "overflow_count exceeds count");
  if (b.count == 0) {
    if (!b.buckets.empty() || b.min_ns != 0 || b.max_ns != 0 || b.sum_ns_hi != 0 || b.sum_ns_lo != 0 ||
        b.sum_sq_ns2_hi != 0 || b.sum_sq_ns2_lo != 0) {
      return fail(Errc::kProtocol, what, "count is 0 but the histogram holds data");
    }
    return LatencyHistogram{};
  }
  if (b.min_ns > b.max_ns || b.max_ns > kMaxTrackableNs) {
    return fail(Errc::kProtocol, what, "min_ns/max_ns out of order or out of range");
  }
  if (b.buckets.empty() || b.buckets.front().index != bucket_index(b.min_ns) ||
      b.buckets.back().index != bucket_index(b.max_ns)) {
    return fail(Errc::kProtocol, what, "first/last bucket do not hold min_ns/max_ns");
  }

  LatencyHistogram h;
  uint64_t total = 0;
  int64_t previous = -1;
  for (const auto& bucket : b.buckets) {
    if (static_cast<int64_t>(bucket.index) <= previous || bucket.index >= kBucketCount || bucket.count == 0 ||
        __builtin_add_overflow(total, bucket.count, &total)) {
      return fail(Errc::kProtocol, what,
                  "bucket " + std::to_string(bucket.index) + ": out of order, empty or overflowing");
    }
    previous = bucket.index;
    h.counts_[bucket.index] = bucket.count;
  }
  if (total != b.count) {
    return fail(Errc::kProtocol, what,
                "bucket counts add up to " + std::to_string(total) + ", not count " + std::to_string(b.count));
  }
  h.count_ = b.count;
  h.overflow_count_ = b.overflow_count;
  h.min_ns_ = b.min_ns;
  h.max_ns_ = b.max_ns;
  h.sum_ns_ = join(b.sum_ns_hi, b.sum_ns_lo);
  h.sum_sq_ns2_ = join(b.sum_sq_ns2_hi, b.sum_sq_ns2_lo);
  const HistogramUint128 n = b.count;
  if (h.sum_ns_ < n * b.min_ns || h.sum_ns_ > n * b.max_ns) {
    return fail(Errc::kProtocol, what, "sum_ns is outside count * [min_ns, max_ns]");
  }
  return h;
}

}  // namespace railcheck::verbs
