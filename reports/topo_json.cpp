#include "reports/topo_json.hpp"

#include <fmt/format.h>

namespace railcheck::reports {
namespace {

using nlohmann::json;
using topology::RailPort;

template <class T>
json or_null(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

json gid_json(const topology::RailGid& g) {
  return {{"index", g.index}, {"gid", g.gid}, {"type", g.type}, {"netdev", g.netdev}};
}

json sources_json(const topology::PortSources& s) {
  return {{"interface", to_string(s.interface)},     {"pci_address", to_string(s.pci_address)},
          {"pf_pci_address", to_string(s.pf_pci_address)}, {"rdma_device", to_string(s.rdma_device)},
          {"ips", to_string(s.ips)},                 {"numa_node", to_string(s.numa_node)}};
}

json nearest_gpu_json(const RailPort& p) {
  if (!p.nearest_gpu) return nullptr;
  const auto& g = *p.nearest_gpu;
  return {{"gpu", g.ordinal},
          {"pci_address", g.pci_address},
          {"class", to_string(g.path)},
          {"measured_from", g.from_pf ? "pf" : "vf"}};
}

json port_json(const RailPort& p) {
  json gids = json::array();
  for (const auto& g : p.gids) gids.push_back(gid_json(g));
  json pkeys = json::array();
  for (uint16_t k : p.pkeys) pkeys.push_back(fmt::format("{:#06x}", k));
  return {{"interface", p.interface},
          {"network", p.network},
          {"ips", p.ips},
          {"mac", p.mac},
          {"pci_address", or_null(p.pci_address)},
          {"pf_pci_address", or_null(p.pf_pci_address)},
          {"resource", or_null(p.resource)},
          {"rdma_device", or_null(p.rdma_device)},
          {"port", or_null(p.port)},
          {"state", or_null(p.state)},
          {"phys_state", or_null(p.phys_state)},
          {"link_layer", or_null(p.link_layer)},
          {"netdev_mtu", or_null(p.netdev_mtu)},
          {"active_mtu", or_null(p.active_mtu)},
          {"rate_gbps", or_null(p.rate_gbps)},
          {"roce_gid", p.roce_gid ? gid_json(*p.roce_gid) : json(nullptr)},
          {"lid", or_null(p.lid)},
          {"subnet_prefix", or_null(p.subnet_prefix)},
          {"pkeys", std::move(pkeys)},
          {"gids", std::move(gids)},
          {"numa_node", or_null(p.numa_node)},
          {"nearest_gpu", nearest_gpu_json(p)},
          {"sources", sources_json(p.sources)}};
}

json gpu_json(const topology::GpuAffinity& g) {
  json nearest = nullptr;
  if (g.nearest) {
    nearest = {{"interface", g.nearest->interface},
               {"rdma_device", or_null(g.nearest->rdma_device)},
               {"pci_address", g.nearest->pci_address},
               {"class", to_string(g.nearest->path)}};
  }
  return {{"gpu", g.ordinal},
          {"pci_address", g.pci_address},
          {"name", g.name},
          {"numa_node", or_null(g.numa_node)},
          {"nearest_rail", std::move(nearest)}};
}

}  // namespace

json topo_to_json(const topology::RailMap& map) {
  json ports = json::array();
  for (const RailPort& p : map.ports) ports.push_back(port_json(p));
  json gpus = json::array();
  for (const auto& g : map.gpus) gpus.push_back(gpu_json(g));
  return {{"schema", kTopoSchema}, {"ports", std::move(ports)}, {"gpus", std::move(gpus)}, {"notes", map.notes}};
}

}  // namespace railcheck::reports
