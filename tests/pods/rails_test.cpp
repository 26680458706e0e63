#include "pods/rails.hpp"

#include <gtest/gtest.h>

namespace railcheck::pods {
namespace {

std::vector<std::string> member_nodes(const reports::RailInfo& r) {
  std::vector<std::string> out;
  for (const auto& m : r.members) out.push_back(m.node);
  return out;
}

TEST(Rails, GroupByMultusNetworkName) {
  const std::vector<NodeFacts> nodes{
      {"node-a", {{"net1", "spiderpool/gpu1-sriov", "172.16.11.10", 24, "mlx5_0"},
                  {"net2", "spiderpool/gpu2-sriov", "172.16.12.10", 24, "mlx5_1"}}},
      // Interface names may differ between nodes; the network decides.
      {"node-b", {{"net2", "spiderpool/gpu1-sriov", "172.16.11.11", 24, "mlx5_4"},
                  {"net1", "spiderpool/gpu2-sriov", "172.16.12.11", 24, "mlx5_5"}}},
  };
  const RailGrouping g = group_rails(nodes);
  ASSERT_EQ(g.rails.size(), 2u);
  EXPECT_EQ(g.rails[0].name, "spiderpool/gpu1-sriov");
  EXPECT_EQ(g.rails[0].grouped_by, "network");
  EXPECT_EQ(member_nodes(g.rails[0]), (std::vector<std::string>{"node-a", "node-b"}));
  EXPECT_EQ(g.rails[0].members[1].interface, "net2");
  EXPECT_EQ(g.rails[1].members[1].interface, "net1");
  EXPECT_TRUE(g.rails[0].missing_nodes.empty());
  EXPECT_TRUE(g.notes.empty());
}

TEST(Rails, GroupBySubnetWithoutNetworkNamesAndSayWhich) {
  const std::vector<NodeFacts> nodes{
      {"n1", {{"net1", "", "10.1.0.5", 16, "rxe0"}, {"net2", "", "10.2.0.5", 16, "rxe1"}}},
      {"n2", {{"net1", "", "10.1.200.9", 16, "rxe0"}, {"net2", "", "10.2.3.4", 16, "rxe1"}}},
  };
  const RailGrouping g = group_rails(nodes);
  ASSERT_EQ(g.rails.size(), 2u);
  EXPECT_EQ(g.rails[0].name, "10.1.0.0/16");
  EXPECT_EQ(g.rails[0].grouped_by, "subnet");
  EXPECT_EQ(g.rails[1].name, "10.2.0.0/16");
  EXPECT_EQ(member_nodes(g.rails[1]), (std::vector<std::string>{"n1", "n2"}));
}

TEST(Rails, UnknownPrefixAssumesSlash24AndNotesIt) {
  const std::vector<NodeFacts> nodes{{"n1", {{"net1", "", "172.16.12.10", 0, "rxe0"}}},
                                     {"n2", {{"net1", "", "172.16.12.11", 0, "rxe0"}}}};
  const RailGrouping g = group_rails(nodes);
  ASSERT_EQ(g.rails.size(), 1u);
  EXPECT_EQ(g.rails[0].name, "172.16.12.0/24");
  ASSERT_EQ(g.notes.size(), 1u);
  EXPECT_NE(g.notes[0].find("assuming /24"), std::string::npos) << g.notes[0];
}

TEST(Rails, NodesMissingARailAreNamed) {
  const std::vector<NodeFacts> nodes{
      {"n1", {{"net1", "r1", "10.0.1.1", 24, "d"}, {"net2", "r2", "10.0.2.1", 24, "d"}}},
      {"n2", {{"net1", "r1", "10.0.1.2", 24, "d"}}},
      {"n3", {{"net1", "r1", "10.0.1.3", 24, "d"}, {"net2", "r2", "10.0.2.3", 24, "d"}}},
  };
  const RailGrouping g = group_rails(nodes);
  ASSERT_EQ(g.rails.size(), 2u);
  EXPECT_TRUE(g.rails[0].missing_nodes.empty());
  EXPECT_EQ(g.rails[1].missing_nodes, (std::vector<std::string>{"n2"}));
}

TEST(Rails, TwoInterfacesOfOneNodeOnOneRailKeepTheFirstAndSaySo) {
  const std::vector<NodeFacts> nodes{{"n1", {{"net1", "r1", "10.0.1.1", 24, "d0"}, {"net2", "r1", "10.0.1.9", 24, "d1"}}}};
  const RailGrouping g = group_rails(nodes);
  ASSERT_EQ(g.rails.size(), 1u);
  ASSERT_EQ(g.rails[0].members.size(), 1u);
  EXPECT_EQ(g.rails[0].members[0].interface, "net1");
  ASSERT_EQ(g.notes.size(), 1u);
  EXPECT_NE(g.notes[0].find("net1, net2"), std::string::npos) << g.notes[0];
}

TEST(Rails, InterfaceWithNeitherNameNorAddressIsLeftOutWithANote) {
  const std::vector<NodeFacts> nodes{{"n1", {{"net1", "", "", 0, "d0"}}}};
  const RailGrouping g = group_rails(nodes);
  EXPECT_TRUE(g.rails.empty());
  ASSERT_EQ(g.notes.size(), 1u);
  EXPECT_NE(g.notes[0].find("n1 net1"), std::string::npos);
}

TEST(Rails, Ipv4Subnet) {
  EXPECT_EQ(ipv4_subnet("192.168.7.200", 24), "192.168.7.0/24");
  EXPECT_EQ(ipv4_subnet("192.168.7.200", 32), "192.168.7.200/32");
  EXPECT_EQ(ipv4_subnet("192.168.7.200", 0), "0.0.0.0/0");
  EXPECT_EQ(ipv4_subnet("fe80::1", 64), "");
  EXPECT_EQ(ipv4_subnet("10.0.0.1", 33), "");
}

}  // namespace
}  // namespace railcheck::pods

namespace railcheck::pods {
namespace {

TEST(Rails, AMemberBelowTheRailsUsualMtuIsNamed) {
  reports::RailInfo rail{.name = "rail-1", .grouped_by = "network",
                         .members = {{"n0", "net1", "10.0.0.10"}, {"n1", "net1", "10.0.0.11"},
                                     {"n2", "net1", "10.0.0.12"}, {"n3", "net1", "10.0.0.13"}},
                         .missing_nodes = {}};
  const std::vector<std::optional<uint32_t>> mtus{4096, 1024, 4096, std::nullopt};
  EXPECT_EQ(mtu_mismatches(rail, mtus),
            (std::vector<std::string>{"rail rail-1: n1 net1 active MTU 1024, below the rail's 4096 (an MTU mismatch: "
                                      "give its interface the MTU of the others)"}));
  // All alike, or unknown: nothing to say.
  EXPECT_TRUE(mtu_mismatches(rail, std::vector<std::optional<uint32_t>>{1024, 1024, std::nullopt, 1024}).empty());
  // Half and half: the larger is the rail's.
  EXPECT_EQ(mtu_mismatches(rail, std::vector<std::optional<uint32_t>>{512, 1024, 512, 1024}).size(), 2u);
}

}  // namespace
}  // namespace railcheck::pods
