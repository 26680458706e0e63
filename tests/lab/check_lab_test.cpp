// `railcheck check` in the lab, its passing and failing paths on a real kernel.
//
// Inside a pod's netns (shared RDMA netns mode: rxe devices cannot leave the initial netns):
// each rail is ACTIVE and addressed, the netns mode warns, every other pod's device shows as
// "visible but not a rail". The pods' rail netdevs (pInK), their policy rules and tables live
// in the initial netns, the lab's "node", so the routing checks run there, with the pod's
// podinfo: the RoCE GID names the rail's netdev, whose rule `oif pInK` looks up a table with a
// default route via the rail's gateway (netns gw, 172.16.x.1). Deleting that rule fails
// policy_routes naming the interface; taking the gateway's link down fails gateway_reachable.
// Both are put back by a guard, also when an assertion fails.
//
// In `lab/run --rdma-netns exclusive` (labtool.check_exclusive_netns runs it) the pods see no
// RDMA device at all, and devices_visible fails saying so.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "lab/lab_env.hpp"
#include "support/process.hpp"

namespace railcheck {
namespace {

using nlohmann::json;

const std::string kBin = RAILCHECK_BIN;

const json* find(const json& checks, const std::string& name, const json& subject) {
  for (const json& c : checks) {
    if (c.at("name") == name && c.at("subject") == subject) return &c;
  }
  return nullptr;
}

// `railcheck check --format json` as a command line; exit 0 or 1 and a JSON document expected.
json run_check(const std::string& command_line) {
  auto r = testing::run_command(command_line);
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.exit_code << ": " << r.err;
  json doc = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(doc.is_discarded()) << r.out << r.err;
  if (!doc.is_discarded()) {
    EXPECT_EQ(doc.at("schema"), "railcheck.check/v1");
  }
  return doc;
}

std::string check_args(const lab::Pod& pod) {
  return " check --podinfo " + testing::shell_quote(pod.podinfo) + " --format json --gateway-timeout-ms 2000";
}

json check_in_pod(const lab::Pod& pod) { return run_check(lab::in_pod(pod, kBin + check_args(pod))); }
// On the lab's node (the initial netns), where the pod's rail netdevs and routes are.
json check_on_node(const lab::Pod& pod) { return run_check(kBin + check_args(pod)); }

std::string verdict_of(const json& doc, const std::string& name, const json& subject) {
  if (doc.is_discarded()) return "no document";
  const json* c = find(doc.at("checks"), name, subject);
  return c == nullptr ? "missing" : c->at("verdict").get<std::string>();
}

std::string reason_of(const json& doc, const std::string& name, const json& subject) {
  if (doc.is_discarded()) return "no document";
  const json* c = find(doc.at("checks"), name, subject);
  return c == nullptr ? "missing" : c->at("reason").get<std::string>();
}

// Runs `undo` at scope exit: puts back what a test broke on purpose.
class Restore {
 public:
  explicit Restore(std::string undo) : undo_(std::move(undo)) {}
  ~Restore() {
    auto r = testing::run_command(undo_);
    if (r.exit_code != 0) ADD_FAILURE() << "could not restore the lab: " << undo_ << ": " << r.err;
  }
  Restore(const Restore&) = delete;
  Restore& operator=(const Restore&) = delete;

