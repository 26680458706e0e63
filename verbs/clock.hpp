#pragma once
// The latency engine's timestamp source. Every ping-pong iteration reads it, so now() is
// inline and branches on one well-predicted bool instead of calling through a pointer.
//
// Two sources:
//   - the TSC (__rdtsc), calibrated against CLOCK_MONOTONIC_RAW at construction, used only
//     when the CPU says the TSC is invariant (CPUID 0x80000007 EDX[8], or constant_tsc and
//     nonstop_tsc in /proc/cpuinfo) and two calibration rounds agree within 1%;
//   - clock_gettime(CLOCK_MONOTONIC_RAW): exact ns, never slewed by NTP, 2.5x the cost.
// Measured (bench/measure_bench.cpp, docs/benchmarks.md; AMD EPYC Zen 3 VM, 2.45 GHz TSC):
// Clock::now() costs 11.4 ns on the TSC and 28.7 ns on MONOTONIC_RAW, the same as raw
// __rdtsc (11.5) and clock_gettime (27.4) in bench/clock_bench.cpp, so the bool costs
// nothing; a stamp + record() between other work costs ~0 ns more on the TSC and ~25 ns on
// MONOTONIC_RAW (the vDSO fences its rdtsc). So the TSC is the default, MONOTONIC_RAW the
// fallback. Plain rdtsc, not rdtscp (22.7 ns): it may run a few tens of cycles early, nothing
// against microsecond round trips.
//
// A Clock is a small value: copy it into each measuring thread. Ticks of one Clock are only
// comparable with ticks of the same Clock (or a copy of it).

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define RAILCHECK_HAVE_TSC 1
#else
#define RAILCHECK_HAVE_TSC 0
#endif

namespace railcheck::verbs {

enum class ClockSource { kTsc, kMonotonicRaw };

// The source a default Clock asks for: the cheaper of the two (see the numbers above).
inline constexpr ClockSource kDefaultClockSource = ClockSource::kTsc;

std::string_view to_string(ClockSource source) noexcept;  // "tsc", "CLOCK_MONOTONIC_RAW"

// Fixed-point products (GCC/Clang extension; __extension__ keeps -Wpedantic quiet).
__extension__ typedef unsigned __int128 ClockUint128;

class Clock {
 public:
  // Length of each of the two TSC calibration rounds.
  static constexpr uint32_t kDefaultCalibrationMs = 20;

  // Asks for `wanted`; a TSC that is not invariant or fails calibration falls back to
  // CLOCK_MONOTONIC_RAW, and fallback_reason() says why. With the TSC this blocks for two
  // calibration rounds (2 x calibration_ms); with MONOTONIC_RAW it returns at once.
  explicit Clock(ClockSource wanted = kDefaultClockSource,
                 uint32_t calibration_ms = kDefaultCalibrationMs);

  // Current time in ticks of this clock's source.
  [[nodiscard]] uint64_t now() const noexcept {
#if RAILCHECK_HAVE_TSC
    if (use_tsc_) return __rdtsc();
#endif
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
  }

  // A tick count (a difference of now() values) in ns, rounded to nearest. Fixed point
  // (ns per tick x 2^32) rather than double: one multiply, no int/float round trip, no branch
  // on the source (MONOTONIC_RAW's factor is exactly 2^32).
  [[nodiscard]] uint64_t to_ns(uint64_t ticks) const noexcept {
    return static_cast<uint64_t>((static_cast<ClockUint128>(ticks) * ns_per_tick_q32_ + kHalfQ32) >> 32);
  }
  // ns from `start` to `end` (two now() values); 0 if end precedes start.
  [[nodiscard]] uint64_t elapsed_ns(uint64_t start, uint64_t end) const noexcept {
    return end > start ? to_ns(end - start) : 0;
  }

  [[nodiscard]] ClockSource source() const noexcept {
    return use_tsc_ ? ClockSource::kTsc : ClockSource::kMonotonicRaw;
  }
  // Calibrated TSC frequency in Hz; 1e9 (one tick per ns) for MONOTONIC_RAW.
  [[nodiscard]] double ticks_per_second() const noexcept { return 1e9 / ns_per_tick_; }
  [[nodiscard]] double ns_per_tick() const noexcept { return ns_per_tick_; }
  // For the run record: "tsc (2.45 GHz)" or "CLOCK_MONOTONIC_RAW".
  [[nodiscard]] std::string description() const;
  // Why the TSC was asked for and not used, e.g. "TSC is not invariant ..."; empty otherwise.
  [[nodiscard]] const std::string& fallback_reason() const noexcept { return fallback_reason_; }

 private:
  static constexpr uint64_t kOneQ32 = uint64_t{1} << 32;
  static constexpr uint64_t kHalfQ32 = uint64_t{1} << 31;

  bool use_tsc_ = false;
  double ns_per_tick_ = 1.0;
  uint64_t ns_per_tick_q32_ = kOneQ32;  // ns_per_tick_ x 2^32, rounded
  std::string fallback_reason_;
};

// The pieces of the TSC decision, exposed so they are tested without the hardware.

// True when CPUID reports an invariant TSC (leaf 0x80000007, EDX bit 8).
bool cpuid_invariant_tsc() noexcept;
// True when the first "flags" line of /proc/cpuinfo text holds constant_tsc and nonstop_tsc.
bool cpuinfo_invariant_tsc(std::string_view cpuinfo_text) noexcept;
// Empty when two calibration rounds (in Hz) are plausible (100 MHz .. 20 GHz) and agree
// within 1%; otherwise what is wrong, for fallback_reason().
std::string tsc_calibration_problem(double first_hz, double second_hz);

}  // namespace railcheck::verbs
