#include "pods/schedule.hpp"

#include <fmt/format.h>

namespace railcheck::pods {
namespace {

// Who is client: a regular tournament on m (odd) vertices, where a plays client against the
// (m-1)/2 members that follow it, cyclically, m = n for odd n; for even n, m = n + 1 with the
// extra vertex removed, so each member is client n/2 or n/2 - 1 times.
Pair oriented(uint32_t a, uint32_t b, uint32_t n) {
  const uint32_t odd = n % 2 == 1 ? n : n + 1;
  uint32_t d = b + odd - a;  // a, b < odd: (b - a) mod odd without a division
  if (d >= odd) d -= odd;
  return d <= (odd - 1) / 2 ? Pair{a, b} : Pair{b, a};
}

// The circle method over m = n (even n) or n + 1 seats (odd n: whoever draws the extra "bye"
// seat sits the round out): member 0 stays put, the others move one seat on per round, and
// seat i plays seat m-1-i. In round r seat i >= 1 holds member (i - 1 - r mod m-1) + 1.
Round all_pairs_round(uint32_t n, size_t r) {
  const uint32_t m = n % 2 == 0 ? n : n + 1;
  const uint32_t turn = static_cast<uint32_t>(r % (m - 1));
  auto member = [&](uint32_t seat) -> uint32_t {
    if (seat == 0) return 0;
    uint32_t k = seat - 1 + (m - 1) - turn;  // < 2 (m - 1): mod m-1 without a division
    if (k >= m - 1) k -= m - 1;
    return k + 1;
  };
  Round round;
  round.reserve(m / 2);
  for (uint32_t i = 0; i < m / 2; ++i) {
    const uint32_t a = member(i);
    const uint32_t b = member(m - 1 - i);
    if (a >= n || b >= n) continue;  // the bye
    round.push_back(oriented(a, b, n));
  }
  return round;
}

// Edges (i, i+1): even i, then odd i; with odd n the closing edge (n-1, 0) is a third round.
Round ring_round(uint32_t n, size_t r) {
  if (n == 2) return {{0, 1}};
  Round round;
  if (r == 2) {
    round.push_back({n - 1, 0});
    return round;
  }
  for (uint32_t i = static_cast<uint32_t>(r); i < n; i += 2) {
    if (n % 2 == 1 && i == n - 1) continue;  // the closing edge
    round.push_back({i, (i + 1) % n});
  }
  return round;
}

Round pairs_round(uint32_t n) {
  Round round;
  for (uint32_t i = 0; i + 1 < n; i += 2) round.push_back({i, i + 1});
  return round;
}

}  // namespace

std::string_view to_string(Pattern p) noexcept {
  switch (p) {
    case Pattern::kAllPairs: return "all-pairs";
    case Pattern::kRing: return "ring";
    case Pattern::kPairs: return "pairs";
  }
  return "?";
}

Result<Pattern> parse_pattern(std::string_view text) {
  for (Pattern p : {Pattern::kAllPairs, Pattern::kRing, Pattern::kPairs}) {
    if (text == to_string(p)) return p;
  }
  return fail(Errc::kInvalidArgument, fmt::format("unknown pattern '{}'", text), "use all-pairs, ring or pairs");
}

size_t Schedule::round_count() const noexcept {
  if (n_ < 2) return 0;
  switch (pattern_) {
    case Pattern::kAllPairs: return n_ % 2 == 0 ? n_ - 1 : n_;
    case Pattern::kRing: return n_ == 2 ? 1 : n_ % 2 == 0 ? 2 : 3;
    case Pattern::kPairs: return 1;
  }
  return 0;
}

Round Schedule::round(size_t k) const {
  if (k >= round_count()) return {};
  switch (pattern_) {
    case Pattern::kAllPairs: return all_pairs_round(n_, k);
    case Pattern::kRing: return ring_round(n_, k);
    case Pattern::kPairs: return pairs_round(n_);
  }
  return {};
}

size_t Schedule::pair_count() const noexcept { return pods::pair_count(pattern_, n_); }

Schedule make_schedule(Pattern pattern, uint32_t n) { return {pattern, n}; }

size_t pair_count(Pattern pattern, uint32_t n) noexcept {
  if (n < 2) return 0;
  switch (pattern) {
    case Pattern::kAllPairs: return size_t{n} * (n - 1) / 2;
    case Pattern::kRing: return n == 2 ? 1 : n;
    case Pattern::kPairs: return n / 2;
  }
  return 0;
}

}  // namespace railcheck::pods
