#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "support/process.hpp"

namespace railcheck {
namespace {

using testing::run_command;

const std::string kBin = RAILCHECK_BIN;

size_t line_count(const std::string& s) { return static_cast<size_t>(std::ranges::count(s, '\n')); }

TEST(Cli, VersionNamesVersionCommitAndCuda) {
  auto r = run_command(kBin + " version");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(^railcheck \d+\.\d+\.\d+\n)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\ncommit: +[0-9a-f]{7,}(-dirty)?\n)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\ncuda: +(built in \(toolkit [0-9.]+\)|not built in))"))) << r.out;
}

TEST(Cli, HelpListsSubcommands) {
  auto r = run_command(kBin + " --help");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("version"), std::string::npos);
  EXPECT_NE(r.out.find("devices"), std::string::npos);
  EXPECT_NE(r.out.find("--log-level"), std::string::npos);
}

TEST(Cli, MissingSubcommandIsAUsageError) {
  auto r = run_command(kBin);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("subcommand"), std::string::npos) << r.err;
}

TEST(Cli, UnknownLogLevelIsAUsageErrorNamingTheChoices) {
  auto r = run_command(kBin + " --log-level loud version");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--log-level"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("debug"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(Cli, LogLevelAfterTheSubcommandIsAccepted) {
  auto r = run_command(kBin + " version --log-level debug");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Cli, BadDevicesFormatIsOneLineUsageError) {
  auto r = run_command(kBin + " devices --format xml");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("xml"), std::string::npos) << r.err;
  EXPECT_LE(line_count(r.err), 2u) << r.err;
}

TEST(Cli, UnknownOptionIsAUsageError) {
  auto r = run_command(kBin + " devices --no-such-flag");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--no-such-flag"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace railcheck
