#include "verbs/clock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

namespace railcheck::verbs {
namespace {

// The TSC when this machine allows it, else the fallback: both must behave.
class ClockTest : public ::testing::TestWithParam<ClockSource> {};

TEST_P(ClockTest, NowNeverGoesBackwards) {
  const Clock clock(GetParam());
  uint64_t previous = clock.now();
  for (int i = 0; i < 200'000; ++i) {
    const uint64_t t = clock.now();
    ASSERT_GE(t, previous) << "call " << i;
    previous = t;
  }
}

TEST_P(ClockTest, SleepConvertsToPlausibleNs) {
  // A sanity check of the tick -> ns conversion, not a timing assertion: the window is wide.
  const Clock clock(GetParam());
  const uint64_t start = clock.now();
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const uint64_t elapsed_ns = clock.elapsed_ns(start, clock.now());
  EXPECT_GE(elapsed_ns, 5'000'000u);
  EXPECT_LE(elapsed_ns, 500'000'000u);
}

TEST_P(ClockTest, DescribesItsSource) {
  const Clock clock(GetParam());
  EXPECT_FALSE(clock.description().empty());
  if (clock.source() == ClockSource::kTsc) {
    EXPECT_TRUE(clock.description().starts_with("tsc (")) << clock.description();
    EXPECT_TRUE(clock.fallback_reason().empty());
    EXPECT_GT(clock.ticks_per_second(), 100e6);
  } else {
    EXPECT_EQ(clock.description(), "CLOCK_MONOTONIC_RAW");
    EXPECT_EQ(clock.ns_per_tick(), 1.0);
    // Asked for the TSC and did not get it: the reason is recorded.
    EXPECT_EQ(GetParam() == ClockSource::kTsc, !clock.fallback_reason().empty())
        << clock.fallback_reason();
  }
}

TEST_P(ClockTest, ElapsedIsZeroWhenEndPrecedesStart) {
  const Clock clock(GetParam());
  EXPECT_EQ(clock.elapsed_ns(100, 50), 0u);
  EXPECT_EQ(clock.elapsed_ns(7, 7), 0u);
}

INSTANTIATE_TEST_SUITE_P(Sources, ClockTest,
                         ::testing::Values(ClockSource::kTsc, ClockSource::kMonotonicRaw),
                         [](const ::testing::TestParamInfo<ClockSource>& param_info) {
                           return param_info.param == ClockSource::kTsc ? "Tsc" : "MonotonicRaw";
                         });

TEST(Clock, MonotonicRawTicksAreNs) {
  const Clock clock(ClockSource::kMonotonicRaw);
  EXPECT_EQ(clock.source(), ClockSource::kMonotonicRaw);
  EXPECT_EQ(clock.to_ns(123'456'789), 123'456'789u);
  EXPECT_EQ(clock.ticks_per_second(), 1e9);
  EXPECT_TRUE(clock.fallback_reason().empty());
}

TEST(Clock, SourceNames) {
  EXPECT_EQ(to_string(ClockSource::kTsc), "tsc");
  EXPECT_EQ(to_string(ClockSource::kMonotonicRaw), "CLOCK_MONOTONIC_RAW");
}

TEST(Clock, CpuinfoFlagsNeedConstantAndNonstopTsc) {
  const char* both =
      "processor\t: 0\nvendor_id\t: AuthenticAMD\n"
      "flags\t\t: fpu tsc msr constant_tsc rep_good nopl nonstop_tsc cpuid\nbogomips\t: 4890\n";
  EXPECT_TRUE(cpuinfo_invariant_tsc(both));
  EXPECT_FALSE(cpuinfo_invariant_tsc("flags\t\t: fpu tsc constant_tsc cpuid\n"));
  EXPECT_FALSE(cpuinfo_invariant_tsc("flags\t\t: fpu tsc nonstop_tsc\n"));
  // Words must match whole: "constant_tsc_x" is not "constant_tsc".
  EXPECT_FALSE(cpuinfo_invariant_tsc("flags\t\t: constant_tsc_x nonstop_tsc\n"));
  EXPECT_FALSE(cpuinfo_invariant_tsc(""));
  EXPECT_TRUE(cpuinfo_invariant_tsc("flags\t: nonstop_tsc constant_tsc"));
}

TEST(Clock, CalibrationRoundsMustAgreeAndBePlausible) {
  EXPECT_EQ(tsc_calibration_problem(2.445e9, 2.4451e9), "");
  EXPECT_NE(tsc_calibration_problem(2.4e9, 2.5e9).find("disagree"), std::string::npos);
  EXPECT_NE(tsc_calibration_problem(0, 0).find("implausible"), std::string::npos);
  EXPECT_NE(tsc_calibration_problem(2.4e9, 50e9).find("implausible"), std::string::npos);
  EXPECT_FALSE(tsc_calibration_problem(std::numeric_limits<double>::quiet_NaN(), 2.4e9).empty());
}

}  // namespace
}  // namespace railcheck::verbs
