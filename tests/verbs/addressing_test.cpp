// The connection's hardware decisions, one table row per case, from what the references do:
// rc_pingpong.c (LID without GRH on one IB subnet, a GRH given a GID index), NCCL's net_ib (a
// GRH when the port says IBV_QPF_GRH_REQUIRED or the subnets differ, hop limit 255, the traffic
// class and SL from the configuration), perftest (outstanding reads from the device's limits,
// RoCE always global), ibv_modify_qp(3).
#include "verbs/addressing.hpp"
#include "verbs/endpoint.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "support/gid.hpp"

namespace railcheck::verbs {
namespace {

using testing::gid;

LocalPort ib_port() {
  return LocalPort{.port_num = 1, .roce = false, .grh_required = false, .lid = 7, .gid = gid("fe80::1"),
                   .gid_index = 0, .gid_index_given = false, .active_mtu_bytes = 4096, .max_qp_rd_atom = 16,
                   .max_qp_init_rd_atom = 16};
}

LocalPort roce_port() {
  LocalPort p = ib_port();
  p.roce = true;
  p.lid = 0;
  p.gid = gid("::ffff:172.16.11.10");
  p.gid_index = 3;
  return p;
}

struct AddrCase {
  const char* name;
  LocalPort local;
  RemotePort remote;
  PathSpec path;
  bool global;        // a GRH in the address vector
  uint16_t dlid;
  uint8_t hop_limit, tclass, sl;
  uint32_t flow_label;
  ibv_mtu mtu;
};

class Rtr : public ::testing::TestWithParam<AddrCase> {};

TEST_P(Rtr, AddressVector) {
  const AddrCase& c = GetParam();
  auto t = rtr_transition(c.local, c.remote, c.path, 0x1234, 0x55);
  ASSERT_TRUE(t.has_value()) << t.error().message();
  const ibv_ah_attr& ah = t->attr.ah_attr;
  EXPECT_EQ(ah.is_global, c.global ? 1 : 0);
  EXPECT_EQ(ah.dlid, c.dlid);
  EXPECT_EQ(ah.sl, c.sl);
  EXPECT_EQ(t->attr.path_mtu, c.mtu);
  EXPECT_EQ(t->attr.dest_qp_num, 0x1234u);
  EXPECT_EQ(t->attr.rq_psn, 0x55u);
  EXPECT_NE(t->mask & IBV_QP_AV, 0);
  if (c.global) {
    EXPECT_EQ(std::memcmp(ah.grh.dgid.raw, c.remote.gid.raw, 16), 0);
    EXPECT_EQ(ah.grh.sgid_index, c.local.gid_index);
    EXPECT_EQ(ah.grh.hop_limit, c.hop_limit);
    EXPECT_EQ(ah.grh.traffic_class, c.tclass);
    EXPECT_EQ(ah.grh.flow_label, c.flow_label);
  }
}

LocalPort with(LocalPort p, void (*f)(LocalPort&)) {
  f(p);
  return p;
}

const PathSpec kDefault{};
const PathSpec kLossless{.tclass = 106, .sl = 3, .flow_label = 0xabcde, .hop_limit = 255};

INSTANTIATE_TEST_SUITE_P(
    Table, Rtr,
    ::testing::Values(
        // IB, one subnet, no GRH asked: the LID alone (rc_pingpong without -g).
        AddrCase{"ib_same_subnet", ib_port(), RemotePort{9, gid("fe80::2"), 4096, 16}, kDefault, false, 9, 0, 0, 0, 0,
                 IBV_MTU_4096},
        // An SR-IOV IB VF: the port requires a GRH.
        AddrCase{"ib_grh_required", with(ib_port(), [](LocalPort& p) { p.grh_required = true; }),
                 RemotePort{9, gid("fe80::2"), 4096, 16}, kDefault, true, 9, 255, 0, 0, 0, IBV_MTU_4096},
        // Another subnet prefix: routed, a GRH (NCCL: subnets differ).
        AddrCase{"ib_other_subnet", ib_port(), RemotePort{9, gid("fec0::2"), 2048, 16}, kDefault, true, 9, 255, 0, 0, 0,
                 IBV_MTU_2048},
        // --gid-index given: a GRH even on one subnet (rc_pingpong -g).
        AddrCase{"ib_gid_index_given", with(ib_port(), [](LocalPort& p) { p.gid_index_given = true; }),
                 RemotePort{9, gid("fe80::2"), 4096, 16}, kLossless, true, 9, 255, 106, 3, 0xabcde, IBV_MTU_4096},
        // RoCE v2 over IPv4: always global, no LID, the smaller MTU.
        AddrCase{"roce_v4", roce_port(), RemotePort{0, gid("::ffff:172.16.11.11"), 1024, 16}, kDefault, true, 0, 255, 0,
                 0, 0, IBV_MTU_1024},
        // RoCE v2 over IPv6.
        AddrCase{"roce_v6", with(roce_port(), [](LocalPort& p) { p.gid = gid("fd00:233:11::10"); }),
                 RemotePort{0, gid("fd00:233:11::11"), 4096, 16}, kDefault, true, 0, 255, 0, 0, 0, IBV_MTU_4096},
        // Lossless RoCE: the traffic class and SL of the spec, in the GRH and the AV.
        AddrCase{"roce_tclass_sl", roce_port(), RemotePort{0, gid("::ffff:172.16.11.11"), 4096, 16}, kLossless, true, 0,
                 255, 106, 3, 0xabcde, IBV_MTU_4096}),
    [](const auto& row) { return std::string(row.param.name); });

TEST(Rtr, AnMtuNeitherSideCanUseIsAnError) {
  auto t = rtr_transition(roce_port(), RemotePort{0, gid("::ffff:1.2.3.4"), 100, 16}, kDefault, 1, 1);
  ASSERT_FALSE(t.has_value());
  EXPECT_NE(t.error().message().find("active MTU"), std::string::npos);
}

// Outstanding reads: min(own max_qp_init_rd_atom, the peer's max_qp_rd_atom), 1..255.
TEST(ReadCredits, MinOfBothSidesWithinAByte) {
  struct Row {
    int own_init, own_rd, peer_rd;
    uint8_t depth, resources;
  };
  const Row rows[] = {
      {16, 16, 16, 16, 16},  // ConnectX to ConnectX
      {16, 16, 4, 4, 16},    // a peer that serves 4 (an older HCA): never more in flight than it takes
      {128, 128, 16, 16, 128},  // rxe (128) to mlx5 (16)
      {16, 16, 0, 16, 16},   // the peer did not say (protocol 2): own limit
      {0, 0, 16, 1, 1},      // a device reporting 0: at least 1
      {1000, 1000, 1000, 255, 255},  // a byte at most
  };
  for (const Row& r : rows) {
    LocalPort l = ib_port();
    l.max_qp_init_rd_atom = r.own_init;
    l.max_qp_rd_atom = r.own_rd;
    RemotePort p{9, gid("fe80::2"), 4096, r.peer_rd};
    EXPECT_EQ(initiator_depth(l, p), r.depth) << r.own_init << "/" << r.peer_rd;
    EXPECT_EQ(responder_resources(l), r.resources);
    EXPECT_EQ(rts_transition(l, p, 7).attr.max_rd_atomic, r.depth);
    auto rtr = rtr_transition(l, p, kDefault, 1, 1);
    ASSERT_TRUE(rtr.has_value());
    EXPECT_EQ(rtr->attr.max_dest_rd_atomic, r.resources);
  }
}

// The pkey table of an IB VF as ib-kubernetes leaves it: index 0 the default limited member,
// the network's partition in full and limited membership.
TEST(Pkey, NetworkPkeyElseFirstFullMember) {
  const uint16_t vf[] = {0x7fff, 0x8001, 0x0002, 0x8003};
  struct Row {
    std::optional<uint16_t> wanted;
    std::optional<uint16_t> index;  // nullopt: an error
  };
  const Row rows[] = {
      {std::nullopt, 1},     // none asked: the first full member, not a hard-coded 0
      {0x8001, 1},           // the network's pkey, full
      {0x0001, 1},           // asked as limited, the full entry of the same pkey preferred
      {0x0002, 2},           // only a limited entry of it: that one
      {0x8003, 3},
      {0x8004, std::nullopt},  // not on this port's partitions: say so
  };
  for (const Row& r : rows) {
    auto i = choose_pkey_index(vf, r.wanted);
    if (r.index) {
      ASSERT_TRUE(i.has_value()) << (r.wanted ? *r.wanted : 0);
      EXPECT_EQ(*i, *r.index);
    } else {
      EXPECT_FALSE(i.has_value());
    }
  }
  const uint16_t limited_only[] = {0x7fff, 0x0005};
  auto none = choose_pkey_index(limited_only, std::nullopt);
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().message().find("full-member"), std::string::npos);
  EXPECT_EQ(choose_pkey_index({}, std::nullopt), uint16_t{0});  // RoCE: no table
  const uint16_t full_default[] = {0xffff};
  EXPECT_EQ(choose_pkey_index(full_default, std::nullopt), uint16_t{0});
}

// A RoCE port's GID table as the kernel fills it: link-local v1/v2, then IPv4-mapped v1/v2,
// then a global IPv6 address's v1/v2.
TEST(RoceGid, TheRailsAddressElseIpv4ElseGlobalIpv6) {
  const GidEntry table[] = {
      {0, GidType::kRoceV1, gid("fe80::8c1:1ff:fe00:a")}, {1, GidType::kRoceV2, gid("fe80::8c1:1ff:fe00:a")},
      {2, GidType::kRoceV1, gid("::ffff:172.16.11.10")},  {3, GidType::kRoceV2, gid("::ffff:172.16.11.10")},
      {4, GidType::kRoceV1, gid("fd00:233:11::10")},      {5, GidType::kRoceV2, gid("fd00:233:11::10")},
  };
  EXPECT_EQ(choose_roce_gid(table, "172.16.11.10")->index, 3u);
  EXPECT_EQ(choose_roce_gid(table, "fd00:233:11::10")->index, 5u);
  EXPECT_EQ(choose_roce_gid(table, "")->index, 3u);  // no address given: IPv4 first
  const GidEntry v6_only[] = {table[1], table[5]};
  EXPECT_EQ(choose_roce_gid(v6_only, "")->index, 5u);  // a global IPv6 one, never the link-local
  const GidEntry link_local_only[] = {table[0], table[1]};
  EXPECT_FALSE(choose_roce_gid(link_local_only, "").has_value());
  auto missing = choose_roce_gid(table, "172.16.11.99");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find("172.16.11.99"), std::string::npos);
  EXPECT_FALSE(choose_roce_gid(table, "not an address").has_value());
  // --ipv6 (both ends): the global IPv6 entry, the rail's IPv4 address only naming the interface.
  EXPECT_EQ(choose_roce_gid(table, "", true)->index, 5u);
  EXPECT_EQ(choose_roce_gid(table, "172.16.11.10", true)->index, 5u);
  EXPECT_EQ(choose_roce_gid(table, "fd00:233:11::10", true)->index, 5u);
  const GidEntry v4_only[] = {table[0], table[1], table[2], table[3]};
  auto no_v6 = choose_roce_gid(v4_only, "", true);
  ASSERT_FALSE(no_v6.has_value());
  EXPECT_NE(no_v6.error().message().find("global IPv6"), std::string::npos) << no_v6.error().message();
  EXPECT_TRUE(check_gid_families(gid("::ffff:172.16.11.10"), gid("::ffff:172.16.11.11")).has_value());
  EXPECT_TRUE(check_gid_families(gid("fd00:233:11::10"), gid("fd00:233:11::11")).has_value());
  auto mixed = check_gid_families(gid("::ffff:172.16.11.10"), gid("fd00:233:11::11"));
  ASSERT_FALSE(mixed.has_value());
  EXPECT_EQ(mixed.error().code, Errc::kPeer);
  EXPECT_NE(mixed.error().message().find("fd00:233:11::11"), std::string::npos) << mixed.error().message();
  EXPECT_EQ(gid_address("::ffff:172.16.11.10"), "172.16.11.10");
  EXPECT_EQ(gid_address("fd00:233:11::10"), "fd00:233:11::10");
  EXPECT_EQ(gid_address("fe80::8c1:1ff:fe00:a"), "");
  EXPECT_EQ(gid_address("::"), "");
  EXPECT_TRUE(link_local(gid("fe80::1")));
  EXPECT_FALSE(link_local(gid("fd00::1")));
}

