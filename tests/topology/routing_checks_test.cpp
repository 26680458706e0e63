// The routing checks over literal `ip -j rule` / `ip -j route show table all` outputs and the
// HGX fixture's rail map: policy_routes, main_route, and gateway_reachable with a canned
// prober (the live probe is gateway_probe_test.cpp).
#include "topology/routing_checks.hpp"

#include "rail_fixtures.hpp"
#include "spiderpool_routes.hpp"

#include <gtest/gtest.h>

#include <map>

namespace railcheck::topology {
namespace {

using namespace testing;  // rail_fixtures.hpp

// HGX, 8 RoCE rails net1..net8 on mlx5_10..mlx5_17, 172.16.1K.10.
RailMap hgx() { return build_ok(inputs_for("hgx-roce", "hgx-h100-8gpu.xml")); }

const CheckResult* find(const std::vector<CheckResult>& results, const std::string& subject) {
  return find_subject(results, subject);
}

// --- policy_routes ---

TEST(PolicyRoutes, RuleToATableWithADefaultRouteViaTheInterfacePasses) {
  const auto results = check_policy_routes(hgx(), kRules, kRoutes);
  ASSERT_EQ(results.size(), 8u);
  const CheckResult* from = find(results, "net1");
  EXPECT_EQ(from->name, "policy_routes");
  EXPECT_EQ(from->verdict, Verdict::kPass);
  EXPECT_EQ(from->reason, "rule `from 172.16.11.10` looks up table 101: default via 172.16.11.254 dev net1");
  const CheckResult* oif = find(results, "net2");
  EXPECT_EQ(oif->verdict, Verdict::kPass);
  EXPECT_EQ(oif->reason, "rule `oif net2` looks up table 102: default via 172.16.12.254 dev net2");
}

TEST(PolicyRoutes, ATableWithoutADefaultRouteWarns) {
  const auto results = check_policy_routes(hgx(), kRules, kRoutes);
  const CheckResult* r = find(results, "net3");
  EXPECT_EQ(r->verdict, Verdict::kWarn);
  EXPECT_EQ(r->reason,
            "rule `from 172.16.13.10` looks up table 103, which routes via net3 but has no default route: traffic to "
            "the rail's other subnets leaves by the main table");
  EXPECT_EQ(r->fix, "ip route add default via <the rail's gateway> dev net3 table 103");
}

TEST(PolicyRoutes, MissingRuleOrRouteFailsNamingTheInterface) {
  const auto results = check_policy_routes(hgx(), kRules, kRoutes);
  const CheckResult* wrong_dev = find(results, "net4");
  EXPECT_EQ(wrong_dev->verdict, Verdict::kFail);
  EXPECT_EQ(wrong_dev->reason, "no route via net4 in the rule's table: `from 172.16.14.10` -> table 104");
  const CheckResult* no_rule = find(results, "net5");
  EXPECT_EQ(no_rule->verdict, Verdict::kFail);
  EXPECT_EQ(no_rule->reason, "no policy rule `from 172.16.15.10` or `oif net5`");
  EXPECT_NE(no_rule->fix.find("ip rule add from 172.16.15.10"), std::string::npos);
}

TEST(PolicyRoutes, MainTableRoutesHaveNoTableKey) {
  RailMap map = hgx();
  map.ports.resize(1);
  const auto results = check_policy_routes(
      map, R"([{"priority":5,"src":"172.16.11.10","table":"main"}])",
      R"([{"dst":"default","gateway":"172.16.11.1","dev":"net1"}])");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].verdict, Verdict::kPass) << results[0].reason;
}

