// `railcheck check` run as a user would, offline, over the HGX H100 pod fixture
// (tests/topology/fixtures/sysfs/hgx-roce with fixtures/hwloc/hgx-h100-8gpu.xml). The live
// facts (rdma netns mode, memlock, ip rules) are this machine's, so only the verdicts that
// come from the fixture are asserted: its sysfs has no nvidia_peermem, so the run fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "support/process.hpp"

namespace railcheck {
namespace {

using nlohmann::json;
using testing::run_command;
using testing::shell_quote;

const std::string kBin = RAILCHECK_BIN;
const std::string kFixtures = RAILCHECK_TOPO_FIXTURES;
const std::string kShape = kFixtures + "/sysfs/hgx-roce";

std::string check_hgx(const std::string& args) {
  return kBin + " check --sysfs-root " + shell_quote(kShape + "/sys") + " --podinfo " +
         shell_quote(kShape + "/podinfo") + " --hwloc-xml " + shell_quote(kFixtures + "/hwloc/hgx-h100-8gpu.xml") +
         " " + args;
}

const json* find(const json& checks, const std::string& name, const json& subject) {
  for (const json& c : checks) {
    if (c.at("name") == name && c.at("subject") == subject) return &c;
  }
  return nullptr;
}

TEST(CheckCli, JsonHasEveryCheckAndFailsWithoutPeermem) {
  auto r = run_command(check_hgx("--format json"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const json doc = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  EXPECT_EQ(doc.at("schema"), "railcheck.check/v1");
  EXPECT_EQ(doc.at("ok"), false);
  const json& checks = doc.at("checks");
  for (const char* name : {"rdma_netns_mode", "devices_visible", "memlock", "gpudirect_ready"}) {
    EXPECT_NE(find(checks, name, nullptr), nullptr) << name;
  }
  EXPECT_EQ(find(checks, "devices_visible", nullptr)->at("verdict"), "pass");
  const json* peermem = find(checks, "gpudirect_ready", nullptr);
  EXPECT_EQ(peermem->at("verdict"), "fail");
  EXPECT_EQ(peermem->at("reason"), "nvidia_peermem not loaded (dma-buf not probed without CUDA)");
  for (int k = 1; k <= 8; ++k) {
    const std::string ifc = "net" + std::to_string(k);
    for (const char* name : {"port_active", "interface_addressing", "policy_routes", "gpudirect_ready"}) {
      ASSERT_NE(find(checks, name, ifc), nullptr) << name << " " << ifc;
    }
    EXPECT_EQ(find(checks, "port_active", ifc)->at("verdict"), "pass");
    EXPECT_EQ(find(checks, "interface_addressing", ifc)->at("verdict"), "pass");
    EXPECT_EQ(find(checks, "gpudirect_ready", ifc)->at("verdict"), "pass");
  }
  int total = 0;
  for (const auto& [verdict, n] : doc.at("summary").items()) total += n.get<int>();
  EXPECT_EQ(total, static_cast<int>(checks.size()));
  EXPECT_GE(doc.at("summary").at("fail").get<int>(), 1);
}

TEST(CheckCli, TableHasHeaderFixAndSummary) {
  auto r = run_command(check_hgx(""));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(r.out.starts_with("CHECK ")) << r.out;
  EXPECT_NE(r.out.find("REASON / FIX"), std::string::npos);
  EXPECT_NE(r.out.find("fix: modprobe nvidia_peermem"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n36 checks: "), std::string::npos) << r.out;
}

TEST(CheckCli, BadOptionsExitTwo) {
  EXPECT_EQ(run_command(check_hgx("--format xml")).exit_code, 2);
  EXPECT_EQ(run_command(kBin + " check --sysfs-root /no/such/dir").exit_code, 2);
  auto help = run_command(kBin + " check --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("railcheck.check/v1"), std::string::npos);
}

}  // namespace
}  // namespace railcheck
