#include "reports/topo_json.hpp"

#include <fmt/format.h>

#include <cmath>

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

json state_json(const std::optional<topology::PcieLinkState>& link) {
  if (!link) return nullptr;
  const int gen = link->gts ? topology::pcie_generation(*link->gts) : 0;
  return {{"gts", or_null(link->gts)},
          {"width", or_null(link->width)},
          {"generation", gen > 0 ? json(gen) : json(nullptr)},
          {"gbytes_per_s", std::round(link->gbytes_per_s * 1000) / 1000},
          {"usable_gbps", std::round(topology::pcie_usable_gbps(*link) * 10) / 10}};
}

json link_json(const std::optional<topology::PcieLinkFacts>& f) {
  if (!f) return nullptr;
  json hops = json::array();
  for (const auto& h : f->hops) {
    hops.push_back({{"downstream", h.downstream},
                    {"upstream", h.upstream.empty() ? json(nullptr) : json(h.upstream)},
                    {"current", state_json(h.current)},
                    {"capable", state_json(h.capable)},
                    {"idle_speed", h.idle_speed}});
  }
  return {{"source", to_string(f->source)},     {"device", f->device},
          {"current", state_json(f->current)},  {"max", state_json(f->max)},
          {"device_max", state_json(f->device_max)}, {"narrowest", state_json(f->narrowest)},
          {"narrowest_at", f->narrowest_at.empty() ? json(nullptr) : json(f->narrowest_at)},
          {"hops", std::move(hops)}};
}

json node_json(const std::optional<topology::NodeView>& node) {
  if (!node) return nullptr;
  json nics = json::array();
  json names = json::array();
  for (const auto& n : node->nics) {
    json nearest = nullptr;
    if (n.nearest_gpu) {
      nearest = {{"gpu", n.nearest_gpu->ordinal},
                 {"pci_address", n.nearest_gpu->pci_address},
                 {"class", to_string(n.nearest_gpu->path)}};
    }
    nics.push_back({{"name", n.name},
                    {"pci_address", n.pci_address},
                    {"rdma_devices", n.rdma_devices},
                    {"netdevs", n.netdevs},
                    {"device_name", n.device_name},
                    {"vfs", n.vfs},
                    {"numa_node", or_null(n.numa_node)},
                    {"nearest_gpu", std::move(nearest)},
                    {"rail", n.rail},
                    {"role", n.role},
                    {"pcie_link", link_json(n.pcie_link)}});
    names.push_back(n.name);
  }
  json rows = json::array();
  for (size_t g = 0; g < node->gpu_nic.size(); ++g) {
    json classes = json::array();
    for (const auto& c : node->gpu_nic[g]) classes.push_back(c ? json(to_string(*c)) : json(nullptr));
    const auto& own = node->gpu_rail[g];
    rows.push_back({{"gpu", g}, {"classes", std::move(classes)},
                    {"own_rail", own ? json(node->nics[*own].name) : json(nullptr)}});
  }
  return {{"nics", std::move(nics)}, {"matrix", {{"nics", std::move(names)}, {"gpus", std::move(rows)}}}};
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
          {"pcie_link", link_json(p.pcie_link)},
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
          {"nearest_rail", std::move(nearest)},
          {"pcie_link", link_json(g.pcie_link)}};
}

}  // namespace

json topo_to_json(const topology::RailMap& map) {
  json ports = json::array();
  for (const RailPort& p : map.ports) ports.push_back(port_json(p));
  json gpus = json::array();
  for (const auto& g : map.gpus) gpus.push_back(gpu_json(g));
  return {{"schema", kTopoSchema},
          {"ports", std::move(ports)},
          {"gpus", std::move(gpus)},
          {"node", node_json(map.node)},
          {"notes", map.notes}};
}

}  // namespace railcheck::reports
