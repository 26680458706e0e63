#include "verbs/clock.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#if RAILCHECK_HAVE_TSC
#include <cpuid.h>
#endif

namespace railcheck::verbs {
namespace {

constexpr double kMinTscHz = 100e6;
constexpr double kMaxTscHz = 20e9;
constexpr double kMaxRoundDisagreement = 0.01;
// Bracketed reads per calibration end point; the tightest bracket wins, so a vCPU preempted
// between rdtsc and clock_gettime does not skew the result.
constexpr int kBracketTries = 7;

uint64_t monotonic_raw_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

#if RAILCHECK_HAVE_TSC
struct ClockPair {
  double tsc = 0;   // midpoint of the two rdtsc reads around clock_gettime
  uint64_t ns = 0;  // CLOCK_MONOTONIC_RAW
};

ClockPair read_pair() noexcept {
  ClockPair best;
  uint64_t best_span = UINT64_MAX;
  for (int i = 0; i < kBracketTries; ++i) {
    const uint64_t before = __rdtsc();
    const uint64_t ns = monotonic_raw_ns();
    const uint64_t after = __rdtsc();
    if (after >= before && after - before < best_span) {
      best_span = after - before;
      best = {.tsc = static_cast<double>(before) + static_cast<double>(after - before) / 2.0, .ns = ns};
    }
  }
  return best;
}

// TSC ticks per second over one interval of `ms`, measured against CLOCK_MONOTONIC_RAW;
// 0 when the TSC or the clock did not advance.
double calibration_round_hz(uint32_t ms) noexcept {
  const ClockPair start = read_pair();
  timespec pause{.tv_sec = static_cast<time_t>(ms / 1000), .tv_nsec = static_cast<long>(ms % 1000) * 1'000'000};
  while (nanosleep(&pause, &pause) != 0) {
  }
  const ClockPair end = read_pair();
  if (end.ns <= start.ns || end.tsc <= start.tsc) return 0;
  return (end.tsc - start.tsc) * 1e9 / static_cast<double>(end.ns - start.ns);
}
#endif

bool has_word(std::string_view line, std::string_view word) noexcept {
  size_t pos = 0;
  while ((pos = line.find(word, pos)) != std::string_view::npos) {
    const bool starts = pos == 0 || line[pos - 1] == ' ' || line[pos - 1] == '\t' || line[pos - 1] == ':';
    const size_t after = pos + word.size();
    const bool ends = after == line.size() || line[after] == ' ' || line[after] == '\t' || line[after] == '\n';
    if (starts && ends) return true;
    pos = after;
  }
  return false;
}

std::string read_proc_cpuinfo() {
  std::ifstream in("/proc/cpuinfo");
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

std::string format_hz(double hz) {
  char text[64];
  std::snprintf(text, sizeof text, "%.4f GHz", hz / 1e9);
  return text;
}

}  // namespace

std::string_view to_string(ClockSource source) noexcept {
  switch (source) {
    case ClockSource::kTsc: return "tsc";
    case ClockSource::kMonotonicRaw: return "CLOCK_MONOTONIC_RAW";
  }
  return "unknown";
}

bool cpuid_invariant_tsc() noexcept {
#if RAILCHECK_HAVE_TSC
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(0x80000000u, &eax, &ebx, &ecx, &edx) == 0 || eax < 0x80000007u) return false;
  if (__get_cpuid(0x80000007u, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (edx & (1u << 8)) != 0;
#else
  return false;
#endif
}

bool cpuinfo_invariant_tsc(std::string_view cpuinfo_text) noexcept {
  size_t pos = 0;
  while (pos < cpuinfo_text.size()) {
    size_t end = cpuinfo_text.find('\n', pos);
    if (end == std::string_view::npos) end = cpuinfo_text.size();
    const std::string_view line = cpuinfo_text.substr(pos, end - pos);
    if (line.starts_with("flags")) {
      return has_word(line, "constant_tsc") && has_word(line, "nonstop_tsc");
    }
    pos = end + 1;
  }
  return false;
}

std::string tsc_calibration_problem(double first_hz, double second_hz) {
  for (double hz : {first_hz, second_hz}) {
    if (!(hz >= kMinTscHz && hz <= kMaxTscHz)) {
      return "TSC calibration gave an implausible " + format_hz(hz) +
             " (TSC stopped, or the clocks are emulated)";
    }
  }
  if (std::fabs(first_hz - second_hz) > kMaxRoundDisagreement * std::fmin(first_hz, second_hz)) {
    return "TSC calibration rounds disagree by more than 1%: " + format_hz(first_hz) + " vs " +
           format_hz(second_hz) + " (unstable TSC, e.g. qemu TCG or a migrating VM)";
  }
  return {};
}

Clock::Clock(ClockSource wanted, uint32_t calibration_ms) {
  if (wanted != ClockSource::kTsc) return;
#if RAILCHECK_HAVE_TSC
  if (!cpuid_invariant_tsc() && !cpuinfo_invariant_tsc(read_proc_cpuinfo())) {
    fallback_reason_ =
        "TSC is not invariant (CPUID 0x80000007 EDX[8] clear, and /proc/cpuinfo lacks "
        "constant_tsc + nonstop_tsc)";
    return;
  }
  if (calibration_ms == 0) calibration_ms = 1;
  const double first_hz = calibration_round_hz(calibration_ms);
  const double second_hz = calibration_round_hz(calibration_ms);
  fallback_reason_ = tsc_calibration_problem(first_hz, second_hz);
  if (!fallback_reason_.empty()) return;
  use_tsc_ = true;
  ns_per_tick_ = 2e9 / (first_hz + second_hz);
  ns_per_tick_q32_ = static_cast<uint64_t>(std::llround(ns_per_tick_ * static_cast<double>(kOneQ32)));
#else
  (void)calibration_ms;
  fallback_reason_ = "no TSC on this architecture";
#endif
}

std::string Clock::description() const {
  if (!use_tsc_) return std::string(to_string(ClockSource::kMonotonicRaw));
  char text[64];
  std::snprintf(text, sizeof text, "tsc (%.2f GHz)", ticks_per_second() / 1e9);
  return text;
}

}  // namespace railcheck::verbs
