// The node view (every RDMA NIC of the node, the GPU x NIC matrix, each GPU's own rail) and the
// rail_per_gpu check, over the hwloc XML shapes: the HGX H100 (each GPU's own ConnectX-7 at PIX,
// two storage ConnectX-6 Dx not rails), the degraded HGX (two GPUs sharing one NIC, a GPU whose
// nearest NIC is SYS), and more-nics-than-gpus (a VF folded under its PF, PXB and PHB NICs).
#include "topology/node_view.hpp"

#include "rail_fixtures.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "topology/node_checks.hpp"

namespace railcheck::topology {
namespace {

using namespace testing;  // rail_fixtures.hpp

// The node alone: an empty sysfs (no pod, no rails), the XML's tree.
RailMap node_only(const std::string& xml, std::vector<std::string> non_rail = {}) {
  static int n = 0;
  const std::string root = std::filesystem::temp_directory_path() /
                           ("railcheck_node_" + std::to_string(::getpid()) + "_" + std::to_string(++n));
  std::filesystem::create_directories(root);
  RailMap map = build_ok(RailMapInputs{.podinfo_dir = {},
                                       .sysfs_root = root,
                                       .hwloc_xml = kFixtures + "/hwloc/" + xml,
                                       .env = {},
                                       .non_rail_nics = std::move(non_rail)});
  std::filesystem::remove_all(root);
  return map;
}

std::vector<std::string> names(const NodeView& view) {
  std::vector<std::string> out;
  for (const NodeNic& n : view.nics) out.push_back(n.name);
  return out;
}

const CheckResult* find(const std::vector<CheckResult>& results, const std::string& subject) {
  return find_subject(results, subject);
}

TEST(NodeView, HgxEveryGpuHasItsOwnNicAtPixAndStorageNicsAreNotRails) {
  const RailMap map = build_ok(inputs_for("hgx-roce", "hgx-h100-8gpu.xml"));
  ASSERT_TRUE(map.node.has_value());
  const NodeView& view = *map.node;
  EXPECT_EQ(names(view), (std::vector<std::string>{"mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3", "mlx5_4", "mlx5_5",
                                                   "mlx5_6", "mlx5_7", "mlx5_8", "mlx5_9"}));
  const std::vector<std::string> own = {"mlx5_0", "mlx5_3", "mlx5_4", "mlx5_5", "mlx5_6", "mlx5_7", "mlx5_8", "mlx5_9"};
  ASSERT_EQ(view.gpu_rail.size(), 8u);
  for (size_t g = 0; g < 8; ++g) {
    SCOPED_TRACE(g);
    ASSERT_TRUE(view.gpu_rail[g].has_value());
    EXPECT_EQ(view.nics[*view.gpu_rail[g]].name, own[g]);
    EXPECT_EQ(view.gpu_nic[g][*view.gpu_rail[g]], PathClass::kPix);
  }
  for (size_t storage : {1u, 2u}) {
    const NodeNic& nic = view.nics[storage];
    EXPECT_FALSE(nic.rail);
    EXPECT_EQ(nic.role, "not a rail: on no GPU's PCIe switch (NODE to GPU0): storage or management");
    EXPECT_EQ(nic.device_name, "MT2892 Family [ConnectX-6 Dx]");
  }
  EXPECT_TRUE(view.nics[0].rail);
  EXPECT_EQ(view.nics[0].role, "rail");
  EXPECT_EQ(view.nics[0].numa_node, 0);
  EXPECT_EQ(view.nics[6].numa_node, 1);
  // The matrix in nvidia-smi's classes: GPU0 against its own NIC, a storage NIC, the far socket.
  EXPECT_EQ(view.gpu_nic[0][0], PathClass::kPix);
  EXPECT_EQ(view.gpu_nic[0][1], PathClass::kNode);
  EXPECT_EQ(view.gpu_nic[0][3], PathClass::kNode);
  EXPECT_EQ(view.gpu_nic[0][6], PathClass::kSys);
  EXPECT_EQ(view.gpu_nic[7][9], PathClass::kPix);

  const auto results = check_rail_per_gpu(map, PathClass::kSys);
  ASSERT_EQ(results.size(), 8u);
  for (const CheckResult& r : results) EXPECT_EQ(r.verdict, Verdict::kPass) << r.subject << ": " << r.reason;
  EXPECT_EQ(find(results, "GPU0")->reason, "mlx5_0 (0000:18:00.0) at PIX: a rail of its own");
  EXPECT_EQ(find(results, "GPU7")->reason, "mlx5_9 (0000:dc:00.0) at PIX: a rail of its own");
}

TEST(NodeView, DegradedTwoGpusShareOneNicAndOneGpuHasOnlyASysNic) {
  const RailMap map = node_only("hgx-degraded.xml");
  ASSERT_TRUE(map.node.has_value());
  EXPECT_TRUE(map.ports.empty());
  EXPECT_EQ(names(*map.node), (std::vector<std::string>{"mlx5_0", "mlx5_2", "mlx5_1"}));  // by bus id
  EXPECT_FALSE(map.node->nics[1].rail);                                               // storage
  const auto results = check_rail_per_gpu(map, PathClass::kSys);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(find(results, "GPU0")->verdict, Verdict::kPass);
  EXPECT_EQ(find(results, "GPU1")->verdict, Verdict::kPass);
  EXPECT_EQ(find(results, "GPU1")->reason, "mlx5_1 (0000:3a:00.0) at PIX: a rail of its own");
  const CheckResult* shared = find(results, "GPU2");
  EXPECT_EQ(shared->verdict, Verdict::kWarn);
  EXPECT_EQ(shared->reason,
            "shares mlx5_1 (0000:3a:00.0) (PIX) with GPU1: no PIX/PXB rail is left for it, and two GPUs on one NIC "
            "get half its bandwidth each");
  const CheckResult* far = find(results, "GPU3");
  EXPECT_EQ(far->verdict, Verdict::kFail);
  EXPECT_EQ(far->reason,
            "no rail NIC at PIX/PXB; the nearest RDMA NIC, mlx5_0 (0000:18:00.0), is SYS (across the CPU sockets)");
}

TEST(NodeView, AVfIsFoldedUnderItsPfAndClassesGoBeyondPix) {
  const RailMap map = node_only("more-nics-than-gpus.xml");
  ASSERT_TRUE(map.node.has_value());
  const NodeView& view = *map.node;
  EXPECT_EQ(names(view), (std::vector<std::string>{"mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"}));
  EXPECT_EQ(view.nics[3].pci_address, "0000:84:00.0");
  EXPECT_EQ(view.nics[3].vfs, (std::vector<std::string>{"0000:84:00.2"}));
  EXPECT_EQ(view.gpu_nic[0][0], PathClass::kPxb);
  EXPECT_EQ(view.gpu_nic[0][1], PathClass::kPhb);
  EXPECT_EQ(view.gpu_nic[0][2], PathClass::kNode);
  EXPECT_EQ(view.gpu_nic[1][3], PathClass::kPix);
  EXPECT_TRUE(view.nics[0].rail);   // PXB to GPU0
  EXPECT_FALSE(view.nics[1].rail);  // PHB only
  EXPECT_EQ(view.gpu_rail[0], std::optional<size_t>(0));
  EXPECT_EQ(view.gpu_rail[1], std::optional<size_t>(3));
  const auto results = check_rail_per_gpu(map, PathClass::kSys);
  EXPECT_EQ(find(results, "GPU0")->reason, "mlx5_0 (0000:0a:00.0) at PXB: a rail of its own");
}

TEST(NodeView, ANicNamedNotARailIsNotCounted) {
  const RailMap map = node_only("more-nics-than-gpus.xml", {"mlx5_0"});
  const NodeView& view = *map.node;
  EXPECT_FALSE(view.nics[0].rail);
  EXPECT_EQ(view.nics[0].role, "not a rail: named by --non-rail-nic");
  const auto results = check_rail_per_gpu(map, PathClass::kSys);
  const CheckResult* gpu0 = find(results, "GPU0");
  EXPECT_EQ(gpu0->verdict, Verdict::kWarn);
  EXPECT_EQ(gpu0->reason,
            "no rail NIC at PIX/PXB; the nearest RDMA NIC, mlx5_0 (0000:0a:00.0), is PXB (behind several PCIe "
            "switches) and not a rail: named by --non-rail-nic");
  // By bus id or netdev as well.
  EXPECT_FALSE(node_only("more-nics-than-gpus.xml", {"0000:0a:00.0"}).node->nics[0].rail);
  EXPECT_FALSE(node_only("more-nics-than-gpus.xml", {"0a:00.0"}).node->nics[0].rail);
  EXPECT_FALSE(node_only("more-nics-than-gpus.xml", {"ibp10s0"}).node->nics[0].rail);
}

TEST(NodeView, NoGpuNoRails) {
  const RailMap map = node_only("no-gpu.xml");
  ASSERT_TRUE(map.node.has_value());
  EXPECT_EQ(map.node->nics.size(), 2u);
  for (const NodeNic& n : map.node->nics) EXPECT_EQ(n.role, "not a rail: no GPU on the node");
  const auto results = check_rail_per_gpu(map, PathClass::kSys);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].verdict, Verdict::kWaived);
  EXPECT_EQ(results[0].reason, "no GPU on this node");
  EXPECT_EQ(check_rail_per_gpu(RailMap{}, PathClass::kSys)[0].reason, "no hwloc tree of the node");
}

}  // namespace
}  // namespace railcheck::topology
