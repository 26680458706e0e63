// `railcheck topo` run as a user would, offline, over the HGX H100 pod fixture
// (tests/topology/fixtures/sysfs/hgx-roce with fixtures/hwloc/hgx-h100-8gpu.xml).
//
// The table output is compared with tests/cli/golden/topo_hgx.txt, exactly. When the table
// changes on purpose, regenerate the file and review the diff before committing it:
//     RAILCHECK_UPDATE_GOLDEN=1 build/dev/bin/cli_test --gtest_filter='TopoCli.TableMatchesGolden'
#include <gtest/gtest.h>

#include <algorithm>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/process.hpp"

namespace railcheck {
namespace {

using testing::run_command;
using testing::shell_quote;

const std::string kBin = RAILCHECK_BIN;
const std::string kFixtures = RAILCHECK_TOPO_FIXTURES;
const std::string kGolden = std::string(RAILCHECK_CLI_GOLDEN) + "/topo_hgx.txt";
const std::string kShape = kFixtures + "/sysfs/hgx-roce";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// `env PCIDEVICE_...=... railcheck topo <hgx fixture> ARGS`: the shape's device-plugin
// variables, and nothing of the caller's PCIDEVICE_* environment.
std::string topo_hgx(const std::string& args) {
  std::string env = "env";
  std::istringstream lines(read_text(kShape + "/env"));
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) env += " " + shell_quote(line);
  }
  return env + " " + kBin + " topo --sysfs-root " + shell_quote(kShape + "/sys") + " --podinfo " +
         shell_quote(kShape + "/podinfo") + " --hwloc-xml " + shell_quote(kFixtures + "/hwloc/hgx-h100-8gpu.xml") +
         " " + args;
}

