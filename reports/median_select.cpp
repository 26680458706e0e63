#include "reports/median_select.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace railcheck::reports {

double MedianSelect::value(uint64_t key) noexcept {
  return std::bit_cast<double>((key >> 63) != 0 ? key & ~(uint64_t{1} << 63) : ~key);
}

void MedianSelect::add(size_t count, double min, double max, std::span<const double> sample) {
  Group g;
  g.count = count;
  if (count == 0) {
    groups_.push_back(std::move(g));
    return;
  }
  if (key(min) == key(max)) {
    g.result = min;
    groups_.push_back(std::move(g));
    return;
  }
  g.lo = key(min);
  g.hi = key(max);
  g.in_range = count;
  g.state = count <= kGatherMax ? State::kWait : State::kCount;
  if (g.state == State::kCount && sample.size() >= 64) {
    // The sample's middle, widened to 5 standard deviations of the median's rank in it.
    std::vector<double> s(sample.begin(), sample.end());
    std::ranges::sort(s);
    const size_t m = s.size();
    const size_t w = static_cast<size_t>(2.5 * std::sqrt(static_cast<double>(m))) + 2;
    g.guess_lo = key(s[m / 2 > w ? m / 2 - w : 0]);
    g.guess_hi = key(s[std::min(m - 1, m / 2 + w)]);
    g.state = State::kGuess;
  }
  groups_.push_back(std::move(g));
  ++pending_;
}

// The mean of the values of ranks a and b (b = a or a + 1) among `values`.
double MedianSelect::middle(std::vector<double>& v, size_t a, size_t b) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(a), v.end());
  const double va = v[a];
  if (b == a) return va;
  const double vb = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(a) + 1, v.end());
  return (va + vb) / 2;
}

void MedianSelect::finish(Group& g, double result) {
  g.result = result;
  g.state = State::kDone;
  std::vector<uint32_t>().swap(g.hist);
  std::vector<double>().swap(g.values);
  --pending_;
}

void MedianSelect::begin_pass() {
  ++passes_;
  size_t budget = kGatherBudget;
  gathered_ = 0;
  for (Group& g : groups_) {
    switch (g.state) {
      case State::kGuess:
        g.below_guess = g.in_guess = 0;
        g.seen_lo = UINT64_MAX;
        g.seen_hi = 0;
        g.overflow = false;
        g.values.clear();
        break;
      case State::kCount: {
        const auto width = static_cast<unsigned>(std::bit_width(g.hi - g.lo));
        constexpr unsigned kBits = 12;
        g.shift = width > kBits ? width - kBits : 0;
        g.hist.assign(((g.hi - g.lo) >> g.shift) + 1, 0);
        g.seen_lo = UINT64_MAX;
        g.seen_hi = 0;
        break;
      }
      case State::kEnds:
        g.seen_a = g.seen_b = false;
        break;
      case State::kWait:
        if (g.in_range <= budget) {
          budget -= g.in_range;
          g.state = State::kGather;
          g.values.reserve(g.in_range);
        }
        break;
      default: break;
    }
  }
}

void MedianSelect::end_pass() {
  for (Group& g : groups_) {
    // The two middle ranks, counted from lo: equal for an odd count.
    const size_t a = (g.count - 1) / 2 - g.below;
    const size_t b = g.count / 2 - g.below;
    switch (g.state) {
      case State::kGuess: {
        const size_t below = g.below_guess;  // g.below is 0: a and b are ranks in the group
        if (below <= a && below + g.in_guess > b) {  // both middle ranks are in the window
          if (!g.overflow) {
            finish(g, middle(g.values, a - below, b - below));
            break;
          }
          if (g.seen_lo == g.seen_hi) {
            finish(g, value(g.seen_lo));
            break;
          }
          g.lo = g.seen_lo;
          g.hi = g.seen_hi;
          g.below = below;
          g.in_range = g.in_guess;
          g.state = g.in_guess <= kGatherMax ? State::kWait : State::kCount;
        } else {
          g.state = State::kCount;  // the window missed: the whole range, as without a sample
        }
        std::vector<double>().swap(g.values);
        break;
      }
      case State::kGather:
        finish(g, middle(g.values, a, b));
        break;
      case State::kEnds:
        finish(g, (value(g.seen_lo) + value(g.seen_hi)) / 2);
        break;
      case State::kCount: {
        if (g.seen_lo == g.seen_hi) {  // every value in the range is one value
          finish(g, value(g.seen_lo));
          break;
        }
        size_t before = 0, bucket_a = 0;
        while (before + g.hist[bucket_a] <= a) before += g.hist[bucket_a++];
        size_t upto_b = before, bucket_b = bucket_a;
        while (upto_b + g.hist[bucket_b] <= b) upto_b += g.hist[bucket_b++];
        const uint64_t lo = g.lo;
        auto bucket_lo = [&](size_t i) { return std::max(g.seen_lo, lo + (uint64_t{i} << g.shift)); };
        auto bucket_hi = [&](size_t i) {
          const uint64_t first = lo + (uint64_t{i} << g.shift);
          const uint64_t span = (uint64_t{1} << g.shift) - 1;
          const uint64_t last = first > UINT64_MAX - span ? UINT64_MAX : first + span;
          return std::min({g.seen_hi, g.hi, last});
        };
        g.below += before;
        if (bucket_a != bucket_b) {
          // Rank a is the last value of its bucket, rank b the first of the next non-empty one.
          g.lo = bucket_lo(bucket_a);
          g.hi_a = bucket_hi(bucket_a);
          g.lo_b = bucket_lo(bucket_b);
          g.hi = bucket_hi(bucket_b);
          g.state = State::kEnds;
        } else {
          g.lo = bucket_lo(bucket_a);
          g.hi = bucket_hi(bucket_a);
          g.in_range = g.hist[bucket_a];
          if (g.lo == g.hi) finish(g, value(g.lo));
          else if (g.in_range <= kGatherMax) g.state = State::kWait;
        }
        std::vector<uint32_t>().swap(g.hist);
        break;
      }
      default: break;
    }
  }
}

}  // namespace railcheck::reports
