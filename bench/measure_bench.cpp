// Cost of the latency engine's bookkeeping: verbs::Clock::now() per source, recording a sample
// into verbs::LatencyHistogram, one ping-pong iteration's timestamps + record, and the
// end-of-run work (summary, merge, serialization). The raw clocks underneath (clock_gettime,
// __rdtsc, rdtscp) are measured in clock_bench.cpp; compare Clock/now/* with those.
// Results and conclusions: docs/benchmarks.md, "Measurement path".
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "verbs/clock.hpp"
#include "verbs/histogram.hpp"

namespace {

using railcheck::verbs::Clock;
using railcheck::verbs::ClockSource;
using railcheck::verbs::LatencyHistogram;

// Calibrated once per process and source, as the engine does once per run.
const Clock& clock_for(ClockSource source) {
  static const Clock tsc(ClockSource::kTsc);
  static const Clock raw(ClockSource::kMonotonicRaw);
  return source == ClockSource::kTsc ? tsc : raw;
}

void label_clock(benchmark::State& state, const Clock& clock) {
  state.SetLabel(clock.fallback_reason().empty() ? clock.description()
                                                 : clock.description() + " (fallback)");
}

// Realistic RDMA round trips, generated up front so the RNG is not measured: lognormal with
// median 6 us, ~2..50 us; 64 Ki of them so the bucket pattern does not repeat too soon.
constexpr size_t kSampleCount = size_t{1} << 16;
const std::vector<uint64_t>& latencies() {
  static const std::vector<uint64_t> values = [] {
    std::mt19937_64 rng(2024);
    std::lognormal_distribution<double> dist(std::log(6000.0), 0.8);
    std::vector<uint64_t> v(kSampleCount);
    for (auto& x : v) x = static_cast<uint64_t>(dist(rng));
    return v;
  }();
  return values;
}

LatencyHistogram filled(size_t samples) {
  LatencyHistogram h;
  const auto& v = latencies();
  for (size_t i = 0; i < samples; ++i) h.record(v[i % kSampleCount] + i % 97);
  return h;
}

template <ClockSource kSource>
void BM_clock_now(benchmark::State& state) {
  const Clock clock = clock_for(kSource);
  for (auto _ : state) benchmark::DoNotOptimize(clock.now());
  label_clock(state, clock);
}
BENCHMARK(BM_clock_now<ClockSource::kTsc>)->Name("Clock/now/tsc");
BENCHMARK(BM_clock_now<ClockSource::kMonotonicRaw>)->Name("Clock/now/MONOTONIC_RAW");

void BM_record(benchmark::State& state) {
  LatencyHistogram h;
  const uint64_t* v = latencies().data();
  size_t i = 0;
  for (auto _ : state) {
    h.record(v[i++ & (kSampleCount - 1)]);
  }
  benchmark::DoNotOptimize(h.count());
}
BENCHMARK(BM_record)->Name("LatencyHistogram/record");

// One ping-pong iteration as perftest does it: a stamp before the post, a stamp after the
// completion, one sample.
template <ClockSource kSource>
void BM_iteration_two_stamps(benchmark::State& state) {
  const Clock clock = clock_for(kSource);
  LatencyHistogram h;
  for (auto _ : state) {
    const uint64_t start = clock.now();
    const uint64_t end = clock.now();
    h.record(clock.elapsed_ns(start, end));
  }
  benchmark::DoNotOptimize(h.count());
  label_clock(state, clock);
}
BENCHMARK(BM_iteration_two_stamps<ClockSource::kTsc>)->Name("iteration/now+now+record/tsc");
BENCHMARK(BM_iteration_two_stamps<ClockSource::kMonotonicRaw>)
    ->Name("iteration/now+now+record/MONOTONIC_RAW");

// Back-to-back iterations share a stamp: this iteration's end is the next one's start, so a
// sample costs one now() and one record().
template <ClockSource kSource>
void BM_iteration_chained(benchmark::State& state) {
  const Clock clock = clock_for(kSource);
  LatencyHistogram h;
  uint64_t previous = clock.now();
  for (auto _ : state) {
    const uint64_t now = clock.now();
    h.record(clock.elapsed_ns(previous, now));
    previous = now;
  }
  benchmark::DoNotOptimize(h.count());
  label_clock(state, clock);
}
BENCHMARK(BM_iteration_chained<ClockSource::kTsc>)->Name("iteration/now+record/tsc");
BENCHMARK(BM_iteration_chained<ClockSource::kMonotonicRaw>)->Name("iteration/now+record/MONOTONIC_RAW");

// Back-to-back stamps are the worst case: on Zen 3 an rdtsc waits for the previous record()'s
// counter store, whose address depends on the previous rdtsc. A real iteration posts and
// polls for microseconds between stamps. Stand-in: 50 dependent multiply-adds (~60 ns), alone
// and with a chained stamp + record; the difference is the bookkeeping's marginal cost.
constexpr int kSpacerSteps = 50;
inline uint64_t spacer(uint64_t x) noexcept {
  for (int i = 0; i < kSpacerSteps; ++i) x = x * 6364136223846793005u + 1442695040888963407u;
  return x;
}

void BM_spacer(benchmark::State& state) {
  uint64_t x = 1;
  for (auto _ : state) {
    x = spacer(x);
    benchmark::DoNotOptimize(x);
  }
}
BENCHMARK(BM_spacer)->Name("spaced/work");

template <ClockSource kSource>
void BM_spaced_iteration(benchmark::State& state) {
  const Clock clock = clock_for(kSource);
  LatencyHistogram h;
  uint64_t x = 1;
  uint64_t previous = clock.now();
  for (auto _ : state) {
    x = spacer(x);
    benchmark::DoNotOptimize(x);
    const uint64_t now = clock.now();
    h.record(clock.elapsed_ns(previous, now));
    previous = now;
  }
  benchmark::DoNotOptimize(h.count());
  label_clock(state, clock);
}
BENCHMARK(BM_spaced_iteration<ClockSource::kTsc>)->Name("spaced/work+now+record/tsc");
BENCHMARK(BM_spaced_iteration<ClockSource::kMonotonicRaw>)->Name("spaced/work+now+record/MONOTONIC_RAW");

void BM_summary(benchmark::State& state) {
  const LatencyHistogram h = filled(1'000'000);
  for (auto _ : state) benchmark::DoNotOptimize(h.summary());
}
BENCHMARK(BM_summary)->Name("LatencyHistogram/summary/1e6_samples");

void BM_merge(benchmark::State& state) {
  LatencyHistogram into = filled(1'000'000);
  const LatencyHistogram from = filled(1'000'000);
  for (auto _ : state) {
    into.merge(from);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_merge)->Name("LatencyHistogram/merge/1e6_samples");

void BM_to_buckets(benchmark::State& state) {
  const LatencyHistogram h = filled(1'000'000);
  for (auto _ : state) benchmark::DoNotOptimize(h.to_buckets());
}
BENCHMARK(BM_to_buckets)->Name("LatencyHistogram/to_buckets/1e6_samples");

}  // namespace
