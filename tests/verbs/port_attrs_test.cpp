#include "verbs/port_attrs.hpp"

#include <gtest/gtest.h>

#include "support/gid.hpp"

namespace railcheck::verbs {
namespace {

using testing::gid;

TEST(PortAttrs, MtuRoundTrips) {
  for (uint32_t bytes : {256u, 512u, 1024u, 2048u, 4096u}) {
    auto m = mtu_from_bytes(bytes);
    ASSERT_TRUE(m.has_value()) << bytes;
    EXPECT_EQ(mtu_bytes(*m), bytes);
  }
  EXPECT_FALSE(mtu_from_bytes(1500).has_value());
  EXPECT_FALSE(mtu_from_bytes(9000).has_value());
}

TEST(PortAttrs, RateFromSpeedAndWidth) {
  EXPECT_DOUBLE_EQ(rate_gbps(128, 2), 400.0);  // NDR 4x: ConnectX-7
  EXPECT_DOUBLE_EQ(rate_gbps(64, 2), 200.0);   // HDR 4x
  EXPECT_DOUBLE_EQ(rate_gbps(32, 2), 100.0);   // EDR 4x
  EXPECT_DOUBLE_EQ(rate_gbps(1, 1), 2.5);      // SDR 1x
  EXPECT_DOUBLE_EQ(rate_gbps(128, 16), 200.0); // NDR 2x
  EXPECT_DOUBLE_EQ(rate_gbps(3, 2), 0.0);      // unknown speed code
  EXPECT_DOUBLE_EQ(rate_gbps(32, 3), 0.0);     // unknown width code
}

TEST(PortAttrs, StateNames) {
  EXPECT_EQ(port_state_name(IBV_PORT_ACTIVE), "ACTIVE");
  EXPECT_EQ(port_state_name(IBV_PORT_DOWN), "DOWN");
  EXPECT_EQ(phys_state_name(5), "LINK_UP");
  EXPECT_EQ(phys_state_name(3), "DISABLED");
  EXPECT_EQ(phys_state_name(42), "UNKNOWN");
  EXPECT_EQ(link_layer_name(IBV_LINK_LAYER_ETHERNET), "Ethernet");
  EXPECT_EQ(link_layer_name(IBV_LINK_LAYER_INFINIBAND), "InfiniBand");
  EXPECT_EQ(link_layer_name(IBV_LINK_LAYER_UNSPECIFIED), "InfiniBand");
}

TEST(PortAttrs, GidTypes) {
  EXPECT_EQ(gid_type_from_verbs(IBV_GID_TYPE_ROCE_V2), GidType::kRoceV2);
  EXPECT_EQ(gid_type_from_verbs(IBV_GID_TYPE_ROCE_V1), GidType::kRoceV1);
  EXPECT_EQ(gid_type_from_verbs(IBV_GID_TYPE_IB), GidType::kIb);
  EXPECT_FALSE(gid_type_from_verbs(7).has_value());
  EXPECT_EQ(to_string(GidType::kRoceV2), "RoCEv2");
}

TEST(PortAttrs, Ipv4MappedGid) {
  ibv_gid g = gid("::ffff:172.16.11.10");
  EXPECT_EQ(gid_to_string(g), "::ffff:172.16.11.10");
  EXPECT_EQ(gid_ipv4(g), "172.16.11.10");
}

TEST(PortAttrs, LinkLocalGidHasNoIpv4) {
  ibv_gid g = gid("fe80::5054:ff:fe12:3456");
  EXPECT_EQ(gid_to_string(g), "fe80::5054:ff:fe12:3456");
  EXPECT_FALSE(gid_ipv4(g).has_value());
}

}  // namespace
}  // namespace railcheck::verbs
