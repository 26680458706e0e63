// Which GPU a `cuda` buffer goes on, from the rail-map fixtures of tests/topology (the HGX
// H100 node, an IB node with more NICs than GPUs, a VF across the socket from its GPU): the
// nearest GPU the pod's CUDA sees, matched by PCI bus id whatever CUDA's numbering, or the
// one forced by ordinal or bus id, with the distance class recorded either way.
#include "gpudirect/gpu_choice.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "rail_fixtures.hpp"

namespace railcheck::gpudirect {
namespace {

using topology::PathClass;
using topology::PcieTopology;
using topology::RailMap;
using topology::RailPort;
using namespace topology::testing;  // rail_fixtures.hpp

// The HGX fixture: rail netK is mlx5_(9+K), a VF of the PF at kNicBus[K-1], PIX to kGpuBus[K-1].
const std::vector<std::string> kGpuBus = {"19", "3b", "4c", "5d", "99", "bb", "cc", "dd"};

std::string gpu_bus(const std::string& bus) { return "0000:" + bus + ":00.0"; }

// CUDA's view: `buses` in CUDA-ordinal order, written as cudaDeviceGetPCIBusId does.
std::vector<GpuInfo> cuda_sees(const std::vector<std::string>& buses) {
  std::vector<GpuInfo> v;
  for (size_t i = 0; i < buses.size(); ++i) {
    std::string upper = buses[i];
    std::ranges::transform(upper, upper.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
    v.push_back(GpuInfo{.index = static_cast<int>(i), .name = "NVIDIA H100 80GB HBM3", .pci_bus_id = "0000:" + upper + ":00.0"});
  }
  return v;
}

class HgxChoice : public ::testing::Test {
 protected:
  void SetUp() override {
    map_ = build_ok(inputs_for("hgx-roce", "hgx-h100-8gpu.xml"));
    ASSERT_EQ(map_.ports.size(), 8u);
    auto pcie = PcieTopology::load_xml(kFixtures + "/hwloc/hgx-h100-8gpu.xml");
    ASSERT_TRUE(pcie.has_value()) << pcie.error().message();
    pcie_.emplace(std::move(*pcie));
  }
  NicPlacement place(const std::string& device) {
    auto it = std::ranges::find(map_.ports, std::optional<std::string>(device), &RailPort::rdma_device);
    return NicPlacement{.rdma_device = device, .port = it == map_.ports.end() ? nullptr : &*it, .pcie = &*pcie_,
                        .unknown_reason = it == map_.ports.end() ? device + " is not in the rail map" : ""};
  }
  RailMap map_;
  std::optional<PcieTopology> pcie_;
};

TEST_F(HgxChoice, EachRailGetsItsPixGpuMatchedByBusIdNotByNumber) {
  // CUDA numbers the GPUs in reverse (FASTEST_FIRST, say): GPU dd is ordinal 0.
  std::vector<std::string> reversed(kGpuBus.rbegin(), kGpuBus.rend());
  const auto visible = cuda_sees(reversed);
  for (int k = 1; k <= 8; ++k) {
    const std::string dev = "mlx5_" + std::to_string(9 + k);
    SCOPED_TRACE(dev);
    auto c = choose_gpu(GpuSelector{}, visible, place(dev));
    ASSERT_TRUE(c.has_value()) << c.error().message();
    EXPECT_EQ(c->pci_address, gpu_bus(kGpuBus[static_cast<size_t>(k - 1)]));
    EXPECT_EQ(c->ordinal, 8 - k);
    EXPECT_EQ(c->path, PathClass::kPix);
    EXPECT_EQ(c->how, "nearest to " + dev + " (PIX)");
  }
}

TEST_F(HgxChoice, WhenThePodLacksTheNearestGpuTheNearestVisibleOneWins) {
  // The pod got two GPUs: one on net1's socket, one across it.
  const auto visible = cuda_sees({"99", "3b"});
  auto c = choose_gpu(GpuSelector{}, visible, place("mlx5_10"));
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->pci_address, "0000:3b:00.0");
  EXPECT_EQ(c->ordinal, 1);
  ASSERT_TRUE(c->path.has_value());
  EXPECT_LT(*c->path, PathClass::kSys);
  EXPECT_GT(*c->path, PathClass::kPix);
  EXPECT_NE(c->how.find("the node's nearest, 0000:19:00.0 (PIX), is not visible here"), std::string::npos) << c->how;
}

TEST_F(HgxChoice, ForcedGpuKeepsItsDistanceClass) {
  const auto visible = cuda_sees({"3b", "99"});
  auto by_ordinal = choose_gpu(GpuSelector{.ordinal = 1, .bus_id = {}}, visible, place("mlx5_10"));
  ASSERT_TRUE(by_ordinal.has_value()) << by_ordinal.error().message();
  EXPECT_EQ(by_ordinal->pci_address, "0000:99:00.0");
  EXPECT_EQ(by_ordinal->path, PathClass::kSys) << "net1 is on socket 0, GPU 99 on socket 1";
  EXPECT_EQ(by_ordinal->how, "asked for (cuda:1 to mlx5_10: SYS)");

  auto sel = parse_gpu_selector("99:00.0");
  ASSERT_TRUE(sel.has_value());
  auto by_bus = choose_gpu(*sel, visible, place("mlx5_14"));  // net5, PF 98: PIX to GPU 99
  ASSERT_TRUE(by_bus.has_value()) << by_bus.error().message();
  EXPECT_EQ(by_bus->ordinal, 1);
  EXPECT_EQ(by_bus->path, PathClass::kPix);
}

TEST_F(HgxChoice, ForcedGpuCudaDoesNotSeeNamesTheOnesItDoes) {
  const auto visible = cuda_sees({"3b", "99"});
  auto c = choose_gpu(GpuSelector{.ordinal = 5, .bus_id = {}}, visible, place("mlx5_10"));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, Errc::kNotFound);
  EXPECT_EQ(c.error().message(), "GPU 5; CUDA sees: 0 (0000:3b:00.0), 1 (0000:99:00.0)");
  auto b = choose_gpu(*parse_gpu_selector("0000:19:00.0"), visible, place("mlx5_10"));
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().what, "GPU 0000:19:00.0");
}

