// The link budget: expected = min(port rate, NIC PCIe, GPU PCIe for GPU memory, path class cap),
// with the bottleneck named; a table of port rates x PCIe generations/widths x classes, then the
// facts taken from real rail maps (hgx-links: a NIC at Gen4 x8, an uplink at x8, a GPU at x8;
// sys-split: a rail across the sockets from its GPU).
#include "topology/link_budget.hpp"

#include "rail_fixtures.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace railcheck::topology {
namespace {

using namespace testing;  // rail_fixtures.hpp

struct Case {
  const char* what;
  std::optional<double> port;
  std::optional<PcieLinkState> nic;
  bool gpu_memory;
  std::optional<PcieLinkState> gpu;
  std::optional<PathClass> path;
  std::optional<double> expected;
  Bottleneck bottleneck;
  const char* sentence;
};

TEST(LinkBudget, PortRateTimesPcieTimesClass) {
  const auto g = [](double gts, uint32_t w) { return std::optional(pcie_link_state(gts, w)); };
  const std::vector<Case> cases = {
      {"NDR on Gen5 x16", 400, g(32, 16), false, {}, {}, 400, Bottleneck::kPortRate, "mlx5_2 port rate: at most 400 Gb/s"},
      {"NDR on Gen4 x8", 400, g(16, 8), false, {}, {}, 115.23, Bottleneck::kNicPcie, "mlx5_2 PCIe Gen4 x8: at most 115 Gb/s"},
      {"NDR on Gen4 x16", 400, g(16, 16), false, {}, {}, 230.45, Bottleneck::kNicPcie,
       "mlx5_2 PCIe Gen4 x16: at most 230 Gb/s"},
      {"HDR on Gen4 x16", 200, g(16, 16), false, {}, {}, 200, Bottleneck::kPortRate, "mlx5_2 port rate: at most 200 Gb/s"},
      {"EDR on Gen3 x16", 100, g(8, 16), false, {}, {}, 100, Bottleneck::kPortRate, "mlx5_2 port rate: at most 100 Gb/s"},
      {"XDR on Gen5 x16", 800, g(32, 16), false, {}, {}, 460.91, Bottleneck::kNicPcie,
       "mlx5_2 PCIe Gen5 x16: at most 460 Gb/s"},
      {"XDR on Gen6 x16", 800, g(64, 16), false, {}, {}, 800, Bottleneck::kPortRate, "mlx5_2 port rate: at most 800 Gb/s"},
      {"GPU at Gen5 x8, PIX", 400, g(32, 16), true, g(32, 8), PathClass::kPix, 230.45, Bottleneck::kGpuPcie,
       "GPU3 PCIe Gen5 x8: at most 230 Gb/s"},
      {"GPU healthy, PXB", 400, g(32, 16), true, g(32, 16), PathClass::kPxb, 400, Bottleneck::kPortRate,
       "mlx5_2 port rate: at most 400 Gb/s"},
      {"GPU healthy, PHB", 400, g(32, 16), true, g(32, 16), PathClass::kPhb, 400, Bottleneck::kPortRate,
       "mlx5_2 port rate: at most 400 Gb/s"},
      {"GPU healthy, NODE", 400, g(32, 16), true, g(32, 16), PathClass::kNode, 400, Bottleneck::kPortRate,
       "mlx5_2 port rate: at most 400 Gb/s"},
      {"GPU across the sockets", 400, g(32, 16), true, g(32, 16), PathClass::kSys, 80, Bottleneck::kPathClass,
       "mlx5_2 to GPU3 is SYS (across the CPU sockets): at most 80 Gb/s"},
      {"SYS, host memory", 400, g(32, 16), false, g(32, 16), PathClass::kSys, 400, Bottleneck::kPortRate,
       "mlx5_2 port rate: at most 400 Gb/s"},
      {"a slow NIC below SYS's cap", 400, g(2.5, 8), true, g(32, 16), PathClass::kSys, 14.63, Bottleneck::kNicPcie,
       "mlx5_2 PCIe Gen1 x8: at most 14 Gb/s"},
      {"offline, hwloc's GB/s", 400, pcie_link_state(15.753846), false, {}, {}, 115.23, Bottleneck::kNicPcie,
       "mlx5_2 PCIe 15.8 GB/s: at most 115 Gb/s"},
      {"port rate unknown", {}, g(32, 16), false, {}, {}, 460.91, Bottleneck::kNicPcie,
       "mlx5_2 PCIe Gen5 x16: at most 460 Gb/s"},
      {"nothing known", {}, {}, false, {}, {}, {}, Bottleneck::kUnknown, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const BudgetFacts facts{.nic = "mlx5_2",
                            .port_rate_gbps = c.port,
                            .nic_link = c.nic,
                            .nic_link_at = {},
                            .gpu_memory = c.gpu_memory,
                            .gpu = "GPU3",
                            .gpu_link = c.gpu,
                            .gpu_link_at = {},
                            .path = c.path};
    const LinkBudget b = link_budget(facts);
    ASSERT_EQ(b.expected_gbps.has_value(), c.expected.has_value());
    if (c.expected) {
      EXPECT_NEAR(*b.expected_gbps, *c.expected, 0.01);
    }
    EXPECT_EQ(b.bottleneck, c.bottleneck) << to_string(b.bottleneck);
    EXPECT_EQ(b.sentence, c.sentence);
  }
}

TEST(LinkBudget, TheClassTableIsConservativeAcrossSocketsOnly) {
  EXPECT_EQ(path_cap_gbps(PathClass::kSys), 80.0);
  for (PathClass p : {PathClass::kPix, PathClass::kPxb, PathClass::kPhb, PathClass::kNode}) {
    EXPECT_FALSE(path_cap_gbps(p).has_value()) << to_string(p);
  }
  EXPECT_EQ(to_string(Bottleneck::kNicPcie), "nic_pcie");
}

const RailPort& port(const RailMap& map, const std::string& iface) {
  return *std::ranges::find(map.ports, iface, &RailPort::interface);
}

TEST(LinkBudget, FromTheRailMap) {
  const RailMap map = build_ok(inputs_for("hgx-links", "hgx-h100-8gpu.xml"));
  const LinkBudget healthy = link_budget(budget_facts(map, port(map, "net1"), true));
  EXPECT_EQ(healthy.bottleneck, Bottleneck::kPortRate);
  EXPECT_EQ(healthy.expected_gbps, 400.0);

  const LinkBudget nic = link_budget(budget_facts(map, port(map, "net2"), false));
  EXPECT_EQ(nic.bottleneck, Bottleneck::kNicPcie);
  EXPECT_EQ(nic.sentence, "mlx5_11 PCIe Gen4 x8: at most 115 Gb/s");

  const LinkBudget uplink = link_budget(budget_facts(map, port(map, "net4"), false));
  EXPECT_EQ(uplink.sentence, "mlx5_13 PCIe Gen5 x8 (the link at 0000:5a:00.0, above it): at most 230 Gb/s");

  // net3's nearest GPU is GPU2, trained at x8: it bounds GPU memory only.
  EXPECT_EQ(link_budget(budget_facts(map, port(map, "net3"), false)).bottleneck, Bottleneck::kPortRate);
  const LinkBudget gpu = link_budget(budget_facts(map, port(map, "net3"), true));
  EXPECT_EQ(gpu.bottleneck, Bottleneck::kGpuPcie);
  EXPECT_EQ(gpu.sentence, "GPU2 PCIe Gen5 x8: at most 230 Gb/s");

  // GPU4 idles at 2.5 GT/s: the budget counts it at the Gen5 its link can train to.
  EXPECT_EQ(link_budget(budget_facts(map, port(map, "net5"), true)).bottleneck, Bottleneck::kPortRate);

  const RailMap split = build_ok(inputs_for("sys-split", "sys-split.xml"));
  const LinkBudget far = link_budget(budget_facts(split, split.ports.at(0), true));
  EXPECT_EQ(far.bottleneck, Bottleneck::kPathClass);
  EXPECT_EQ(far.sentence, "mlx5_1 to GPU0 is SYS (across the CPU sockets): at most 80 Gb/s");
}

}  // namespace
}  // namespace railcheck::topology
