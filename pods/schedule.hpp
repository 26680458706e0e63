#pragma once
// Who tests whom, and when. A rail's members are numbered 0..n-1; a schedule is a list of
// rounds, each a set of (client, server) pairs in which every member appears at most once, so
// every NIC runs one test at a time and a round's pairs run in parallel.
//
//   all-pairs  every unordered pair exactly once, as a round-robin tournament (the circle
//              method): n-1 rounds for even n, n rounds for odd n (one member sits out each
//              round) - the minimum, since a round holds at most floor(n/2) pairs;
//   ring       member i with member i+1 (and n-1 with 0): 2 rounds for even n, 3 for odd;
//   pairs      (0,1), (2,3), ...: one round; with odd n the last member is left out.
// Roles alternate so that each member is client about as often as server.

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace railcheck::pods {

enum class Pattern : uint8_t { kAllPairs, kRing, kPairs };
std::string_view to_string(Pattern p) noexcept;  // "all-pairs", "ring", "pairs"
Result<Pattern> parse_pattern(std::string_view text);

struct Pair {
  uint32_t client = 0;
  uint32_t server = 0;
  bool operator==(const Pair&) const = default;
};

using Round = std::vector<Pair>;

// Rounds are computed when asked for, not stored: all-pairs over 1024 members is 523,776
// pairs (4 MiB a rail), and a coordinator holds every rail's schedule for the whole run.
class Schedule {
 public:
  Schedule() = default;
  Schedule(Pattern pattern, uint32_t n) : pattern_(pattern), n_(n) {}
  [[nodiscard]] size_t round_count() const noexcept;
  // Round k (k < round_count()), the same every time it is asked for.
  [[nodiscard]] Round round(size_t k) const;
  [[nodiscard]] size_t pair_count() const noexcept;

 private:
  Pattern pattern_ = Pattern::kAllPairs;
  uint32_t n_ = 0;
};

// The schedule for n members (n < 2: no rounds).
Schedule make_schedule(Pattern pattern, uint32_t n);
// make_schedule(pattern, n).pair_count().
size_t pair_count(Pattern pattern, uint32_t n) noexcept;

}  // namespace railcheck::pods
