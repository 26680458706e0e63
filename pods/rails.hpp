#pragma once
// Which interfaces of which nodes form a rail. Interfaces group by their Multus network name
// (the SR-IOV network of that rail, the same on every node); an interface without one groups
// by its IPv4 subnet. Every rail says which of the two it used, and which nodes lack it.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "reports/results.hpp"

namespace railcheck::pods {

struct InterfaceFacts {
  std::string interface;    // "net1"
  std::string network;      // Multus network name, "spiderpool/gpu1-sriov"; empty when unknown
  std::string ipv4;         // "172.16.12.10"; empty when none
  uint32_t prefix_len = 0;  // 0: unknown (a /24 is assumed for subnet grouping, and said so)
  std::string rdma_device;
};

struct NodeFacts {
  std::string node;
  std::vector<InterfaceFacts> interfaces;
};

struct RailGrouping {
  std::vector<reports::RailInfo> rails;  // in the order the first node lists its interfaces
  std::vector<std::string> notes;        // assumptions and interfaces left out, for the report
};

inline constexpr uint32_t kAssumedPrefixLen = 24;

RailGrouping group_rails(std::span<const NodeFacts> nodes);

// The members of a rail whose port's active MTU is below the one most of the rail has (by
// member, in order; nullopt: unknown, not compared): "rail R: node-1 net1 active MTU 512, below
// the rail's 1024 ...". An MTU mismatch caps that node's messages at its MTU and, on RoCE, drops
// the larger packets of a peer that does not know it.
std::vector<std::string> mtu_mismatches(const reports::RailInfo& rail, std::span<const std::optional<uint32_t>> mtus);

// "172.16.12.0/24" for ("172.16.12.10", 24); empty when the address is not IPv4.
std::string ipv4_subnet(const std::string& ipv4, uint32_t prefix_len);

}  // namespace railcheck::pods
