// Cost of one timestamp from each clock the latency engine could use. The engine takes two
// per ping-pong iteration, so this is the floor of its measurement overhead.
#include <benchmark/benchmark.h>
#include <x86intrin.h>

#include <chrono>
#include <ctime>

namespace {

template <clockid_t kClock>
void BM_clock_gettime(benchmark::State& state) {
  timespec ts{};
  for (auto _ : state) {
    clock_gettime(kClock, &ts);
    benchmark::DoNotOptimize(ts);
  }
}
BENCHMARK(BM_clock_gettime<CLOCK_MONOTONIC_RAW>)->Name("clock_gettime/MONOTONIC_RAW");
BENCHMARK(BM_clock_gettime<CLOCK_MONOTONIC>)->Name("clock_gettime/MONOTONIC");

void BM_steady_clock(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(std::chrono::steady_clock::now());
}
BENCHMARK(BM_steady_clock)->Name("std::chrono::steady_clock");

void BM_rdtsc(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(__rdtsc());
}
BENCHMARK(BM_rdtsc)->Name("rdtsc");

void BM_rdtscp(benchmark::State& state) {
  unsigned aux = 0;
  for (auto _ : state) benchmark::DoNotOptimize(__rdtscp(&aux));
}
BENCHMARK(BM_rdtscp)->Name("rdtscp");

}  // namespace
