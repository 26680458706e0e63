#pragma once
// The live facts `railcheck check` gathers (rdma netns mode, visible devices, memlock, policy
// routes and gateways, IB GUIDs and pkeys, GPUDirect) and the verdicts over them, for a rail
// map: shared with the agent, which serves them in its inventory.

#include <cstdint>
#include <string>
#include <vector>

#include "cli/map_inputs.hpp"
#include "topology/checks.hpp"

namespace railcheck::cli {

struct CheckOptions : MapInputOptions {
  uint64_t memlock_per_rail_mib = topology::kDefaultMemlockPerRail >> 20;
  std::string guid_pool;  // empty: none
  std::string pkey;       // empty: none
  uint32_t gateway_timeout_ms = 1000;
  std::string gpu_path_warn = "PHB";  // gpudirect_ready: nearest GPU this far or farther warns
  std::string gpu_path_fail = "SYS";  // ... fails
};

std::vector<topology::CheckResult> collect_checks(const CheckOptions& opt, const topology::RailMap& map);

}  // namespace railcheck::cli
