#pragma once
// The rail map (`railcheck topo --format json`, and the agent's answer) as a JSON document,
// schema railcheck.topo/v1: every port with every field (null where unknown) and where its key
// facts came from, every GPU with its nearest rail, and the notes.

#include <nlohmann/json.hpp>

#include "topology/rail_map.hpp"

namespace railcheck::reports {

inline constexpr const char* kTopoSchema = "railcheck.topo/v1";

nlohmann::json topo_to_json(const topology::RailMap& map);

}  // namespace railcheck::reports
