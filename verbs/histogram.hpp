#pragma once
// LatencyHistogram: every latency sample of a run, in bounded memory, with exact min, max,
// mean and stdev and percentiles within a known error, in fixed-iteration and duration mode
// alike. perftest keeps one array slot per iteration, sorts it at the end, and in duration
// mode (-D) drops percentiles altogether; this replaces both with one fixed-size histogram.
//
// Bucket layout (HDR-histogram style, log-linear, values in ns):
//   - 0 .. 255 ns: one bucket per ns (exact);
//   - each octave [2^e, 2^(e+1)) above, e = 8 .. 36, split into 128 equal buckets of width
//     2^(e-7): relative bucket width <= 1/128;
//   - kMaxTrackableNs = 2^37 - 1 ns (~137 s) is the top; larger values are recorded as
//     kMaxTrackableNs (in the buckets and in min/max/sum) and counted in overflow_count().
//   kBucketCount = 3968 buckets of uint64_t: 31 KiB, allocated once in the constructor.
// Error bound: a percentile is the nearest-rank sample's bucket, reported as the bucket's
// midpoint clamped to [min, max]; it differs from the exact nearest-rank sample by less than
// 1/256 (0.4%) of that sample, and is exact below 256 ns. p = 0 and p = 100 are min and max.
// min, max, count and sum are exact; the variance comes from exact integer sums of x and x^2.
//
// Not thread-safe: keep one per thread or QP and merge() them at the end.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/error.hpp"

namespace railcheck::verbs {

// Exact 128-bit sums (GCC/Clang extension; __extension__ keeps -Wpedantic quiet).
__extension__ typedef unsigned __int128 HistogramUint128;

// The statistics a run reports. An empty histogram gives count 0 and every other field 0.0
// (never NaN, so it always serializes). stdev is the population standard deviation (divide by
// N): the samples are the whole run, not a draw from it.
struct LatencySummary {
  uint64_t count = 0;
  double min_ns = 0;
  double p50_ns = 0;
  double p90_ns = 0;
  double p99_ns = 0;
  double p999_ns = 0;
  double max_ns = 0;
  double mean_ns = 0;
  double stdev_ns = 0;

  bool operator==(const LatencySummary&) const = default;
};

// A histogram as plain data, for the wire and for JSON (the server sends its histogram to the
// client in bidirectional mode). 128-bit sums travel as hi/lo halves.
struct HistogramBuckets {
  struct Bucket {
    uint32_t index = 0;
    uint64_t count = 0;
    bool operator==(const Bucket&) const = default;
  };
  uint32_t sub_bucket_bits = 0;    // layout check: LatencyHistogram::kSubBucketBits
  uint64_t max_trackable_ns = 0;   // layout check: LatencyHistogram::kMaxTrackableNs
  uint64_t count = 0;
  uint64_t overflow_count = 0;
  uint64_t min_ns = 0;             // 0 when count is 0
  uint64_t max_ns = 0;
  uint64_t sum_ns_hi = 0, sum_ns_lo = 0;
  uint64_t sum_sq_ns2_hi = 0, sum_sq_ns2_lo = 0;
  std::vector<Bucket> buckets;     // non-empty buckets only, by increasing index

  bool operator==(const HistogramBuckets&) const = default;
};

class LatencyHistogram {
 public:
  static constexpr uint32_t kSubBucketBits = 7;                       // 128 buckets per octave
  static constexpr uint64_t kExactBelowNs = uint64_t{1} << (kSubBucketBits + 1);  // 256
  static constexpr uint32_t kTopBit = 36;                             // msb of the largest value
  static constexpr uint64_t kMaxTrackableNs = (uint64_t{1} << (kTopBit + 1)) - 1;  // ~137 s
  static constexpr size_t kBucketCount =
      ((kTopBit - kSubBucketBits + 1) << kSubBucketBits) + (size_t{1} << kSubBucketBits);  // 3968

