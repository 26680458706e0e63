#pragma once
// The routing checks of `railcheck check`, over the IPv4 rules and routes of this network
// namespace (RoutingFacts: read from the kernel over netlink, or from `ip -j rule` and
// `ip -j route show table all` text; unusable: each check is waived):
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

// One IPv4 policy rule that looks up a table, as `ip -j rule` prints it (texts, so either
// source reads the same).
struct IpRule {
  std::string src;     // "172.16.11.10", "all"
  std::string srclen;  // "24"; empty for a host address (/32) or none
  std::string oif;     // "net2"; empty when the rule names none
  std::string table;   // "101", "main", "local", "default"
};

// One IPv4 route of any table.
struct IpRoute {
  std::string dst;      // "default", "172.16.11.0/24"
  std::string gateway;  // empty without one
  std::string dev;      // the netdev; empty for a multipath or unreachable route
  std::string table;    // as a number ("254" for main)
};

// The rules and routes the routing checks read: from the kernel (netlink.hpp, RTM_GETRULE and
// RTM_GETROUTE dumps) or from `ip -j` text (parse_ip_json). `unusable` says why they could not
// be read (each check is then waived); `routes_unusable` the same for the routes alone.
struct RoutingFacts {
  std::vector<IpRule> rules;
  std::vector<IpRoute> routes;
  std::string unusable;
  std::string routes_unusable;
};

// `ip -j rule` and `ip -j route show table all` texts as facts (an empty text: the tool was not
// available; not a JSON array: unusable).
RoutingFacts parse_ip_json(std::string_view rules_json, std::string_view routes_json);

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
CheckResult check_main_route(const RailMap& map, const RoutingFacts& ip);
CheckResult check_main_route(const RailMap& map, std::string_view routes_json);

// gateway_reachable, one per interface: the default route of its policy table names the
// gateway, which `probe` must hear from within timeout_ms. No policy table with a default
// route, or no IPv4: waived (policy_routes says why).
std::vector<CheckResult> check_gateway_reachable(const RailMap& map, const RoutingFacts& ip,
                                                 const GatewayProber& probe, uint32_t timeout_ms);
std::vector<CheckResult> check_gateway_reachable(const RailMap& map, std::string_view rules_json,
                                                 std::string_view routes_json, const GatewayProber& probe,
                                                 uint32_t timeout_ms);
// policy_routes over facts (the text form is declared in checks.hpp).
std::vector<CheckResult> check_policy_routes(const RailMap& map, const RoutingFacts& ip);

}  // namespace railcheck::topology
