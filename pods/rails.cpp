#include "pods/rails.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_map>

namespace railcheck::pods {

std::string ipv4_subnet(const std::string& ipv4, uint32_t prefix_len) {
  in_addr addr{};
  if (prefix_len > 32 || ::inet_pton(AF_INET, ipv4.c_str(), &addr) != 1) return {};
  const uint32_t host = ntohl(addr.s_addr);
  const uint32_t mask = prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - prefix_len);
  addr.s_addr = htonl(host & mask);
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &addr, buf, sizeof buf);
  return fmt::format("{}/{}", buf, prefix_len);
}

RailGrouping group_rails(std::span<const NodeFacts> nodes) {
  RailGrouping out;
  std::map<std::string, size_t> index;  // "network:NAME" or "subnet:CIDR" -> rails[i]
  std::vector<std::unordered_map<std::string_view, size_t>> member_of;  // per rail: node -> its member
  bool assumed_prefix = false;
  for (const NodeFacts& node : nodes) {
    for (const InterfaceFacts& f : node.interfaces) {
      std::string key, name, by;
      if (!f.network.empty()) {
        key = "network:" + f.network, name = f.network, by = "network";
      } else {
        const uint32_t len = f.prefix_len != 0 ? f.prefix_len : kAssumedPrefixLen;
        assumed_prefix |= f.prefix_len == 0 && !f.ipv4.empty();
        name = f.ipv4.empty() ? std::string{} : ipv4_subnet(f.ipv4, len);
        if (name.empty()) {
          out.notes.push_back(fmt::format("{} {}: no Multus network name and no IPv4 address, left out of every rail",
                                          node.node, f.interface));
          continue;
        }
        key = "subnet:" + name, by = "subnet";
      }
      auto [it, added] = index.try_emplace(key, out.rails.size());
      if (added) {
        out.rails.push_back({.name = name, .grouped_by = by, .members = {}, .missing_nodes = {}});
        member_of.emplace_back();
      }
      reports::RailInfo& rail = out.rails[it->second];
      auto [member, fresh] = member_of[it->second].try_emplace(node.node, rail.members.size());
      if (!fresh) {
        const std::string& first = rail.members[member->second].interface;
        out.notes.push_back(fmt::format("{} has two interfaces on rail {} ({}, {}): only {} is tested", node.node,
                                        name, first, f.interface, first));
        continue;
      }
      rail.members.push_back({.node = node.node, .interface = f.interface, .ip = f.ipv4});
    }
  }
  if (assumed_prefix) {
    out.notes.push_back(fmt::format("interfaces without a Multus network name were grouped by subnet, assuming /{} "
                                    "where the prefix length was unknown",
                                    kAssumedPrefixLen));
  }
  for (size_t r = 0; r < out.rails.size(); ++r) {
    for (const NodeFacts& node : nodes) {
      if (!member_of[r].contains(node.node)) out.rails[r].missing_nodes.push_back(node.node);
    }
  }
  return out;
}

std::vector<std::string> mtu_mismatches(const reports::RailInfo& rail, std::span<const std::optional<uint32_t>> mtus) {
  std::map<uint32_t, size_t> seen;
  for (const auto& m : mtus) {
    if (m) ++seen[*m];
  }
  if (seen.size() < 2) return {};
  // The most common MTU; on a tie the larger (what the rail was meant to have).
  const auto usual = std::ranges::max_element(seen, [](const auto& a, const auto& b) {
    return std::pair(a.second, a.first) < std::pair(b.second, b.first);
  })->first;
  std::vector<std::string> out;
  for (size_t i = 0; i < mtus.size() && i < rail.members.size(); ++i) {
    if (!mtus[i] || *mtus[i] >= usual) continue;
    out.push_back(fmt::format("rail {}: {} {} active MTU {}, below the rail's {} (an MTU mismatch: give its interface "
                              "the MTU of the others)",
                              rail.name, rail.members[i].node, rail.members[i].interface, *mtus[i], usual));
  }
  return out;
}

}  // namespace railcheck::pods