TEST(PolicyRoutes, TheRoceGidsNetdevStandsForTheInterface) {
  // As in the lab: the rail's netdev is p0n1 in the initial netns, named by its RoCE GID.
  RailMap map = hgx();
  map.ports.resize(1);
  map.ports[0].roce_gid->netdev = "p0n1";
  EXPECT_EQ(rail_netdev(map.ports[0]), "p0n1");
  const auto results = check_policy_routes(
      map, R"([{"priority":10,"src":"all","oif":"p0n1","table":"110"}])",
      R"([{"dst":"default","gateway":"172.16.11.1","dev":"p0n1","table":"110"},
          {"type":"throw","dst":"172.16.11.10","table":"110"}])");
  EXPECT_EQ(results[0].verdict, Verdict::kPass);
  EXPECT_EQ(results[0].reason, "rule `oif p0n1` looks up table 110: default via 172.16.11.1 dev p0n1");
  const auto none = check_policy_routes(map, "[]", "[]");
  EXPECT_EQ(none[0].reason, "no policy rule `from 172.16.11.10` or `oif p0n1`");
  EXPECT_EQ(none[0].subject, "net1");
}

TEST(PolicyRoutes, NoIpToolOrBadJsonIsWaived) {
  const auto none = check_policy_routes(hgx(), "", "");
  ASSERT_EQ(none.size(), 8u);
  EXPECT_EQ(none[0].verdict, Verdict::kWaived);
  EXPECT_EQ(none[0].reason, "`ip -j rule` / `ip -j route show table all` unavailable");
  const auto bad = check_policy_routes(hgx(), "{", "[]");
  EXPECT_EQ(bad[0].verdict, Verdict::kWaived);
  EXPECT_EQ(bad[0].reason, "`ip -j rule` / `ip -j route show table all` output is not a JSON array");
}

// --- main_route ---

TEST(MainRoute, DefaultViaEth0PassesViaARailFails) {
  const CheckResult ok = check_main_route(hgx(), kRoutes);
  EXPECT_EQ(ok.name, "main_route");
  EXPECT_EQ(ok.verdict, Verdict::kPass);
  EXPECT_EQ(ok.reason, "main table: default via 10.0.0.1 dev eth0");
  const CheckResult rail = check_main_route(hgx(), R"([{"dst":"default","gateway":"172.16.13.254","dev":"net3"}])");
  EXPECT_EQ(rail.verdict, Verdict::kFail);
  EXPECT_EQ(rail.reason, "main table: default via 172.16.13.254 dev net3: cluster traffic leaves over the rail net3");
  const CheckResult none = check_main_route(hgx(), R"([{"dst":"default","gateway":"172.16.11.1","dev":"net1",
                                                        "table":"101"}])");
  EXPECT_EQ(none.verdict, Verdict::kWarn);
  EXPECT_EQ(none.reason, "the main table has no default route: cluster traffic has no way out");
  EXPECT_EQ(check_main_route(hgx(), "").verdict, Verdict::kWaived);
}

// --- gateway_reachable ---

// A prober that answers from a table of gateway -> answer, and records what it was asked.
struct FakeProber {
  std::map<std::string, Result<ProbeAnswer>> answers;
  std::vector<ProbeTarget> asked;

  GatewayProber fn() {
    return [this](const ProbeTarget& t) -> Result<ProbeAnswer> {
      asked.push_back(t);
      auto it = answers.find(t.gateway);
      if (it == answers.end()) return ProbeAnswer{.how = ProbeAnswer::How::kNone, .rtt_ms = 0, .detail = "fake"};
      return it->second;
    };
  }
};

