#include "pods/run_records.hpp"

#include "reports/single_results.hpp"

namespace railcheck::pods {

std::vector<reports::Record> records_from_run(const verbs::RunRecord& run, const topology::RailPort& port,
                                              const std::string& node, const std::string& pod) {
  const std::string rail = port.network.empty() ? port.interface : port.network;
  reports::Results single = reports::results_from_run(
      run, reports::SingleRunContext{.node = node, .interface = port.interface, .rail = rail, .started = {},
                                     .finished = {}});
  // What the rail map knows about this side beyond the run itself.
  for (reports::Record& r : single.records) {
    r.src.pod = pod;
    if (port.pci_address) r.src.pci_address = *port.pci_address;
    r.src.rate_gbps = port.rate_gbps;
    if (auto ip = topology::first_ipv4(port)) r.src.ip = *ip;
    if (port.nearest_gpu) {
      r.src.gpu = port.nearest_gpu->ordinal;
      r.src.gpu_pci_address = port.nearest_gpu->pci_address;
      r.src.gpu_class = std::string(topology::to_string(port.nearest_gpu->path));
    }
  }
  return std::move(single.records);
}

}  // namespace railcheck::pods
