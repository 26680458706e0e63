#pragma once
// Exact medians of many groups of values at once, in a few passes over the values and little
// memory: radix selection. A table of millions of rows cannot copy every group's values to sort
// them (64 MiB for 8 M doubles); this reads them again instead, a pass at a time, and keeps
// only a histogram per group (at most 4096 counters) and, at the end, the few values around
// each median.
//
//   1. Each group starts from its count, minimum and maximum. A group of one value (or of
//      equal values) is done; a small one is gathered whole in the next pass. A large one
//      with a sample of its values (every k-th, say) starts from the sample's middle: the
//      first pass counts the values below that window and gathers those in it, and when both
//      middle ranks fall in it (they do, but for a 5-sigma miss) that one pass is the last.
//      A window that missed costs two passes more, never a wrong median.
//   2. A pass counts each group's values in up to 4096 buckets of their key range (keys order
//      as the values do). The buckets holding the two middle ranks (one for an odd count)
//      become the new range, narrower by up to 4096x. A range whose values all turned out
//      equal is done.
//   3. When the middle ranks fall in different buckets, the lower one is the largest value of
//      its bucket and the upper one the smallest of its: one more pass finds both.
//   4. A range of few values (kGatherMax) is gathered, within a budget per pass, and the
//      ranks are selected there (nth_element).
//
// Typical data takes one pass with a sample, two without (histogram, gather); any data at
// most about eight (a key has 64 bits, a pass resolves 12). The median is the middle value, or the mean of the middle two
// for an even count, exactly as median() computes it; 0 for an empty group. Values must not be
// NaN (JSON has none); -0 counts as 0.
//
//   MedianSelect sel;
//   for (auto& g : groups) sel.add(g.count, g.min, g.max);
//   while (!sel.done()) sel.pass([&](auto&& value) { for (...) value(group, v); });
//   sel.median(group);

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace railcheck::reports {

class MedianSelect {
 public:
  static constexpr size_t kGatherMax = size_t{1} << 16;     // values gathered per group
  static constexpr size_t kGatherBudget = size_t{1} << 20;  // values gathered per pass (8 MiB)

  // A group (numbered from 0 in the order added) of `count` values between min and max, and
  // optionally a sample of them (spread over the values, not the first few).
  void add(size_t count, double min, double max, std::span<const double> sample = {});
  [[nodiscard]] size_t size() const noexcept { return groups_.size(); }
  [[nodiscard]] bool done() const noexcept { return pending_ == 0; }
  // One pass: feed(value) must call value(group, v) for every value of every group, the same
  // values each pass (in any order).
  template <typename Feed>
  void pass(Feed&& feed) {
    begin_pass();
    feed([this](size_t group, double v) __attribute__((always_inline)) { take(group, v); });
    end_pass();
  }
  [[nodiscard]] double median(size_t group) const { return groups_[group].result; }
  [[nodiscard]] size_t passes() const noexcept { return passes_; }

 private:
  enum class State : uint8_t {
    kDone,
    kGuess,   // count the values below [guess_lo, guess_hi], gather those in it
    kCount,   // a histogram of [lo, hi]
    kEnds,    // the largest key in [lo, hi_a] and the smallest in [lo_b, hi]
    kGather,  // every value in [lo, hi] (scheduled this pass)
    kWait,    // to be gathered, in a later pass (over this pass's budget)
  };
  struct Group {
    State state = State::kDone;
    size_t count = 0;            // values in the group
    size_t below = 0;            // values with keys below lo
    uint64_t lo = 0, hi = 0;     // the key range holding both middle ranks
    uint64_t hi_a = 0, lo_b = 0;  // kEnds: the two buckets' bounds
    unsigned shift = 0;          // kCount: bucket = (key - lo) >> shift
    size_t in_range = 0;         // kGather/kWait: values in [lo, hi]
    uint64_t seen_lo = 0, seen_hi = 0;  // kCount: in-range keys seen; kEnds: the answers
    bool seen_a = false, seen_b = false;  // kEnds: whether seen_lo, seen_hi are set
    uint64_t guess_lo = 0, guess_hi = 0;  // kGuess: the sample's window
    size_t below_guess = 0, in_guess = 0;
    bool overflow = false;  // kGuess: more values in the window than were gathered
    std::vector<uint32_t> hist;
    std::vector<double> values;
    double result = 0;
  };

  // Keys compare as the values do: the sign bit flipped for positives, every bit for negatives.
  static uint64_t key(double v) noexcept {
    if (v == 0) v = 0;  // -0 and 0 are one value
    const auto u = std::bit_cast<uint64_t>(v);
    return (u >> 63) != 0 ? ~u : u | (uint64_t{1} << 63);
  }
  static double value(uint64_t key) noexcept;
  void finish(Group& g, double result);
  void begin_pass();
  void end_pass();
  [[gnu::always_inline]] void take(size_t group, double v) {
    Group& g = groups_[group];
    if (g.state == State::kDone || g.state == State::kWait) return;
    const uint64_t k = key(v);
    if (k < g.lo || k > g.hi) return;
    switch (g.state) {
      case State::kGuess:
        if (k < g.guess_lo) {
          ++g.below_guess;
        } else if (k <= g.guess_hi) {
          ++g.in_guess;
          if (k < g.seen_lo) g.seen_lo = k;
          if (k > g.seen_hi) g.seen_hi = k;
          if (g.values.size() < kGatherMax && gathered_ < kGatherBudget) {
            g.values.push_back(v);
            ++gathered_;
          } else {
            g.overflow = true;
          }
        }
        break;
      case State::kCount:
        ++g.hist[(k - g.lo) >> g.shift];
        if (k < g.seen_lo) g.seen_lo = k;
        if (k > g.seen_hi) g.seen_hi = k;
        break;
      case State::kEnds:
        if (k <= g.hi_a && (!g.seen_a || k > g.seen_lo)) {
          g.seen_lo = k;
          g.seen_a = true;
        }
        if (k >= g.lo_b && (!g.seen_b || k < g.seen_hi)) {
          g.seen_hi = k;
          g.seen_b = true;
        }
        break;
      case State::kGather: g.values.push_back(v); break;
      default: break;
    }
  }

  static double middle(std::vector<double>& values, size_t a, size_t b);

  std::vector<Group> groups_;
  size_t pending_ = 0;
  size_t gathered_ = 0;  // kGuess values gathered this pass
  size_t passes_ = 0;
};

}  // namespace railcheck::reports
