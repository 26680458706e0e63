#pragma once
// The rail map (`railcheck topo --format json`, and the agent's answer) as a JSON document,
// schema railcheck.topo/v1: every port with every field (null where unknown) and where its key
// facts came from, every GPU with its nearest rail, the node view (every RDMA NIC, the GPU x NIC
// matrix), and the notes. Fields are only ever added to v1 (pcie_link, node: see docs/topology.md).

#include <nlohmann/json.hpp>

#include "topology/rail_map.hpp"

namespace railcheck::reports {

inline constexpr const char* kTopoSchema = "railcheck.topo/v1";

nlohmann::json topo_to_json(const topology::RailMap& map);

}  // namespace railcheck::reports
