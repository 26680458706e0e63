#pragma once
// The rail map (`railcheck topo --format json`, and the agent's answer) as a JSON document,
// schema railcheck.topo/v1: every port with every field (null where unknown) and where its key
// facts came from, every GPU with its nearest rail, the node view (every RDMA NIC, the GPU x NIC
// matrix), and the notes. Fields are only ever added to v1 (pcie_link, node: see docs/topology.md).

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "topology/rail_map.hpp"

namespace railcheck::reports {

inline constexpr const char* kTopoSchema = "railcheck.topo/v1";

nlohmann::json topo_to_json(const topology::RailMap& map);

// Reads what topo_to_json() writes (an agent's inventory carries it): every port and GPU field
// the document has, unknown fields ignored (a newer minor version may add some). Errors name
// the field's path under `path` ("rail_map.ports[2].rate_gbps").
Result<topology::RailMap> topo_from_json(const nlohmann::json& j, std::string_view path = "rail_map");

}  // namespace railcheck::reports