TEST_F(HgxChoice, ADeviceOutsideTheMapGetsTheFirstGpuAndSaysWhy) {
  auto c = choose_gpu(GpuSelector{}, cuda_sees({"4c", "19"}), place("rxe0"));
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->ordinal, 0);
  EXPECT_FALSE(c->path.has_value());
  EXPECT_EQ(c->how, "GPU 0, the first: rxe0 is not in the rail map");
}

TEST_F(HgxChoice, NoGpuVisibleIsUnsupported) {
  auto c = choose_gpu(GpuSelector{}, {}, place("mlx5_10"));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, Errc::kUnsupported) << "a waived run, not a failed one";
}

TEST(GpuChoiceFromInputs, BuildsTheMapAndThePcieTreeItself) {
  auto c = choose_gpu_for(GpuSelector{}, cuda_sees({"bb", "5d"}), "mlx5_13",  // net4: PIX to GPU 5d
                          inputs_for("hgx-roce", "hgx-h100-8gpu.xml"));
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->pci_address, "0000:5d:00.0");
  EXPECT_EQ(c->ordinal, 1);
  EXPECT_EQ(c->path, PathClass::kPix);
}

TEST(GpuChoiceFromInputs, IbVfMeasuredFromItsPfIsPxb) {
  // ib-sriov: hwloc does not list net2's VF; its PF is PXB to GPU 0.
  const RailMap map = build_ok(inputs_for("ib-sriov", "more-nics-than-gpus.xml"));
  ASSERT_EQ(map.gpus.size(), 2u);
  std::vector<GpuInfo> visible;
  for (const auto& g : map.gpus) visible.push_back(GpuInfo{.index = g.ordinal, .name = {}, .pci_bus_id = g.pci_address});
  auto c = choose_gpu_for(GpuSelector{}, visible, "mlx5_5", inputs_for("ib-sriov", "more-nics-than-gpus.xml"));
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->ordinal, 0);
  EXPECT_EQ(c->path, PathClass::kPxb);
  auto net1 = choose_gpu_for(GpuSelector{}, visible, "mlx5_4", inputs_for("ib-sriov", "more-nics-than-gpus.xml"));
  ASSERT_TRUE(net1.has_value()) << net1.error().message();
  EXPECT_EQ(net1->ordinal, 1);
  EXPECT_EQ(net1->path, PathClass::kPix);
}

TEST(GpuChoiceFromInputs, TheOnlyGpuAcrossTheSocketIsChosenAndRecordedSys) {
  const RailMap map = build_ok(inputs_for("sys-split", "sys-split.xml"));
  ASSERT_EQ(map.gpus.size(), 1u);
  auto c = choose_gpu_for(GpuSelector{}, {GpuInfo{.index = 0, .name = {}, .pci_bus_id = map.gpus[0].pci_address}},
                          "mlx5_1", inputs_for("sys-split", "sys-split.xml"));
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->path, PathClass::kSys);
  EXPECT_EQ(c->how, "nearest to mlx5_1 (SYS)");
}

TEST(GpuChoiceFromInputs, NoRailMapLeavesTheDistanceUnknownNotTheRunFailed) {
  topology::RailMapInputs in = inputs_for("hgx-roce", "hgx-h100-8gpu.xml");
  in.podinfo_dir = "/nonexistent/podinfo";
  auto c = choose_gpu_for(GpuSelector{}, cuda_sees({"19"}), "mlx5_10", in);
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_FALSE(c->path.has_value());
  EXPECT_NE(c->how.find("GPU 0, the first: no rail map: "), std::string::npos) << c->how;
  EXPECT_NE(c->how.find("/nonexistent/podinfo/annotations"), std::string::npos) << c->how;
}

TEST(GpuSelector, OrdinalOrBusIdInAnyCommonSpelling) {
  EXPECT_TRUE(parse_gpu_selector("")->automatic());
  EXPECT_EQ(parse_gpu_selector("3")->ordinal, 3);
  EXPECT_EQ(parse_gpu_selector("0000:18:00.0")->bus_id, "0000:18:00.0");
  EXPECT_EQ(parse_gpu_selector("18:00.0")->bus_id, "0000:18:00.0");
  EXPECT_EQ(parse_gpu_selector("00000000:3B:00.0")->bus_id, "0000:3b:00.0") << "as nvidia-smi writes it";
  for (const char* bad : {"-1", "gpu0", "3x"}) {
    auto s = parse_gpu_selector(bad);
    ASSERT_FALSE(s.has_value()) << bad;
    EXPECT_EQ(s.error().code, Errc::kInvalidArgument);
  }
}

}  // namespace
}  // namespace railcheck::gpudirect