 private:
  std::string undo_;
};

TEST(CheckLab, EachPodsRailsAreActiveAndAddressed) {
  RAILCHECK_REQUIRE_LAB(map);
  for (const lab::Pod& pod : map.pods) {
    SCOPED_TRACE(pod.name);
    const json doc = check_in_pod(pod);
    ASSERT_FALSE(doc.is_discarded());
    for (const lab::RailPort& rail : pod.rails) {
      SCOPED_TRACE(rail.interface);
      EXPECT_EQ(verdict_of(doc, "port_active", rail.interface), "pass");
      EXPECT_EQ(reason_of(doc, "port_active", rail.interface), rail.rdma_device + " port 1: ACTIVE, LINK_UP, Ethernet");
      EXPECT_EQ(verdict_of(doc, "interface_addressing", rail.interface), "pass");
      EXPECT_EQ(reason_of(doc, "interface_addressing", rail.interface), rail.ip + ", RoCEv2 GID ::ffff:" + rail.ip);
      // The pod's netns has no rail netdev and no rule: those two are judged on the node.
      EXPECT_NE(verdict_of(doc, "policy_routes", rail.interface), "missing");
      EXPECT_NE(verdict_of(doc, "gateway_reachable", rail.interface), "missing");
    }
    EXPECT_EQ(verdict_of(doc, "rdma_netns_mode", nullptr), "warn");
    EXPECT_EQ(verdict_of(doc, "ib_guid", nullptr), "waived");
    if (map.pods.size() > 1) {
      EXPECT_EQ(verdict_of(doc, "devices_visible", nullptr), "warn");
      const lab::Pod& other = map.pods[&pod == &map.pods.front() ? 1 : 0];
      const std::string reason = reason_of(doc, "devices_visible", nullptr);
      EXPECT_TRUE(reason.starts_with("visible but not a rail: ")) << reason;
      EXPECT_NE(reason.find(other.rails.front().rdma_device), std::string::npos) << reason;
      EXPECT_TRUE(reason.ends_with(" (netns shared)")) << reason;
    }
  }
}

TEST(CheckLab, OnTheNodeEachRailsPolicyTableAndGatewayPass) {
  RAILCHECK_REQUIRE_LAB(map);
  for (const lab::Pod& pod : map.pods) {
    SCOPED_TRACE(pod.name);
    const json doc = check_on_node(pod);
    ASSERT_FALSE(doc.is_discarded());
    for (const lab::RailPort& rail : pod.rails) {
      SCOPED_TRACE(rail.interface);
      const std::string table = std::to_string(rail.table);
      EXPECT_EQ(verdict_of(doc, "policy_routes", rail.interface), "pass");
      EXPECT_EQ(reason_of(doc, "policy_routes", rail.interface),
                "rule `oif " + rail.netdev + "` looks up table " + table + ": default via " + rail.gateway + " dev " +
                    rail.netdev);
      EXPECT_EQ(verdict_of(doc, "gateway_reachable", rail.interface), "pass");
      const std::string gw = reason_of(doc, "gateway_reachable", rail.interface);
      EXPECT_TRUE(gw.starts_with("gateway " + rail.gateway + " (table " + table + ", rule `oif " + rail.netdev +
                                 "`) answered ICMP echo via " + rail.netdev + " in "))
          << gw;
    }
  }
}

TEST(CheckLab, RemovingAPodsPolicyRuleFailsTheRoutingCheckNamingTheInterface) {
  RAILCHECK_REQUIRE_LAB(map);
  const lab::Pod& pod = map.pods.back();
  const lab::RailPort& rail = pod.rails.front();
  const std::string rule = "pref " + std::to_string(10 + rail.rail) + " oif " + rail.netdev + " lookup " +
                           std::to_string(rail.table);
  auto del = testing::run_command("ip rule del " + rule);
  ASSERT_EQ(del.exit_code, 0) << del.err;
  Restore restore("ip rule add " + rule);
  const json doc = check_on_node(pod);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc.at("ok"), false);
  EXPECT_EQ(verdict_of(doc, "policy_routes", rail.interface), "fail");
  EXPECT_EQ(reason_of(doc, "policy_routes", rail.interface),
            "no policy rule `from " + rail.ip + "` or `oif " + rail.netdev + "`");
  EXPECT_EQ(verdict_of(doc, "gateway_reachable", rail.interface), "waived");
  for (size_t i = 1; i < pod.rails.size(); ++i) {
    EXPECT_EQ(verdict_of(doc, "policy_routes", pod.rails[i].interface), "pass") << pod.rails[i].interface;
  }
}

TEST(CheckLab, ASilentGatewayFailsTheGatewayCheckNamingTheInterface) {
  RAILCHECK_REQUIRE_LAB(map);
  const lab::Pod& pod = map.pods.front();
  const lab::RailPort& rail = pod.rails.front();
  const std::string gw_link = "gw-net" + std::to_string(rail.rail + 1);
  // (Its neighbour entry goes too, or ARP would still look answered.)
  auto down = testing::run_command("ip -n gw link set " + gw_link + " down && ip neigh flush to " + rail.gateway +
                                   " dev " + rail.netdev);
  ASSERT_EQ(down.exit_code, 0) << down.err;
  Restore restore("ip -n gw link set " + gw_link + " up");
  const json doc = run_check(kBin + " check --podinfo " + testing::shell_quote(pod.podinfo) +
                             " --format json --gateway-timeout-ms 500");
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc.at("ok"), false);
  EXPECT_EQ(verdict_of(doc, "gateway_reachable", rail.interface), "fail");
  const std::string reason = reason_of(doc, "gateway_reachable", rail.interface);
  EXPECT_TRUE(reason.starts_with("gateway " + rail.gateway + " (table " + std::to_string(rail.table) +
                                 ", rule `oif " + rail.netdev + "`) did not answer via " + rail.netdev +
                                 " within 500 ms (no ICMP echo reply; "))
      << reason;
  EXPECT_EQ(verdict_of(doc, "policy_routes", rail.interface), "pass") << "the route is there, the gateway is not";
}

TEST(CheckLabExclusive, ExclusiveModeFailsTheDeviceCheckWithTheReason) {
  RAILCHECK_REQUIRE_EXCLUSIVE_LAB(map);
  for (const lab::Pod& pod : map.pods) {
    SCOPED_TRACE(pod.name);
    const json doc = check_in_pod(pod);
    ASSERT_FALSE(doc.is_discarded());
    EXPECT_EQ(doc.at("ok"), false);
    EXPECT_EQ(verdict_of(doc, "rdma_netns_mode", nullptr), "pass");
    EXPECT_EQ(verdict_of(doc, "devices_visible", nullptr), "fail");
    std::string names;
    for (const lab::RailPort& rail : pod.rails) names += (names.empty() ? "" : ", ") + rail.rdma_device;
    const std::string n = std::to_string(pod.rails.size());
    EXPECT_EQ(reason_of(doc, "devices_visible", nullptr),
              "rail devices not visible in the pod: " + names + " (" + n + " of " + n +
                  "); netns exclusive: a device shows only in the network namespace it was moved to");
    for (const lab::RailPort& rail : pod.rails) {
      EXPECT_EQ(verdict_of(doc, "port_active", rail.interface), "fail") << rail.interface;
      EXPECT_EQ(reason_of(doc, "port_active", rail.interface), rail.rdma_device + " port 1: port state unknown");
    }
  }
}

}  // namespace
}  // namespace railcheck
