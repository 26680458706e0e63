#include "topology/routing_checks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace railcheck::topology {
namespace {

using nlohmann::json;

struct RuleMatch {
  std::string rule;   // "from 172.16.11.10", "oif p0n1"
  std::string table;  // as ip printed it
};

CheckResult make(const char* name, Verdict verdict, std::string subject, std::string reason,
                 std::string fix = {}) {
  return CheckResult{.name = name, .verdict = verdict, .subject = std::move(subject), .reason = std::move(reason),
                     .fix = std::move(fix)};
}

// A JSON string or number as text ("101" for 101); empty otherwise.
std::string text_of(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return {};
}

// Table names iproute2 prints by name, as numbers (so "main" and "254" match).
std::string table_id(const std::string& name) {
  if (name == "main" || name.empty()) return "254";
  if (name == "local") return "255";
  if (name == "default") return "253";
  return name;
}

}  // namespace

RoutingFacts parse_ip_json(std::string_view rules_json, std::string_view routes_json) {
  RoutingFacts ip;
  if (routes_json.empty()) ip.routes_unusable = "`ip -j route show table all` unavailable";
  if (rules_json.empty() || routes_json.empty()) {
    ip.unusable = "`ip -j rule` / `ip -j route show table all` unavailable";
    return ip;
  }
  const json rules = json::parse(rules_json, nullptr, /*allow_exceptions=*/false);
  const json routes = json::parse(routes_json, nullptr, /*allow_exceptions=*/false);
  if (!routes.is_array()) ip.routes_unusable = "`ip -j route show table all` unavailable";
  if (!rules.is_array() || !routes.is_array()) {
    ip.unusable = "`ip -j rule` / `ip -j route show table all` output is not a JSON array";
    return ip;
  }
  for (const json& r : rules) {
    if (!r.is_object() || !r.contains("table")) continue;
    ip.rules.push_back(IpRule{.src = text_of(r, "src"), .srclen = text_of(r, "srclen"), .oif = text_of(r, "oif"),
                              .table = text_of(r, "table")});
  }
  for (const json& r : routes) {
    if (!r.is_object()) continue;
    ip.routes.push_back(IpRoute{.dst = text_of(r, "dst"), .gateway = text_of(r, "gateway"), .dev = text_of(r, "dev"),
                                .table = table_id(text_of(r, "table"))});
  }
  return ip;
}

namespace {

// "net1", or "net1 (netdev p0n1)" where the traffic leaves by another netdev.
std::string named(const RailPort& p, const std::string& netdev) {
  return netdev == p.interface ? netdev : fmt::format("{} (netdev {})", p.interface, netdev);
}

std::vector<RuleMatch> matching_rules(const RailPort& p, const std::string& netdev, const RoutingFacts& ip) {
  const auto ip4 = first_ipv4(p);
  std::vector<RuleMatch> out;
  for (const IpRule& r : ip.rules) {
    if (ip4 && r.src == *ip4 && (r.srclen.empty() || r.srclen == "32")) out.push_back({"from " + *ip4, r.table});
    if (!r.oif.empty() && (r.oif == netdev || r.oif == p.interface)) out.push_back({"oif " + r.oif, r.table});
  }
  return out;
}

bool routes_via(const RoutingFacts& ip, const std::string& table, const std::string& netdev) {
  return std::ranges::any_of(ip.routes,
                             [&](const IpRoute& r) { return r.dev == netdev && r.table == table_id(table); });
}

const IpRoute* default_via(const RoutingFacts& ip, const std::string& table, const std::string& netdev) {
  auto it = std::ranges::find_if(ip.routes, [&](const IpRoute& r) {
    return r.dst == "default" && r.dev == netdev && r.table == table_id(table);
  });
  return it == ip.routes.end() ? nullptr : &*it;
}

std::string default_text(const IpRoute& r) {
  return r.gateway.empty() ? "default dev " + r.dev : fmt::format("default via {} dev {}", r.gateway, r.dev);
}

CheckResult policy_result(const RailPort& p, const RoutingFacts& ip) {
  constexpr const char* kName = "policy_routes";
  const std::string netdev = rail_netdev(p);
  const auto ip4 = first_ipv4(p);
  const auto matches = matching_rules(p, netdev, ip);
  if (matches.empty()) {
    return make(kName, Verdict::kFail, p.interface,
                fmt::format("no policy rule `from {}` or `oif {}`", ip4.value_or("<no IPv4>"), netdev),
                fmt::format("ip rule add from {} table T; ip route add default via <gateway> dev {} table T "
                            "(normally the CNI's policy routing does this)",
                            ip4.value_or("IP"), netdev));
  }
  for (const RuleMatch& m : matches) {
    if (const IpRoute* d = default_via(ip, m.table, netdev)) {
      return make(kName, Verdict::kPass, p.interface,
                  fmt::format("rule `{}` looks up table {}: {}", m.rule, m.table, default_text(*d)));
    }
  }
  for (const RuleMatch& m : matches) {
    if (routes_via(ip, m.table, netdev)) {
      return make(kName, Verdict::kWarn, p.interface,
                  fmt::format("rule `{}` looks up table {}, which routes via {} but has no default route: traffic "
                              "to the rail's other subnets leaves by the main table",
                              m.rule, m.table, netdev),
                  fmt::format("ip route add default via <the rail's gateway> dev {} table {}", netdev, m.table));
    }
  }
  std::string seen;
  for (const RuleMatch& m : matches) seen += fmt::format("{}`{}` -> table {}", seen.empty() ? "" : ", ", m.rule, m.table);
  return make(kName, Verdict::kFail, p.interface, fmt::format("no route via {} in the rule's table: {}", netdev, seen),
              fmt::format("ip route add default via <gateway> dev {} table T", netdev));
}

// The gateway of the port's policy table, or why there is none to probe.
struct GatewayOf {
  std::string gateway;
  std::string how;  // "table 110 (rule `oif p0n1`)"
  std::string why_not;
};

GatewayOf gateway_of(const RailPort& p, const std::string& netdev, const RoutingFacts& ip) {
  for (const RuleMatch& m : matching_rules(p, netdev, ip)) {
    const IpRoute* d = default_via(ip, m.table, netdev);
    if (d != nullptr && !d->gateway.empty()) {
      return GatewayOf{.gateway = d->gateway, .how = fmt::format("table {}, rule `{}`", m.table, m.rule), .why_not = {}};
    }
  }
  return GatewayOf{.gateway = {}, .how = {},
                   .why_not = fmt::format("no default route via a gateway in {}'s policy table: nothing to probe "
                                          "(see policy_routes)",
                                          named(p, netdev))};
}

}  // namespace

