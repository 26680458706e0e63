// The NIC-local CPU of a test, over a two-socket node's local_cpulist fixtures (28 cores and
// their hyperthreads per socket: node 0 is 0-27,56-83, node 1 28-55,84-111) and pods with a
// restricted CPU set, as the kubelet's static CPU manager gives them.
#include "verbs/placement.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "verbs/port_attrs.hpp"

namespace railcheck::verbs {
namespace {

std::vector<int> cpus(const char* list) { return parse_cpulist(list).value(); }

TEST(Cpulist, ParsesAndFormatsTheKernelsForm) {
  EXPECT_EQ(cpus("0-3,8,10-11\n"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(format_cpulist(cpus("0-27,56-83")), "0-27,56-83");
  EXPECT_EQ(cpus(""), std::vector<int>{});
  for (const char* bad : {"a", "3-1", "1,,2", "-1", "0-", "99999"}) EXPECT_FALSE(parse_cpulist(bad).has_value()) << bad;
}

TEST(ChooseCpu, TwoSocketNode) {
  const auto socket0 = cpus("0-27,56-83"), socket1 = cpus("28-55,84-111");
  const auto whole_node = cpus("0-111");
  std::map<int, int> none;
  // A NIC on socket 1 and a pod that may use the whole node: socket 1's first CPU.
  CpuChoice c = choose_cpu(socket1, whole_node, none, "mlx5_4");
  EXPECT_EQ(c.cpu, 28);
  EXPECT_TRUE(c.local);
  EXPECT_TRUE(c.note.empty());
  // Eight rails at once on socket 1: one CPU each.
  std::map<int, int> busy;
  std::set<int> taken;
  for (int rail = 0; rail < 8; ++rail) {
    c = choose_cpu(socket1, whole_node, busy, "mlx5_4");
    EXPECT_FALSE(c.shared);
    EXPECT_TRUE(taken.insert(c.cpu).second);
    ++busy[c.cpu];
  }
  // A pod pinned to 4 CPUs of socket 0 (static CPU manager) and a NIC on socket 1: across the
  // socket, said so, with what to change.
  c = choose_cpu(socket1, cpus("2-5"), none, "mlx5_4");
  EXPECT_EQ(c.cpu, 2);
  EXPECT_FALSE(c.local);
  EXPECT_NE(c.note.find("none of mlx5_4's local CPUs (28-55,84-111) is in this pod's CPU set (2-5)"), std::string::npos)
      << c.note;
  EXPECT_NE(c.note.find("resources"), std::string::npos);
  // Two local CPUs and three tests at once: the third shares the least used, and says so.
  std::map<int, int> two{{28, 1}, {29, 1}};
  c = choose_cpu(socket1, cpus("28-29"), two, "mlx5_4");
  EXPECT_TRUE(c.shared);
  EXPECT_TRUE(c.local);
  EXPECT_EQ(c.cpu, 28);
  EXPECT_NE(c.note.find("fewer than the tests running at once"), std::string::npos) << c.note;
  // Soft-RoCE: no PCI device, no locality: not pinned.
  c = choose_cpu({}, whole_node, none, "rxe0");
  EXPECT_EQ(c.cpu, -1);
  EXPECT_TRUE(c.note.empty());
}

TEST(NicLocality, ReadsTheDevicesSysfs) {
  const auto root = std::filesystem::path(::testing::TempDir()) / "railcheck-locality";
  const auto dev = root / "class/infiniband/mlx5_4/device";
  std::filesystem::create_directories(dev);
  std::ofstream(dev / "local_cpulist") << "28-55,84-111\n";
  std::ofstream(dev / "numa_node") << "1\n";
  const NicLocality n = read_nic_locality("mlx5_4", root.string());
  EXPECT_EQ(n.local_cpus.size(), 56u);
  EXPECT_EQ(n.numa_node, 1);
  const NicLocality none = read_nic_locality("rxe0", root.string());
  EXPECT_TRUE(none.local_cpus.empty());
  EXPECT_EQ(none.numa_node, -1);
}

// Port rates: HDR, NDR, and XDR, which the old active_speed byte reports as NDR.
TEST(PortRate, HdrNdrXdr) {
  struct Row {
    uint8_t speed, width;
    uint32_t speed_ex;
    std::optional<double> kernel;
    double gbps;
  };
  const Row rows[] = {
      {64, 2, 0, std::nullopt, 200},    // HDR 4x
      {128, 2, 0, std::nullopt, 400},   // NDR 4x
      {128, 1, 0, std::nullopt, 100},   // NDR 1x (a split port)
      {128, 2, 0, 800.0, 800},          // XDR: active_speed says NDR, the kernel's rate knows
      {128, 2, 256, std::nullopt, 800}, // XDR from active_speed_ex (rdma-core 48+)
      {32, 2, 0, std::nullopt, 100},    // EDR 4x
      {0, 2, 0, std::nullopt, 0},       // unknown
  };
  for (const Row& r : rows) EXPECT_EQ(port_rate_gbps(r.speed, r.width, r.speed_ex, r.kernel), r.gbps);
  EXPECT_EQ(kernel_rate_gbps("800 Gb/sec (4X XDR)"), 800.0);
  EXPECT_EQ(kernel_rate_gbps("400 Gb/sec (4X NDR)"), 400.0);
  EXPECT_EQ(kernel_rate_gbps("2.5 Gb/sec (1X SDR)"), 2.5);
  EXPECT_EQ(kernel_rate_gbps("fast"), std::nullopt);
}

}  // namespace
}  // namespace railcheck::verbs