TEST(TopoCli, JsonListsEveryRailWithItsVfPfRdmaDeviceAndPixGpu) {
  auto r = run_command(topo_hgx("--format json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  EXPECT_EQ(doc.at("schema"), "railcheck.topo/v1");
  const std::vector<std::string> pfs = {"18", "3a", "4b", "5c", "98", "ba", "cb", "dc"};
  const auto& ports = doc.at("ports");
  ASSERT_EQ(ports.size(), 8u);
  for (size_t i = 0; i < ports.size(); ++i) {
    const auto& p = ports[i];
    const int k = static_cast<int>(i) + 1;
    SCOPED_TRACE(k);
    EXPECT_EQ(p.at("interface"), "net" + std::to_string(k));
    EXPECT_EQ(p.at("network"), "spiderpool/gpu" + std::to_string(k) + "-sriov");
    EXPECT_EQ(p.at("ips"), nlohmann::json::array({"172.16." + std::to_string(10 + k) + ".10"}));
    EXPECT_EQ(p.at("rdma_device"), "mlx5_" + std::to_string(9 + k));
    EXPECT_EQ(p.at("pci_address"), "0000:" + pfs[i] + ":00.1");
    EXPECT_EQ(p.at("pf_pci_address"), "0000:" + pfs[i] + ":00.0");
    EXPECT_EQ(p.at("resource"), "PCIDEVICE_SPIDERNET_IO_GPU" + std::to_string(k) + "SRIOV");
    EXPECT_EQ(p.at("state"), "ACTIVE");
    EXPECT_EQ(p.at("link_layer"), "Ethernet");
    EXPECT_EQ(p.at("active_mtu"), 4096);
    EXPECT_EQ(p.at("rate_gbps"), 400.0);
    EXPECT_EQ(p.at("roce_gid").at("gid"), "::ffff:172.16." + std::to_string(10 + k) + ".10");
    EXPECT_EQ(p.at("roce_gid").at("type"), "RoCEv2");
    EXPECT_TRUE(p.at("lid").is_null());
    EXPECT_EQ(p.at("numa_node"), k <= 4 ? 0 : 1);
    EXPECT_EQ(p.at("nearest_gpu").at("gpu"), k - 1);
    EXPECT_EQ(p.at("nearest_gpu").at("class"), "PIX");
    EXPECT_EQ(p.at("nearest_gpu").at("measured_from"), "pf");
    EXPECT_EQ(p.at("sources").at("rdma_device"), "annotation");
  }
  const auto& gpus = doc.at("gpus");
  ASSERT_EQ(gpus.size(), 8u);
  for (const auto& g : gpus) {
    const int ordinal = g.at("gpu").get<int>();
    EXPECT_EQ(g.at("nearest_rail").at("interface"), "net" + std::to_string(ordinal + 1));
    EXPECT_EQ(g.at("nearest_rail").at("class"), "PIX");
  }
  ASSERT_EQ(doc.at("notes").size(), 1u);
}

TEST(TopoCli, TableMatchesGolden) {
  auto r = run_command(topo_hgx(""));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (const char* update = std::getenv("RAILCHECK_UPDATE_GOLDEN"); update != nullptr && *update == '1') {
    std::ofstream(kGolden) << r.out;
    GTEST_SKIP() << "rewrote " << kGolden << ": review the diff";
  }
  EXPECT_EQ(r.out, read_text(kGolden)) << "regenerate on purpose only: see the comment at the top of this file";
}

TEST(TopoCli, OutputFileGetsTheMap) {
  const std::string out = ::testing::TempDir() + "railcheck_topo_cli_" + std::to_string(::getpid()) + ".json";
  auto r = run_command(topo_hgx("--format json -o " + shell_quote(out)));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  const auto doc = nlohmann::json::parse(read_text(out), nullptr, false);
  std::filesystem::remove(out);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc.at("ports").size(), 8u);
}

TEST(TopoCli, PodinfoWithoutAnnotationsIsOneLineFailure) {
  const std::string empty = kFixtures + "/hwloc";  // a folder with no `annotations` in it
  auto r = run_command(kBin + " topo --sysfs-root " + shell_quote(kShape + "/sys") + " --podinfo " +
                       shell_quote(empty));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(empty + "/annotations"), std::string::npos) << r.err;
  EXPECT_EQ(std::ranges::count(r.err, '\n'), 1) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(TopoCli, BadOptionsAreUsageErrors) {
  auto format = run_command(topo_hgx("--format xml"));
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_NE(format.err.find("xml"), std::string::npos) << format.err;
  auto xml = run_command(kBin + " topo --hwloc-xml /no/such/file.xml");
  EXPECT_EQ(xml.exit_code, 2);
  EXPECT_NE(xml.err.find("/no/such/file.xml"), std::string::npos) << xml.err;
}

// The node view without a pod: the hwloc XML alone (and an empty sysfs, so no rail of this machine
// shows up): every RDMA NIC with its nearest GPU and role, the GPU x NIC matrix.
TEST(TopoCli, NodeViewFromTheHwlocXmlAlone) {
  const std::string empty = ::testing::TempDir() + "railcheck_topo_node_" + std::to_string(::getpid());
  std::filesystem::create_directories(empty);
  const std::string base = kBin + " topo --sysfs-root " + shell_quote(empty) + " --hwloc-xml " +
                           shell_quote(kFixtures + "/hwloc/hgx-degraded.xml");
  auto json_run = run_command(base + " --format json");
  auto table_run = run_command(base);
  auto live_sys = run_command(kBin + " topo --hwloc-xml " + shell_quote(kFixtures + "/hwloc/hgx-h100-8gpu.xml"));
  std::filesystem::remove_all(empty);
  ASSERT_EQ(json_run.exit_code, 0) << json_run.err;
  const auto doc = nlohmann::json::parse(json_run.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << json_run.out;
  EXPECT_TRUE(doc.at("ports").empty());
  const auto& node = doc.at("node");
  ASSERT_EQ(node.at("nics").size(), 3u);
  EXPECT_EQ(node.at("nics")[0].at("name"), "mlx5_0");
  EXPECT_EQ(node.at("nics")[0].at("nearest_gpu").at("class"), "PIX");
  EXPECT_EQ(node.at("nics")[0].at("pcie_link").at("current").at("gbytes_per_s"), 15.754);
  EXPECT_EQ(node.at("nics")[1].at("rail"), false);
  EXPECT_EQ(node.at("matrix").at("nics"), nlohmann::json::array({"mlx5_0", "mlx5_2", "mlx5_1"}));
  EXPECT_EQ(node.at("matrix").at("gpus")[2].at("classes"), nlohmann::json::array({"NODE", "NODE", "PIX"}));
  EXPECT_TRUE(node.at("matrix").at("gpus")[2].at("own_rail").is_null());  // GPU2 shares mlx5_1
  EXPECT_EQ(node.at("matrix").at("gpus")[3].at("classes"), nlohmann::json::array({"SYS", "SYS", "SYS"}));
  ASSERT_EQ(table_run.exit_code, 0) << table_run.err;
  EXPECT_NE(table_run.out.find("\nnode NICs:\nNIC     PCI           NUMA  VFS  PCIE       NEAREST-GPU  CLASS  ROLE\n"),
            std::string::npos)
      << table_run.out;
  EXPECT_NE(table_run.out.find("\nGPU x NIC  mlx5_0  mlx5_2  mlx5_1\nGPU0       PIX     NODE    NODE\n"),
            std::string::npos)
      << table_run.out;
  // This machine's own /sys beside another machine's tree: its devices are not borrowed.
  ASSERT_EQ(live_sys.exit_code, 0) << live_sys.err;
  EXPECT_NE(live_sys.out.find("node NICs:"), std::string::npos) << live_sys.out;
}

TEST(TopoCli, HelpTeachesClassesAndSources) {
  auto r = run_command(kBin + " topo --help");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* word : {"PIX", "PXB", "PHB", "NODE", "SYS", "network-status", "PCIDEVICE_", "--sysfs-root",
                           "--hwloc-xml", "railcheck.topo/v1"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word;
  }
}

}  // namespace
}  // namespace railcheck
