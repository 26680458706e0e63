// `railcheck check` run as a user would, offline, over the HGX H100 pod fixture
// (tests/topology/fixtures/sysfs/hgx-roce with fixtures/hwloc/hgx-h100-8gpu.xml). The live
// facts (rdma netns mode, memlock, ip rules, kernel, NVIDIA driver) are this machine's, so only
// the verdicts that come from the fixture are asserted: its sysfs has no nvidia_peermem and the
// build machines show no NVIDIA driver (no dma-buf either), so the run fails. The InfiniBand
// options run over the ib-kubernetes fixture.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
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

bool nvidia_driver_here() { return std::filesystem::exists("/proc/driver/nvidia/version"); }

TEST(CheckCli, JsonHasEveryCheckAndFailsWithoutPeermem) {
  if (nvidia_driver_here()) GTEST_SKIP() << "this machine has an NVIDIA driver: dma-buf may be possible";
  auto r = run_command(check_hgx("--format json"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const json doc = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  EXPECT_EQ(doc.at("schema"), "railcheck.check/v1");
  EXPECT_EQ(doc.at("ok"), false);
  const json& checks = doc.at("checks");
  for (const char* name : {"rdma_netns_mode", "devices_visible", "ib_guid", "ib_pkey", "memlock", "main_route",
                           "gpudirect_ready"}) {
    EXPECT_NE(find(checks, name, nullptr), nullptr) << name;
  }
  EXPECT_EQ(find(checks, "devices_visible", nullptr)->at("verdict"), "pass");
  const json* peermem = find(checks, "gpudirect_ready", nullptr);
  EXPECT_EQ(peermem->at("verdict"), "fail");
  EXPECT_EQ(peermem->at("reason"),
            "nvidia_peermem not loaded, and dma-buf not possible: no NVIDIA driver visible (/proc/driver/nvidia/version)");
  EXPECT_EQ(find(checks, "ib_guid", nullptr)->at("reason"), "no InfiniBand rail");
  for (int k = 1; k <= 8; ++k) {
    const std::string ifc = "net" + std::to_string(k);
    for (const char* name :
         {"port_active", "interface_addressing", "policy_routes", "gateway_reachable", "gpudirect_ready"}) {
      ASSERT_NE(find(checks, name, ifc), nullptr) << name << " " << ifc;
    }
    EXPECT_EQ(find(checks, "port_active", ifc)->at("verdict"), "pass");
    EXPECT_EQ(find(checks, "interface_addressing", ifc)->at("verdict"), "pass");
    EXPECT_EQ(find(checks, "gpudirect_ready", ifc)->at("verdict"), "pass");
    // Offline, from hwloc's link speeds: every rail NIC and every GPU at its switch's speed.
    EXPECT_EQ(find(checks, "pcie_link", ifc)->at("verdict"), "pass");
    const std::string gpu = "GPU" + std::to_string(k - 1);
    EXPECT_EQ(find(checks, "pcie_link", gpu)->at("verdict"), "pass");
    EXPECT_EQ(find(checks, "rail_per_gpu", gpu)->at("verdict"), "pass");
  }
  int total = 0;
  for (const auto& [verdict, n] : doc.at("summary").items()) total += n.get<int>();
  EXPECT_EQ(total, static_cast<int>(checks.size()));
  EXPECT_GE(doc.at("summary").at("fail").get<int>(), 1);
}

TEST(CheckCli, TableHasHeaderFixAndSummary) {
  if (nvidia_driver_here()) GTEST_SKIP() << "this machine has an NVIDIA driver: dma-buf may be possible";
  auto r = run_command(check_hgx(""));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(r.out.starts_with("CHECK ")) << r.out;
  EXPECT_NE(r.out.find("REASON / FIX"), std::string::npos);
  EXPECT_NE(r.out.find("fix: modprobe nvidia_peermem"), std::string::npos) << r.out;
  // 47 before the PCIe links (8 rails + 8 GPUs) and rail_per_gpu (8 GPUs) were added.
  EXPECT_NE(r.out.find("\n71 checks: "), std::string::npos) << r.out;
}

TEST(CheckCli, InfinibandOptionsOverTheIbKubernetesFixture) {
  const std::string shape = kFixtures + "/sysfs/ib-kubernetes";
  auto r = run_command(kBin + " check --sysfs-root " + shell_quote(shape + "/sys") + " --podinfo " +
                       shell_quote(shape + "/podinfo") + " --hwloc-xml " + shell_quote(kFixtures + "/hwloc/no-gpu.xml") +
                       " --guid-pool 02:00:00:00:00:00:00:00-02:FF:FF:FF:FF:FF:FF:FF --pkey 0x6 --format json");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const json doc = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  const json& checks = doc.at("checks");
  EXPECT_EQ(find(checks, "ib_guid", "net1")->at("verdict"), "pass");
  EXPECT_EQ(find(checks, "ib_guid", "net3")->at("verdict"), "fail");
  EXPECT_EQ(find(checks, "ib_guid", "net4")->at("reason"),
            "mlx5_5 port 1: port GUID 0a:00:00:00:00:00:00:04 is outside the GUID pool "
            "02:00:00:00:00:00:00:00-02:ff:ff:ff:ff:ff:ff:ff");
  EXPECT_EQ(find(checks, "ib_pkey", "net4")->at("reason"),
            "pkey 0x0006 (from --pkey) is in mlx5_5 port 1's table, full member");
  EXPECT_EQ(find(checks, "ib_pkey_table", "net3")->at("verdict"), "warn");
}

TEST(CheckCli, BadOptionsExitTwo) {
  EXPECT_EQ(run_command(check_hgx("--format xml")).exit_code, 2);
  auto pool = run_command(check_hgx("--guid-pool 02:00:00:00:00:00:00:09"));
  EXPECT_EQ(pool.exit_code, 2);
  EXPECT_NE(pool.err.find("GUID pool '02:00:00:00:00:00:00:09' is not START-END"), std::string::npos) << pool.err;
  auto pkey = run_command(check_hgx("--pkey 6"));
  EXPECT_EQ(pkey.exit_code, 2);
  EXPECT_NE(pkey.err.find("pkey '6' must be hex with a leading 0x"), std::string::npos) << pkey.err;
  EXPECT_EQ(run_command(check_hgx("--gateway-timeout-ms 0")).exit_code, 2);
  EXPECT_EQ(run_command(kBin + " check --sysfs-root /no/such/dir").exit_code, 2);
  auto help = run_command(kBin + " check --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("railcheck.check/v1"), std::string::npos);
  // The help lists every row of the checks' table.
  for (const char* name : {"rdma_netns_mode", "ib_pkey_table", "gpudirect_ready", "pcie_link", "rail_per_gpu"}) {
    EXPECT_NE(help.out.find(std::string("\n  ") + name + " "), std::string::npos) << name << "\n" << help.out;
  }
}

}  // namespace
}  // namespace railcheck