  LatencyHistogram();  // allocates the buckets; the only allocation

  // Adds one sample. O(1), no allocation; the only branch (overflow) is never taken in practice.
  void record(uint64_t ns) noexcept {
    if (ns > kMaxTrackableNs) [[unlikely]] {
      ++overflow_count_;
      ns = kMaxTrackableNs;
    }
    ++counts_[bucket_index(ns)];
    ++count_;
    min_ns_ = std::min(min_ns_, ns);
    max_ns_ = std::max(max_ns_, ns);
    sum_ns_ += ns;
    sum_sq_ns2_ += static_cast<HistogramUint128>(ns) * ns;
  }

  // Adds every sample of `other` (same layout: every LatencyHistogram has it).
  void merge(const LatencyHistogram& other) noexcept;
  // Back to empty, keeping the allocation.
  void reset() noexcept;

  [[nodiscard]] uint64_t count() const noexcept { return count_; }
  [[nodiscard]] uint64_t overflow_count() const noexcept { return overflow_count_; }
  [[nodiscard]] uint64_t min_ns() const noexcept { return count_ == 0 ? 0 : min_ns_; }
  [[nodiscard]] uint64_t max_ns() const noexcept { return max_ns_; }
  [[nodiscard]] double mean_ns() const noexcept;
  [[nodiscard]] double stdev_ns() const noexcept;  // population (divide by N)

  // Nearest-rank percentile, p in [0, 100] (clamped; NaN counts as 0): the bucket holding the
  // ceil(p/100 * N)-th smallest sample, as its midpoint clamped to [min, max]; exactly min for
  // rank 1 and max for rank N. 0.0 when empty.
  [[nodiscard]] double percentile(double p) const noexcept;
  // One pass over the buckets for p50, p90, p99, p99.9.
  [[nodiscard]] LatencySummary summary() const noexcept;

  [[nodiscard]] HistogramBuckets to_buckets() const;
  // Rebuilds a histogram from to_buckets() output, e.g. received from a peer; kProtocol when
  // the layout differs or the data is inconsistent (counts that do not add up, bad indices).
  static Result<LatencyHistogram> from_buckets(const HistogramBuckets& buckets);

  // The bucket layout, exposed for tests and for readers of serialized buckets.
  static constexpr size_t bucket_index(uint64_t ns) noexcept {
    // ns | 255 keeps values below 256 on shift 0, where index == value.
    const uint32_t shift = static_cast<uint32_t>(63 - __builtin_clzll(ns | (kExactBelowNs - 1))) -
                           kSubBucketBits;
    return (size_t{shift} << kSubBucketBits) + static_cast<size_t>(ns >> shift);
  }
  static constexpr uint64_t bucket_lower_ns(size_t index) noexcept {
    const uint32_t shift = std::max<uint32_t>(static_cast<uint32_t>(index >> kSubBucketBits), 1) - 1;
    return static_cast<uint64_t>(index - (size_t{shift} << kSubBucketBits)) << shift;
  }
  static constexpr uint64_t bucket_width_ns(size_t index) noexcept {
    const uint32_t shift = std::max<uint32_t>(static_cast<uint32_t>(index >> kSubBucketBits), 1) - 1;
    return uint64_t{1} << shift;
  }

 private:
  // Smallest rank r (1-based) whose sample is at or above the p-th percentile.
  [[nodiscard]] uint64_t rank_of(double p) const noexcept;
  // The value reported for the sample of 1-based `rank`, given the bucket that holds it.
  [[nodiscard]] double value_at(uint64_t rank, size_t index) const noexcept;

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t overflow_count_ = 0;
  uint64_t min_ns_ = UINT64_MAX;
  uint64_t max_ns_ = 0;
  HistogramUint128 sum_ns_ = 0;
  HistogramUint128 sum_sq_ns2_ = 0;  // fits: 2^74 per sample, 2^54 samples
};

}  // namespace railcheck::verbs
