#pragma once
// The live facts `railcheck check` gathers (rdma netns mode, visible devices, memlock, policy
// routes, GPUDirect) and the verdicts over them, for a rail map: shared with the agent, which
// serves them in its inventory.

#include <cstdint>
#include <vector>

#include "cli/map_inputs.hpp"
#include "topology/checks.hpp"

namespace railcheck::cli {

std::vector<topology::CheckResult> collect_checks(const MapInputOptions& inputs, uint64_t memlock_per_rail_mib,
                                                  const topology::RailMap& map);

}  // namespace railcheck::cli
