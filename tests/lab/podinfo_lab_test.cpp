// The lab writes each pod's network-status the way Multus does; railcheck's own parser must
// read it and find every rail's interface, IP, MAC and RDMA device in it.
#include <gtest/gtest.h>

#include <algorithm>

#include "lab/lab_env.hpp"
#include "topology/network_status.hpp"
#include "topology/podinfo.hpp"

namespace railcheck {
namespace {

TEST(PodinfoLab, EachPodsNetworkStatusNamesItsRails) {
  RAILCHECK_REQUIRE_LAB(map);
  for (const lab::Pod& pod : map.pods) {
    SCOPED_TRACE(pod.name);
    auto ann = topology::read_annotations_file(pod.podinfo + "/annotations");
    ASSERT_TRUE(ann.has_value()) << ann.error().message();
    auto it = ann->find(topology::kNetworkStatusKey);
    ASSERT_NE(it, ann->end());
    auto status = topology::parse_network_status(it->second);
    ASSERT_TRUE(status.has_value()) << status.error().message();
    ASSERT_EQ(status->size(), pod.rails.size() + 1);

    const topology::NetworkStatus& primary = status->front();
    EXPECT_TRUE(primary.is_default);
    EXPECT_EQ(primary.interface, "eth0");
    EXPECT_EQ(primary.ips, std::vector<std::string>{pod.eth0});

    for (const lab::RailPort& rp : pod.rails) {
      auto st = std::ranges::find(*status, rp.interface, &topology::NetworkStatus::interface);
      ASSERT_NE(st, status->end()) << rp.interface;
      EXPECT_EQ(st->name, rp.network);
      EXPECT_EQ(st->ips, std::vector<std::string>{rp.ip});
      EXPECT_EQ(st->mac, rp.mac);
      ASSERT_TRUE(st->pci.has_value());
      EXPECT_EQ(st->pci->rdma_device, rp.rdma_device);
      EXPECT_FALSE(st->pci->pci_address.empty());
    }
  }
}

}  // namespace
}  // namespace railcheck