// Inline stepping: QP creation is retried with a smaller max_inline_data until the device
// takes one; what it took is recorded. One row per device limit (the largest inline size it
// accepts), the steps tried in order.
struct InlineCase {
  const char* name;
  int device_max;  // the largest max_inline_data the device accepts; -1: it refuses every QP
  uint32_t chosen;
  std::vector<uint32_t> tried;
};

class InlineSteps : public ::testing::TestWithParam<InlineCase> {};

TEST_P(InlineSteps, TheLargestTheDeviceTakes) {
  const InlineCase& c = GetParam();
  std::vector<uint32_t> tried;
  int token = 0;
  auto [made, bytes] = create_stepping_inline([&](uint32_t b) -> int* {
    tried.push_back(b);
    return c.device_max >= 0 && b <= static_cast<uint32_t>(c.device_max) ? &token : nullptr;
  });
  EXPECT_EQ(made != nullptr, c.device_max >= 0);
  EXPECT_EQ(bytes, c.chosen);
  EXPECT_EQ(tried, c.tried);
}

INSTANTIATE_TEST_SUITE_P(
    Devices, InlineSteps,
    ::testing::Values(InlineCase{"takes_220_or_more", 912, 220, {220}},
                      InlineCase{"takes_up_to_128", 128, 128, {220, 128}},
                      InlineCase{"takes_up_to_100", 100, 96, {220, 128, 96}},
                      InlineCase{"takes_up_to_64", 64, 64, {220, 128, 96, 64}},
                      InlineCase{"takes_up_to_32", 60, 32, {220, 128, 96, 64, 32}},
                      InlineCase{"no_inline", 0, 0, {220, 128, 96, 64, 32, 0}},
                      InlineCase{"refuses_every_qp", -1, 0, {220, 128, 96, 64, 32, 0}}),
    [](const auto& row) { return std::string(row.param.name); });

}  // namespace
}  // namespace railcheck::verbs
