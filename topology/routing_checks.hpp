#pragma once
// The routing checks of `railcheck check`, over `ip -j rule` and `ip -j route show table all`
// (JSON text; empty: the tool was unavailable, and each check is waived):
//   policy_routes      per interface: a rule `from <ip>` (or `oif <netdev>`) looks up a table
//                      with a default route via the interface's gateway (declared in checks.hpp);
//   main_route         the main table's default route leaves over eth0, not over a rail;
//   gateway_reachable  per interface: that default route's gateway answers, within a timeout.
//
// The rail's netdev: in a pod it is the interface itself (net1); where the RDMA device's RoCE
// GID names another netdev (the lab's pInK in the initial netns), that one carries the traffic
// and the routes, so the rules and routes are matched against it.
//
// The gateway is probed through a GatewayProber, so the verdicts are tested with canned
// answers; probe_gateway() in gateway_probe.hpp is the live one.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "topology/checks.hpp"
#include "topology/rail_map.hpp"

namespace railcheck::topology {

// The netdev whose routes the rail's traffic follows (see above).
std::string rail_netdev(const RailPort& port);

// What to probe: the gateway `gateway`, from `source` bound to `netdev`.
struct ProbeTarget {
  std::string netdev;
  std::string source;   // IPv4
  std::string gateway;  // IPv4
  uint32_t timeout_ms = 1000;
};

// How a gateway answered.
struct ProbeAnswer {
  enum class How {
    kIcmp,     // an ICMP echo reply
    kArp,      // no echo reply, but its neighbour entry is REACHABLE: it answered ARP
    kNone,     // nothing within the timeout: ARP failed or is still incomplete
    kUnknown,  // could not tell (no ICMP socket allowed and ARP not settled): see detail
  };
  How how = How::kUnknown;
  double rtt_ms = 0;   // kIcmp
  std::string detail;  // what was tried, for the reason text
};

// A probe; an Error when it could not be sent at all (no such netdev, a source address that
// is not this host's), which the check turns into a failure naming it.
using GatewayProber = std::function<Result<ProbeAnswer>(const ProbeTarget&)>;

// main_route: the main table's default route is via a netdev that is no rail's (eth0): pass;
// via a rail's netdev: fail (cluster traffic would take the rail); no default route: warn.
CheckResult check_main_route(const RailMap& map, std::string_view routes_json);

// gateway_reachable, one per interface: the default route of its policy table names the
// gateway, which `probe` must hear from within timeout_ms. No policy table with a default
// route, or no IPv4: waived (policy_routes says why).
std::vector<CheckResult> check_gateway_reachable(const RailMap& map, std::string_view rules_json,
                                                 std::string_view routes_json, const GatewayProber& probe,
                                                 uint32_t timeout_ms);

}  // namespace railcheck::topology
