#pragma once
// A finished client run as report records, one per message size, with both ends built here,
// once: this side from its rail map and what its endpoint measured, the server's from the end
// its agent described (TestRequest::peer_end) and the endpoint the server sent in the run. The
// coordinator adds only what the schedule knows (the rail's name, the round, the attempts).

#include <optional>
#include <string>
#include <vector>

#include "reports/results.hpp"
#include "topology/rail_map.hpp"
#include "verbs/session.hpp"

namespace railcheck::pods {

struct RunEnds {
  const topology::RailPort& port;  // this side's interface in its rail map
  std::string name;                // how the records name this node
  std::string pod;
  std::optional<reports::PairEnd> peer;  // the server's end as its agent described it
};

std::vector<reports::Record> records_from_run(const verbs::RunRecord& run, const RunEnds& ends);

}  // namespace railcheck::pods
