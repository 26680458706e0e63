#include "topology/network_status.hpp"

#include <gtest/gtest.h>

#include "topology/podinfo.hpp"

namespace railcheck::topology {
namespace {

const std::string kFixtures = RAILCHECK_FIXTURES;

TEST(NetworkStatus, ParsesSpiderpoolPodAnnotation) {
  auto ann = read_annotations_file(kFixtures + "/annotations_spiderpool");
  ASSERT_TRUE(ann.has_value()) << ann.error().message();
  auto st = parse_network_status(ann->at(std::string(kNetworkStatusKey)));
  ASSERT_TRUE(st.has_value()) << st.error().message();
  ASSERT_EQ(st->size(), 3u);

  const NetworkStatus& eth0 = (*st)[0];
  EXPECT_EQ(eth0.name, "kube-system/calico");
  EXPECT_EQ(eth0.interface, "eth0");
  EXPECT_TRUE(eth0.is_default);
  EXPECT_FALSE(eth0.pci.has_value());

  const NetworkStatus& net1 = (*st)[1];
  EXPECT_EQ(net1.name, "spiderpool/gpu1-sriov");
  EXPECT_EQ(net1.interface, "net1");
  EXPECT_EQ(net1.ips, std::vector<std::string>{"172.16.11.10"});
  EXPECT_EQ(net1.mac, "06:9f:0e:a1:4c:11");
  EXPECT_EQ(net1.gateways, std::vector<std::string>{"172.16.11.254"});
  EXPECT_FALSE(net1.is_default);
  ASSERT_TRUE(net1.pci.has_value());
  EXPECT_EQ(net1.pci->pci_address, "0000:19:00.2");
  EXPECT_EQ(net1.pci->rdma_device, "mlx5_13");
  EXPECT_EQ(net1.pci->pf_pci_address, "0000:19:00.0");

  const NetworkStatus& net2 = (*st)[2];
  EXPECT_EQ(net2.ips, (std::vector<std::string>{"172.16.12.10", "fd00:12::10"}));
  ASSERT_TRUE(net2.pci.has_value());
  EXPECT_EQ(net2.pci->rdma_device, "");  // device-info 1.0.0 without rdma-device
  EXPECT_TRUE(net2.gateways.empty());
}

TEST(NetworkStatus, NonPciDeviceInfoHasNoPci) {
  auto st = parse_network_status(
      R"([{"name":"a/vdpa","interface":"net1","device-info":{"type":"vdpa","version":"1.1.0","vdpa":{}}}])");
  ASSERT_TRUE(st.has_value()) << st.error().message();
  EXPECT_FALSE((*st)[0].pci.has_value());
}

struct BadCase {
  const char* json;
  const char* error;
};

class NetworkStatusErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(NetworkStatusErrors, NameTheEntryAndField) {
  auto st = parse_network_status(GetParam().json);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Errc::kProtocol);
  EXPECT_EQ(st.error().what, GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, NetworkStatusErrors,
    ::testing::Values(
        BadCase{"[{", "k8s.v1.cni.cncf.io/network-status is not valid JSON"},
        BadCase{R"({"name":"x"})", "k8s.v1.cni.cncf.io/network-status must be a JSON array"},
        BadCase{R"([42])", "network-status entry 0 is not an object"},
        BadCase{R"([{"interface":"net1"}])", "network-status entry 0: \"name\" is missing"},
        BadCase{R"([{"name":"a","ips":"1.2.3.4"}])", "network-status entry 0 (a): \"ips\" must be an array"},
        BadCase{R"([{"name":"a"},{"name":"b","ips":[1]}])", "network-status entry 1 (b): \"ips\" must hold strings"},
        BadCase{R"([{"name":"a","default":"yes"}])", "network-status entry 0 (a): \"default\" must be true or false"},
        BadCase{R"([{"name":"a","device-info":{"type":"pci","pci":{"rdma-device":3}}}])",
                "network-status entry 0 (a): device-info.pci: \"rdma-device\" must be a string"}));

}  // namespace
}  // namespace railcheck::topology
