// The InfiniBand checks over the ib-kubernetes fixture (fixtures/sysfs/ib-kubernetes: four IB
// VFs after the ib-kubernetes flow, one right and three wrong in known ways) and the parsers of
// GUIDs, GUID pools and pkeys.
#include "topology/ib_checks.hpp"

#include "rail_fixtures.hpp"

#include <gtest/gtest.h>

namespace railcheck::topology {
namespace {

using namespace testing;  // rail_fixtures.hpp

RailMap ibk() { return build_ok(inputs_for("ib-kubernetes", "no-gpu.xml")); }

// ib-kubernetes' default pool.
const GuidPool kPool{.first = 0x0200000000000000, .last = 0x02ffffffffffffff};

const CheckResult* find(const std::vector<CheckResult>& results, const std::string& name,
                        const std::string& subject) {
  for (const CheckResult& r : results) {
    if (r.name == name && r.subject == subject) return &r;
  }
  return nullptr;
}

TEST(Guid, ParsesTheThreeSpellings) {
  EXPECT_EQ(parse_guid("02:00:00:00:00:00:00:01"), 0x0200000000000001u);
  EXPECT_EQ(parse_guid("02:FF:FF:FF:FF:FF:FF:FF"), 0x02ffffffffffffffu);
  EXPECT_EQ(parse_guid("a088:c203:00a1:0001"), 0xa088c20300a10001u);
  EXPECT_EQ(parse_guid("0x0200000000000001"), 0x0200000000000001u);
  EXPECT_EQ(parse_guid("0200000000000001"), 0x0200000000000001u);
  EXPECT_EQ(format_guid(0x0200000000000001), "02:00:00:00:00:00:00:01");
  EXPECT_EQ(format_guid(0), "00:00:00:00:00:00:00:00");
}

TEST(Guid, RejectsWhatIsNotEightBytes) {
  for (const char* bad : {"", "02:00:00:00:00:00:00", "02:00:00:00:00:00:00:01:02", "0200:00:00:00:00:00:01",
                          "02:00:00:00:00:00:00:0g", "0x02:00:00:00:00:00:00:01", "2:0:0:0:0:0:0:1", ":0200000000000001",
                          "02::00:00:00:00:00:00:01", "-1", "0x"}) {
    auto r = parse_guid(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    EXPECT_EQ(r.error().what, "'" + std::string(bad) + "' is not a GUID");
  }
}

TEST(GuidPool, ParsesStartEnd) {
  auto pool = parse_guid_pool("02:00:00:00:00:00:00:00-02:FF:FF:FF:FF:FF:FF:FF");
  ASSERT_TRUE(pool.has_value()) << pool.error().message();
  EXPECT_EQ(pool->first, kPool.first);
  EXPECT_EQ(pool->last, kPool.last);
  EXPECT_TRUE(pool->contains(0x0200000000000001));
  EXPECT_FALSE(pool->contains(0x0a00000000000004));
  EXPECT_EQ(parse_guid_pool("02:00:00:00:00:00:00:00").error().what,
            "GUID pool '02:00:00:00:00:00:00:00' is not START-END");
  EXPECT_EQ(parse_guid_pool("02:00:00:00:00:00:00:09-02:00:00:00:00:00:00:01").error().what,
            "GUID pool '02:00:00:00:00:00:00:09-02:00:00:00:00:00:00:01': the start is after the end");
  EXPECT_EQ(parse_guid_pool("x-02:00:00:00:00:00:00:01").error().what, "'x' is not a GUID");
}

TEST(Pkey, HexWithALeading0x) {
  EXPECT_EQ(parse_pkey("0x6"), 0x6);
  EXPECT_EQ(parse_pkey("0x8006"), 0x8006);
  EXPECT_EQ(parse_pkey("0X7fff"), 0x7fff);
  EXPECT_EQ(parse_pkey("1000").error().what, "pkey '1000' must be hex with a leading 0x");
  EXPECT_EQ(parse_pkey("0x10000").error().what, "pkey '0x10000' is not 0x and 1 to 4 hex digits");
  EXPECT_EQ(parse_pkey("0x").error().what, "pkey '0x' is not 0x and 1 to 4 hex digits");
  EXPECT_EQ(parse_pkey("0x8000").error().what, "pkey '0x8000' is invalid: its low 15 bits are 0");
}

TEST(IbRailMap, ReadsGuidsPkeyTablesAndTheNetworksCniArgs) {
  const RailMap map = ibk();
  ASSERT_EQ(map.ports.size(), 4u);
  const RailPort& net1 = map.ports[0];
  EXPECT_EQ(net1.link_layer, "InfiniBand");
  EXPECT_EQ(net1.port_guid, 0x0200000000000001u);
  EXPECT_EQ(net1.node_guid, 0x0200000000000001u);
  EXPECT_EQ(net1.pkeys, (std::vector<uint16_t>{0xffff, 0x8006}));
  EXPECT_EQ(net1.pkey_table_size, 4u);
  EXPECT_EQ(net1.requested_guid, "02:00:00:00:00:00:00:01");
  EXPECT_EQ(net1.requested_pkey, "0x6");
  const RailPort& net3 = map.ports[2];
  EXPECT_EQ(net3.port_guid, 0u);
  EXPECT_EQ(net3.pkey_table_size, 128u);
  EXPECT_EQ(net3.pkeys.size(), 120u);
  EXPECT_EQ(map.ports[3].requested_guid, "0a:00:00:00:00:00:00:04");
  EXPECT_FALSE(map.ports[3].requested_pkey.has_value());
}

TEST(IbGuid, EachWayAGuidCanBeWrong) {
  const auto results = check_ib_guid(ibk(), IbFacts{.guid_pool = kPool, .pkey = std::nullopt});
  ASSERT_EQ(results.size(), 4u);
  const CheckResult* ok = find(results, "ib_guid", "net1");
  EXPECT_EQ(ok->verdict, Verdict::kPass);
  EXPECT_EQ(ok->reason,
            "mlx5_2 port 1: port GUID 02:00:00:00:00:00:00:01, as allocated, in the pool "
            "02:00:00:00:00:00:00:00-02:ff:ff:ff:ff:ff:ff:ff");
  EXPECT_EQ(find(results, "ib_guid", "net2")->verdict, Verdict::kPass);
  const CheckResult* zero = find(results, "ib_guid", "net3");
  EXPECT_EQ(zero->verdict, Verdict::kFail);
  EXPECT_EQ(zero->reason, "mlx5_4 port 1: port GUID 00:00:00:00:00:00:00:00 is a placeholder: no GUID was set on the VF");
  EXPECT_NE(zero->fix.find("ib-kubernetes allocates the GUID"), std::string::npos);
  const CheckResult* outside = find(results, "ib_guid", "net4");
  EXPECT_EQ(outside->verdict, Verdict::kFail);
  EXPECT_EQ(outside->reason,
            "mlx5_5 port 1: port GUID 0a:00:00:00:00:00:00:04 is outside the GUID pool "
            "02:00:00:00:00:00:00:00-02:ff:ff:ff:ff:ff:ff:ff");
}

TEST(IbGuid, AGuidOtherThanTheAllocatedOneFails) {
  RailMap map = ibk();
  map.ports[0].requested_guid = "02:00:00:00:00:00:00:99";
  map.ports[1].requested_guid = "bogus";
  const auto results = check_ib_guid(map, IbFacts{});
  EXPECT_EQ(find(results, "ib_guid", "net1")->reason,
            "mlx5_2 port 1: port GUID 02:00:00:00:00:00:00:01 is not the GUID ib-kubernetes allocated "
            "(02:00:00:00:00:00:00:99)");
  EXPECT_EQ(find(results, "ib_guid", "net2")->reason,
            "the networks annotation's cni-args guid: 'bogus' is not a GUID");
  EXPECT_EQ(find(results, "ib_guid", "net2")->verdict, Verdict::kFail);
}

TEST(IbGuid, WithoutAPoolOnlyTheGuidIsCheckedAndNodeGuidMismatchIsNamed) {
  RailMap map = ibk();
  map.ports[0].node_guid = 0x0200000000000042;
  map.ports[3].requested_guid.reset();
  const auto results = check_ib_guid(map, IbFacts{});
  EXPECT_EQ(find(results, "ib_guid", "net1")->reason,
            "mlx5_2 port 1: port GUID 02:00:00:00:00:00:00:01, as allocated (no --guid-pool: not checked against a "
            "pool); node GUID 02:00:00:00:00:00:00:42 differs (ib-sriov-cni sets both)");
  EXPECT_EQ(find(results, "ib_guid", "net4")->verdict, Verdict::kPass);
  map.ports[3].port_guid.reset();
  EXPECT_EQ(find(check_ib_guid(map, IbFacts{}), "ib_guid", "net4")->reason,
            "mlx5_5 port 1: port GUID unknown (no GID 0 in sysfs)");
}

TEST(IbGuid, RoceOnlyIsWaived) {
  const auto results = check_ib_guid(build_ok(inputs_for("hgx-roce", "hgx-h100-8gpu.xml")), IbFacts{});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].verdict, Verdict::kWaived);
  EXPECT_EQ(results[0].reason, "no InfiniBand rail");
  const auto pkey = check_ib_pkey(build_ok(inputs_for("hgx-roce", "hgx-h100-8gpu.xml")), IbFacts{});
  ASSERT_EQ(pkey.size(), 1u);
  EXPECT_EQ(pkey[0].name, "ib_pkey");
  EXPECT_EQ(pkey[0].verdict, Verdict::kWaived);
}

TEST(IbPkey, FullMemberPassesLimitedWarnsAbsentFails) {
  const auto results = check_ib_pkey(ibk(), IbFacts{});
  const CheckResult* full = find(results, "ib_pkey", "net1");
  EXPECT_EQ(full->verdict, Verdict::kPass);
  EXPECT_EQ(full->reason, "pkey 0x0006 (from the network's cni-args) is in mlx5_2 port 1's table, full member");
  const CheckResult* limited = find(results, "ib_pkey", "net2");
  EXPECT_EQ(limited->verdict, Verdict::kWarn);
  EXPECT_EQ(limited->reason,
            "pkey 0x0006 (from the network's cni-args) is in mlx5_3 port 1's table as a limited member (0x0006): "
            "limited members cannot talk to each other");
  const CheckResult* absent = find(results, "ib_pkey", "net3");
  EXPECT_EQ(absent->verdict, Verdict::kFail);
  EXPECT_EQ(absent->reason,
            "pkey 0x0006 (from the network's cni-args) is not in mlx5_4 port 1's pkey table (0xffff, 0x8100, 0x8101, "
            "0x8102, 0x8103, 0x8104, 0x8105, 0x8106, ... (120 in all))");
  EXPECT_NE(absent->fix.find("subnet manager must add the VF's GUID"), std::string::npos);
  const CheckResult* none = find(results, "ib_pkey", "net4");
  EXPECT_EQ(none->verdict, Verdict::kWaived);
  EXPECT_EQ(none->reason, "no pkey configured (none in the network's cni-args, no --pkey)");
}

TEST(IbPkey, PkeyOptionServesNetworksWithoutOne) {
  const auto results = check_ib_pkey(ibk(), IbFacts{.guid_pool = std::nullopt, .pkey = 0x8006});
  EXPECT_EQ(find(results, "ib_pkey", "net4")->verdict, Verdict::kPass);
  EXPECT_EQ(find(results, "ib_pkey", "net4")->reason,
            "pkey 0x0006 (from --pkey) is in mlx5_5 port 1's table, full member");
  RailMap map = ibk();
  map.ports[0].requested_pkey = "6";
  EXPECT_EQ(find(check_ib_pkey(map, IbFacts{}), "ib_pkey", "net1")->reason,
            "the networks annotation's cni-args pkey: pkey '6' must be hex with a leading 0x");
}

TEST(IbPkey, TableNearTheNodeLimitWarns) {
  const auto results = check_ib_pkey(ibk(), IbFacts{});
  const CheckResult* small = find(results, "ib_pkey_table", "net1");
  EXPECT_EQ(small->verdict, Verdict::kPass);
  EXPECT_EQ(small->reason,
            "mlx5_2 port 1: 2 of 4 pkey table entries in use (the kernel allows 128 pkeys per node)");
  const CheckResult* full = find(results, "ib_pkey_table", "net3");
  EXPECT_EQ(full->verdict, Verdict::kWarn);
  EXPECT_EQ(full->reason,
            "mlx5_4 port 1: 120 of 128 pkey table entries in use (the kernel allows 128 pkeys per node)");
  EXPECT_FALSE(full->fix.empty());
}

}  // namespace
}  // namespace railcheck::topology
