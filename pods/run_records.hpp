#pragma once
// A finished client run as report records: one per message size, the client's side filled
// from the pod's rail map. The coordinator fills the rest (rail, the server's node and
// interface, the round).

#include <string>
#include <vector>

#include "reports/results.hpp"
#include "topology/rail_map.hpp"
#include "verbs/session.hpp"

namespace railcheck::pods {

std::vector<reports::Record> records_from_run(const verbs::RunRecord& run, const topology::RailPort& port,
                                              const std::string& node, const std::string& pod);

}  // namespace railcheck::pods
