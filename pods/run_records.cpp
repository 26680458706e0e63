#include "pods/run_records.hpp"

#include "reports/pair_ends.hpp"
#include "reports/single_results.hpp"

namespace railcheck::pods {

std::vector<reports::Record> records_from_run(const verbs::RunRecord& run, const RunEnds& ends) {
  const topology::RailPort& port = ends.port;
  reports::SingleRunContext where{.node = ends.name,
                                  .interface = port.interface,
                                  .rail = port.network.empty() ? port.interface : port.network,
                                  .started = {},
                                  .finished = {},
                                  .src = reports::interface_end(port, ends.name, ends.pod),
                                  .dst = ends.peer};
  return std::move(reports::results_from_run(run, where).records);
}

}  // namespace railcheck::pods
