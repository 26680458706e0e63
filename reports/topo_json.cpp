#include "reports/topo_json.hpp"

#include <fmt/format.h>

#include <cmath>

#include "common/json_reader.hpp"

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

namespace {

void read_gid(JsonReader& r, topology::RailGid& g) {
  r.get("index", g.index);
  r.get("gid", g.gid);
  r.get("type", g.type);
  r.get("netdev", g.netdev);
}

// A path class ("PIX") at `key`; a name that is not one is an error at that field.
void read_class(JsonReader& r, std::string_view key, topology::PathClass& out) {
  std::string text;
  if (!r.get(key, text)) return;
  if (auto c = topology::parse_path_class(text)) out = *c;
  else r.fail(key, fmt::format("must be PIX, PXB, PHB, NODE or SYS (is \"{}\")", text));
}

void read_state(JsonReader& r, std::string_view key, std::optional<topology::PcieLinkState>& out) {
  r.object(key, [&](JsonReader& l) {
    topology::PcieLinkState st;
    l.get("gts", st.gts);
    l.get("width", st.width);
    l.get("gbytes_per_s", st.gbytes_per_s);
    out = st;
  });
}

// What the link budget needs of a pcie_link object (its hops are not read back).
void read_link(JsonReader& r, std::optional<topology::PcieLinkFacts>& out) {
  r.object("pcie_link", [&](JsonReader& l) {
    topology::PcieLinkFacts f;
    std::string source;
    l.get("source", source);
    f.source = source == "hwloc" ? topology::LinkSource::kHwloc : topology::LinkSource::kSysfs;
    l.get("device", f.device);
    read_state(l, "current", f.current);
    read_state(l, "max", f.max);
    read_state(l, "device_max", f.device_max);
    read_state(l, "narrowest", f.narrowest);
    l.get("narrowest_at", f.narrowest_at);
    out = std::move(f);
  });
}

void read_port(JsonReader& r, RailPort& p) {
  r.require("interface", p.interface);
  r.get("network", p.network);
  r.get("ips", p.ips);
  r.get("mac", p.mac);
  r.get("pci_address", p.pci_address);
  r.get("pf_pci_address", p.pf_pci_address);
  r.get("resource", p.resource);
  r.get("rdma_device", p.rdma_device);
  r.get("port", p.port);
  r.get("state", p.state);
  r.get("phys_state", p.phys_state);
  r.get("link_layer", p.link_layer);
  r.get("netdev_mtu", p.netdev_mtu);
  r.get("active_mtu", p.active_mtu);
  r.get("rate_gbps", p.rate_gbps);
  r.object("roce_gid", [&](JsonReader& g) { read_gid(g, p.roce_gid.emplace()); });
  r.get("lid", p.lid);
  r.get("subnet_prefix", p.subnet_prefix);
  std::vector<std::string> pkeys;
  r.get("pkeys", pkeys);
  for (const std::string& k : pkeys) {
    unsigned long v = 0;
    try {
      v = std::stoul(k, nullptr, 16);
    } catch (const std::exception&) {
      return r.fail("pkeys", fmt::format("must be hex pkeys such as \"0x7fff\" (has \"{}\")", k));
    }
    p.pkeys.push_back(static_cast<uint16_t>(v));
  }
  r.each("gids", [&](const json& e, const std::string& path) {
    JsonReader g(e, path, r.errors());
    read_gid(g, p.gids.emplace_back());
  });
  r.get("numa_node", p.numa_node);
  r.object("nearest_gpu", [&](JsonReader& g) {
    topology::NearestGpu n;
    g.get("gpu", n.ordinal);
    g.get("pci_address", n.pci_address);
    read_class(g, "class", n.path);
    std::string from;
    g.get("measured_from", from);
    n.from_pf = from == "pf";
    p.nearest_gpu = n;
  });
  read_link(r, p.pcie_link);
}

}  // namespace

Result<topology::RailMap> topo_from_json(const json& j, std::string_view path) {
  JsonErrors errors;
  JsonReader top(j, std::string(path), errors);
  topology::RailMap map;
  top.each("ports", [&](const json& e, const std::string& p) {
    JsonReader r(e, p, errors);
    read_port(r, map.ports.emplace_back());
  });
  top.each("gpus", [&](const json& e, const std::string& p) {
    JsonReader r(e, p, errors);
    topology::GpuAffinity& g = map.gpus.emplace_back();
    r.get("gpu", g.ordinal);
    r.get("pci_address", g.pci_address);
    r.get("name", g.name);
    r.get("numa_node", g.numa_node);
    r.object("nearest_rail", [&](JsonReader& n) {
      topology::NearestRail rail;
      n.get("interface", rail.interface);
      n.get("rdma_device", rail.rdma_device);
      n.get("pci_address", rail.pci_address);
      read_class(n, "class", rail.path);
      g.nearest = rail;
    });
    read_link(r, g.pcie_link);
  });
  top.get("notes", map.notes);
  if (errors.failed()) return errors.unexpected();
  return map;
}

}  // namespace railcheck::reports
