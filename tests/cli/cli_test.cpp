#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include <nlohmann/json.hpp>

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
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\ncuda: +built in \(driver API loaded at run time)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\ncuda here: +(driver \d+|unusable: .+))"))) << r.out;
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

TEST(Cli, WriteLatencyFromGpuMemoryIsAUsageErrorNamingWriteImm) {
  auto r = run_command(kBin + " lat 192.0.2.1 --op write --peer-mem cuda");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("write latency with cuda memory"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--op write_imm"), std::string::npos) << r.err;
}

TEST(Cli, UnknownMemoryKindIsAUsageErrorNamingTheKinds) {
  auto r = run_command(kBin + " bw 192.0.2.1 --mem rocm");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("memory kind \"rocm\"; this railcheck knows host[:huge], cuda[:N|:BUSID]"), std::string::npos)
      << r.err;
  auto g = run_command(kBin + " bw 192.0.2.1 --mem cuda:gpu0");
  EXPECT_EQ(g.exit_code, 2);
  EXPECT_NE(g.err.find("GPU \"gpu0\""), std::string::npos) << g.err;
}

// No GPU or no driver here (CI): a GPU test is waived before any connection, exit 3.
TEST(Cli, GpuTestWithoutAGpuIsWaivedBeforeConnecting) {
  auto v = run_command(kBin + " version");
  if (std::regex_search(v.out, std::regex(R"(cuda here: +driver \d+, [1-9])"))) GTEST_SKIP() << "a GPU is here";
  // 192.0.2.1 (TEST-NET-1) answers nobody: a connection attempt would fail with exit 1.
  auto r = run_command(kBin + " lat 192.0.2.1 --op write_imm --mem cuda --format json --connect-timeout 1");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(r.err.starts_with("railcheck lat: waived: ")) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc.at("schema_version"), "railcheck.results/v1.2");
  ASSERT_EQ(doc.at("records").size(), 1u);
  const auto& rec = doc["records"][0];
  EXPECT_EQ(rec.at("verdict"), "waived");
  EXPECT_EQ(rec.at("test"), "write_imm_lat");
  const std::string cause = rec.at("cause");
  EXPECT_FALSE(cause.empty());
  EXPECT_NE(r.err.find(cause), std::string::npos) << "the same reason on stderr";
  auto table = run_command(kBin + " bw 192.0.2.1 --peer-mem host --mem cuda:0 --connect-timeout 1");
  EXPECT_EQ(table.exit_code, 3) << table.err;
  EXPECT_TRUE(table.out.empty()) << table.out;
}

}  // namespace
}  // namespace railcheck
