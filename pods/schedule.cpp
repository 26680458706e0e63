#include "pods/schedule.hpp"

#include <fmt/format.h>

#include <numeric>

namespace railcheck::pods {
namespace {

constexpr uint32_t kBye = UINT32_MAX;

// Who is client: a regular tournament on m (odd) vertices, where a plays client against the
// (m-1)/2 members that follow it, cyclically, m = n for odd n; for even n, m = n + 1 with the
// extra vertex removed, so each member is client n/2 or n/2 - 1 times.
Pair oriented(uint32_t a, uint32_t b, uint32_t n) {
  const uint32_t odd = n % 2 == 1 ? n : n + 1;
  const uint32_t d = (b + odd - a) % odd;
  return d <= (odd - 1) / 2 ? Pair{a, b} : Pair{b, a};
}

// The circle method: member 0 stays put, the others rotate one seat per round; seat i plays
// seat m-1-i. With odd n a "bye" seat is added and whoever draws it sits the round out.
Schedule all_pairs(uint32_t n) {
  const uint32_t m = n % 2 == 0 ? n : n + 1;
  std::vector<uint32_t> seat(m);
  std::iota(seat.begin(), seat.end(), 0u);
  if (m != n) seat[m - 1] = kBye;
  Schedule s;
  s.rounds.reserve(m - 1);
  for (uint32_t r = 0; r + 1 < m; ++r) {
    Round round;
    round.reserve(m / 2);
    for (uint32_t i = 0; i < m / 2; ++i) {
      uint32_t a = seat[i];
      uint32_t b = seat[m - 1 - i];
      if (a == kBye || b == kBye) continue;
      round.push_back(oriented(a, b, n));
    }
    s.rounds.push_back(std::move(round));
    // Rotate seats 1..m-1 one step clockwise.
    const uint32_t last = seat[m - 1];
    for (uint32_t i = m - 1; i > 1; --i) seat[i] = seat[i - 1];
    seat[1] = last;
  }
  return s;
}

Schedule ring(uint32_t n) {
  Schedule s;
  if (n == 2) {
    s.rounds.push_back({{0, 1}});
    return s;
  }
  // Edges (i, i+1): even i, then odd i; with odd n the closing edge (n-1, 0) needs a third round.
  Round even, odd, closing;
  for (uint32_t i = 0; i < n; ++i) {
    const Pair p{i, (i + 1) % n};
    if (n % 2 == 1 && i == n - 1) closing.push_back(p);
    else (i % 2 == 0 ? even : odd).push_back(p);
  }
  for (Round* r : {&even, &odd, &closing}) {
    if (!r->empty()) s.rounds.push_back(std::move(*r));
  }
  return s;
}

Schedule pairs(uint32_t n) {
  Schedule s;
  Round round;
  for (uint32_t i = 0; i + 1 < n; i += 2) round.push_back({i, i + 1});
  s.rounds.push_back(std::move(round));
  return s;
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

size_t Schedule::pair_count() const noexcept {
  size_t n = 0;
  for (const Round& r : rounds) n += r.size();
  return n;
}

Schedule make_schedule(Pattern pattern, uint32_t n) {
  if (n < 2) return {};
  switch (pattern) {
    case Pattern::kAllPairs: return all_pairs(n);
    case Pattern::kRing: return ring(n);
    case Pattern::kPairs: return pairs(n);
  }
  return {};
}

}  // namespace railcheck::pods

namespace railcheck::pods {

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
