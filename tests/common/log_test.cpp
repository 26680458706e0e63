#include "common/log.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

namespace railcheck {
namespace {

TEST(Logging, EveryDocumentedLevelIsAccepted) {
  for (std::string_view level : kLogLevels) {
    ASSERT_TRUE(init_logging(level).has_value()) << level;
  }
  ASSERT_TRUE(init_logging("debug").has_value());
  EXPECT_EQ(spdlog::get_level(), spdlog::level::debug);
}

TEST(Logging, UnknownLevelIsRejectedWithTheChoices) {
  auto r = init_logging("loud");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "--log-level loud; use one of trace, debug, info, warn, error, off");
}

}  // namespace
}  // namespace railcheck