std::string rail_netdev(const RailPort& port) {
  if (port.roce_gid && !port.roce_gid->netdev.empty()) return port.roce_gid->netdev;
  return port.interface;
}

std::vector<CheckResult> check_policy_routes(const RailMap& map, std::string_view rules_json,
                                             std::string_view routes_json) {
  return check_policy_routes(map, parse_ip_json(rules_json, routes_json));
}

std::vector<CheckResult> check_policy_routes(const RailMap& map, const RoutingFacts& ip) {
  std::vector<CheckResult> out;
  for (const RailPort& p : map.ports) {
    out.push_back(ip.unusable.empty() ? policy_result(p, ip)
                                      : make("policy_routes", Verdict::kWaived, p.interface, ip.unusable));
  }
  return out;
}

CheckResult check_main_route(const RailMap& map, std::string_view routes_json) {
  return check_main_route(map, parse_ip_json("[]", routes_json));
}

CheckResult check_main_route(const RailMap& map, const RoutingFacts& ip) {
  constexpr const char* kName = "main_route";
  if (!ip.routes_unusable.empty()) return make(kName, Verdict::kWaived, "", ip.routes_unusable);
  auto d = std::ranges::find_if(ip.routes, [](const IpRoute& r) { return r.dst == "default" && r.table == "254"; });
  if (d == ip.routes.end()) {
    return make(kName, Verdict::kWarn, "", "the main table has no default route: cluster traffic has no way out",
                "the cluster network (calico) normally installs `default via ... dev eth0`");
  }
  for (const RailPort& p : map.ports) {
    const std::string netdev = rail_netdev(p);
    if (d->dev == netdev || d->dev == p.interface) {
      return make(kName, Verdict::kFail, "",
                  fmt::format("main table: {}: cluster traffic leaves over the rail {}", default_text(*d),
                              named(p, netdev)),
                  "the rails' default routes belong in their policy tables; the main table's default route must "
                  "use eth0 (check the rail network's IPAM routes / default-route settings)");
    }
  }
  return make(kName, Verdict::kPass, "", "main table: " + default_text(*d));
}

std::vector<CheckResult> check_gateway_reachable(const RailMap& map, std::string_view rules_json,
                                                 std::string_view routes_json, const GatewayProber& probe,
                                                 uint32_t timeout_ms) {
  return check_gateway_reachable(map, parse_ip_json(rules_json, routes_json), probe, timeout_ms);
}

std::vector<CheckResult> check_gateway_reachable(const RailMap& map, const RoutingFacts& ip,
                                                 const GatewayProber& probe, uint32_t timeout_ms) {
  constexpr const char* kName = "gateway_reachable";
  std::vector<CheckResult> out;
  for (const RailPort& p : map.ports) {
    if (!ip.unusable.empty()) {
      out.push_back(make(kName, Verdict::kWaived, p.interface, ip.unusable));
      continue;
    }
    const std::string netdev = rail_netdev(p);
    const auto ip4 = first_ipv4(p);
    const GatewayOf gw = gateway_of(p, netdev, ip);
    if (!gw.why_not.empty() || !ip4) {
      out.push_back(make(kName, Verdict::kWaived, p.interface, ip4 ? gw.why_not : "no IPv4 address to probe from"));
      continue;
    }
    const std::string what = fmt::format("gateway {} ({})", gw.gateway, gw.how);
    auto answer = probe(ProbeTarget{.netdev = netdev, .source = *ip4, .gateway = gw.gateway, .timeout_ms = timeout_ms});
    if (!answer) {
      out.push_back(make(kName, Verdict::kFail, p.interface, what + ": cannot probe: " + answer.error().message(),
                         "run the check inside the pod, where the interface and its address are"));
      continue;
    }
    switch (answer->how) {
      case ProbeAnswer::How::kIcmp:
        out.push_back(make(kName, Verdict::kPass, p.interface,
                           fmt::format("{} answered ICMP echo via {} in {:.2f} ms", what, netdev, answer->rtt_ms)));
        break;
      case ProbeAnswer::How::kArp:
        out.push_back(make(kName, Verdict::kPass, p.interface,
                           fmt::format("{} answered ARP via {} ({})", what, netdev, answer->detail)));
        break;
      case ProbeAnswer::How::kNone:
        out.push_back(make(kName, Verdict::kFail, p.interface,
                           fmt::format("{} did not answer via {} within {} ms ({})", what, netdev, timeout_ms,
                                       answer->detail),
                           "check the gateway (the rail's router or switch interface), the VLAN or pkey of the "
                           "network, and the VF's link"));
        break;
      case ProbeAnswer::How::kUnknown:
        out.push_back(make(kName, Verdict::kWaived, p.interface, fmt::format("{}: {}", what, answer->detail)));
        break;
    }
  }
  return out;
}

}  // namespace railcheck::topology