TEST(GatewayReachable, ProbesTheDefaultRoutesGatewayFromTheRailsAddress) {
  FakeProber fake;
  fake.answers.emplace("172.16.11.254", ProbeAnswer{.how = ProbeAnswer::How::kIcmp, .rtt_ms = 0.25, .detail = {}});
  fake.answers.emplace("172.16.12.254", ProbeAnswer{.how = ProbeAnswer::How::kArp, .rtt_ms = 0,
                                                    .detail = "neighbour entry REACHABLE, but no reply to an ICMP echo"});
  const auto results = check_gateway_reachable(hgx(), kRules, kRoutes, fake.fn(), 700);
  ASSERT_EQ(results.size(), 8u);
  ASSERT_EQ(fake.asked.size(), 2u) << "only net1 and net2 have a default route via their own netdev";
  EXPECT_EQ(fake.asked[0].netdev, "net1");
  EXPECT_EQ(fake.asked[0].source, "172.16.11.10");
  EXPECT_EQ(fake.asked[0].gateway, "172.16.11.254");
  EXPECT_EQ(fake.asked[0].timeout_ms, 700u);
  const CheckResult* icmp = find(results, "net1");
  EXPECT_EQ(icmp->name, "gateway_reachable");
  EXPECT_EQ(icmp->verdict, Verdict::kPass);
  EXPECT_EQ(icmp->reason,
            "gateway 172.16.11.254 (table 101, rule `from 172.16.11.10`) answered ICMP echo via net1 in 0.25 ms");
  const CheckResult* arp = find(results, "net2");
  EXPECT_EQ(arp->verdict, Verdict::kPass);
  EXPECT_EQ(arp->reason,
            "gateway 172.16.12.254 (table 102, rule `oif net2`) answered ARP via net2 (neighbour entry REACHABLE, "
            "but no reply to an ICMP echo)");
  const CheckResult* no_default = find(results, "net3");
  EXPECT_EQ(no_default->verdict, Verdict::kWaived);
  EXPECT_EQ(no_default->reason,
            "no default route via a gateway in net3's policy table: nothing to probe (see policy_routes)");
  EXPECT_EQ(find(results, "net5")->verdict, Verdict::kWaived);
}

TEST(GatewayReachable, SilenceOrAnUnprobeableInterfaceFailsNamingIt) {
  FakeProber fake;
  fake.answers.emplace("172.16.11.254", ProbeAnswer{.how = ProbeAnswer::How::kNone, .rtt_ms = 0,
                                                    .detail = "no ICMP echo reply; neighbour entry FAILED"});
  fake.answers.emplace("172.16.12.254",
                       Result<ProbeAnswer>(fail(Errc::kNotFound, "net2 is not a network interface in this network "
                                                                 "namespace")));
  const auto results = check_gateway_reachable(hgx(), kRules, kRoutes, fake.fn(), 1000);
  const CheckResult* silent = find(results, "net1");
  EXPECT_EQ(silent->verdict, Verdict::kFail);
  EXPECT_EQ(silent->reason,
            "gateway 172.16.11.254 (table 101, rule `from 172.16.11.10`) did not answer via net1 within 1000 ms (no "
            "ICMP echo reply; neighbour entry FAILED)");
  EXPECT_NE(silent->fix.find("check the gateway"), std::string::npos);
  const CheckResult* missing = find(results, "net2");
  EXPECT_EQ(missing->verdict, Verdict::kFail);
  EXPECT_EQ(missing->reason,
            "gateway 172.16.12.254 (table 102, rule `oif net2`): cannot probe: net2 is not a network interface in "
            "this network namespace");
}

TEST(GatewayReachable, CannotTellIsWaivedWithTheReason) {
  FakeProber fake;
  fake.answers.emplace("172.16.11.254",
                       ProbeAnswer{.how = ProbeAnswer::How::kUnknown, .rtt_ms = 0,
                                   .detail = "cannot tell within 1000 ms: neighbour entry STALE (no ICMP socket: ...)"});
  const auto results = check_gateway_reachable(hgx(), kRules, kRoutes, fake.fn(), 1000);
  EXPECT_EQ(find(results, "net1")->verdict, Verdict::kWaived);
  EXPECT_EQ(find(results, "net1")->reason,
            "gateway 172.16.11.254 (table 101, rule `from 172.16.11.10`): cannot tell within 1000 ms: neighbour "
            "entry STALE (no ICMP socket: ...)");
  const auto none = check_gateway_reachable(hgx(), "", "", fake.fn(), 1000);
  EXPECT_EQ(none[0].verdict, Verdict::kWaived);
}

}  // namespace
}  // namespace railcheck::topology
