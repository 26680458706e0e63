#pragma once
// The two ends of a pair, each built once, where it is known. An end's interface facts (node,
// pod, interface, address, device, PCIe place, link, nearest GPU) come from the rail map of the
// pod it belongs to; what a run measured on it (device, GID, active MTU, where its buffer lived,
// the GPU used and how it was registered) comes from that side's engine endpoint. An agent that
// runs a test as client builds both ends of its records: its own from its rail map and its
// endpoint, the server's from the end the server's agent described (pods: TestRequest::peer_end)
// and the endpoint the server sent. The coordinator builds only the ends of tests that never
// ran, from the inventories, with the same interface_end().

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/error.hpp"
#include "common/json_reader.hpp"
#include "reports/results.hpp"
#include "topology/rail_map.hpp"
#include "verbs/endpoint.hpp"

namespace railcheck::reports {

// An interface's facts as an end of a pair; `node` is how the run names the node (the
// coordinator's name for the agent: the node, or node/pod where pods share a node).
PairEnd interface_end(const topology::RailPort& port, std::string node, std::string pod);

// Overlays what a run measured on this end: what the engine saw wins over the rail map (the
// device, its active MTU, the GID and the address it carries), and the memory facts are the
// buffer's (a GPU buffer names the GPU it used, which may not be the nearest one).
void add_measured(PairEnd& end, const verbs::EndpointInfo& measured);

nlohmann::json to_json(const PairEnd& end);
// Reads an end's fields into `end` (the results reader's records use it with their own errors).
void read_end(JsonReader& r, PairEnd& end);
// Reads an end as to_json() writes it (as results records carry it); errors name the field
// under `path`.
Result<PairEnd> end_from_json(const nlohmann::json& j, std::string_view path);

}  // namespace railcheck::reports
