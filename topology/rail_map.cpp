#include "topology/rail_map.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>

#include "topology/network_selection.hpp"
#include "topology/network_status.hpp"
#include "topology/node_view.hpp"
#include "topology/podinfo.hpp"

namespace railcheck::topology {
namespace {

namespace fs = std::filesystem;

using Notes = std::vector<std::string>;
using EnvLists = std::map<std::string, std::vector<std::string>>;

constexpr std::array<uint32_t, 5> kIbMtus = {4096, 2048, 1024, 512, 256};

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

bool is_ipv4(const std::string& ip) { return ip.find(':') == std::string::npos; }

// What the pod's annotations say: Multus's network-status (nullopt, with a note, when there is
// none) and the networks it asked for (empty when absent or unreadable: a note says why).
struct PodAnnotations {
  std::optional<std::vector<NetworkStatus>> status;
  std::vector<NetworkSelection> selections;
};

std::vector<NetworkSelection> read_selections(const Annotations& annotations, const std::string& file,
                                              Notes& notes) {
  auto it = annotations.find(kNetworksKey);
  if (it == annotations.end()) return {};
  auto selections = parse_network_selections(it->second);
  if (!selections) {
    notes.push_back(fmt::format("{}: {}: its cni-args (InfiniBand GUID, pkey) are not used", file,
                                selections.error().what));
    return {};
  }
  return std::move(*selections);
}

Result<PodAnnotations> read_status(const std::string& podinfo_dir, Notes& notes) {
  if (podinfo_dir.empty()) {
    notes.emplace_back("no podinfo folder, so no network-status annotation: interfaces found from sysfs (class/net)");
    return PodAnnotations{};
  }
  const std::string file = podinfo_dir + "/annotations";
  auto annotations = read_annotations_file(file);
  if (!annotations) return std::unexpected(std::move(annotations.error()));
  PodAnnotations out{.status = std::nullopt, .selections = read_selections(*annotations, file, notes)};
  auto it = annotations->find(kNetworkStatusKey);
  if (it == annotations->end()) {
    notes.push_back(fmt::format("no network-status annotation in {}: interfaces found from sysfs (class/net)", file));
    return out;
  }
  auto status = parse_network_status(it->second);
  if (!status) {
    status.error().what = file + ": " + status.error().what;
    return std::unexpected(std::move(status.error()));
  }
  out.status = std::move(*status);
  return out;
}

// The cni-args the pod asked for each port's network: the first selection that names it (by
// interface when the selection gives one), each selection used once.
void attach_requests(std::vector<RailPort>& ports, const std::vector<NetworkSelection>& selections) {
  std::vector<bool> used(selections.size(), false);
  for (RailPort& port : ports) {
    for (size_t i = 0; i < selections.size(); ++i) {
      if (used[i] || !selections[i].selects(port.network, port.interface)) continue;
      used[i] = true;
      const auto& args = selections[i].cni_args;
      if (auto g = args.find("guid"); g != args.end()) {
        port.requested_guid = g->second;
      } else if (!selections[i].infiniband_guid.empty()) {
        port.requested_guid = selections[i].infiniband_guid;
      }
      if (auto k = args.find("pkey"); k != args.end()) port.requested_pkey = k->second;
      break;
    }
  }
}

// A device-info bus id in canonical form; an error naming the file, entry and field.
Result<std::optional<std::string>> annotated_bus_id(const std::string& value, const std::string& field,
                                                    const std::string& at) {
  if (value.empty()) return std::nullopt;
  auto id = normalize_bus_id(value);
  if (!id) {
    return fail(Errc::kProtocol, fmt::format("{}: device-info.pci.{} '{}' is not a PCI bus id", at, field, value),
                "expected DOMAIN:BUS:DEVICE.FUNCTION, e.g. 0000:18:00.1");
  }
  return std::optional(std::move(*id));
}

// Interface and RDMA device names become sysfs paths: they must be plain names.
bool is_plain_name(const std::string& name) {
  return name != "." && name != ".." && name.find('/') == std::string::npos;
}

Result<RailPort> port_from_status(const NetworkStatus& st, const std::string& file) {
  const std::string at = fmt::format("{}: network-status {} ({})", file, st.name, st.interface);
  for (auto [field, value] : {std::pair{"interface", &st.interface},
                              std::pair{"device-info.pci.rdma-device", st.pci ? &st.pci->rdma_device : nullptr}}) {
    if (value != nullptr && !is_plain_name(*value)) {
      return fail(Errc::kProtocol, fmt::format("{}: {} '{}' is not a device name", at, field, *value));
    }
  }
  RailPort port;
  port.interface = st.interface;
  port.network = st.name;
  port.ips = st.ips;
  port.mac = st.mac;
  port.sources.interface = Source::kAnnotation;
  port.sources.ips = Source::kAnnotation;
  if (!st.pci) return port;
  auto pci = annotated_bus_id(st.pci->pci_address, "pci-address", at);
  if (!pci) return std::unexpected(std::move(pci.error()));
  auto pf = annotated_bus_id(st.pci->pf_pci_address, "pf-pci-address", at);
  if (!pf) return std::unexpected(std::move(pf.error()));
  if (*pci) port.sources.pci_address = Source::kAnnotation;
  if (*pf) port.sources.pf_pci_address = Source::kAnnotation;
  port.pci_address = std::move(*pci);
  port.pf_pci_address = std::move(*pf);
  if (!st.pci->rdma_device.empty()) {
    port.rdma_device = st.pci->rdma_device;
    port.sources.rdma_device = Source::kAnnotation;
  }
  return port;
}

Result<std::vector<RailPort>> ports_from_status(const std::vector<NetworkStatus>& status, const std::string& file,
                                                Notes& notes) {
  std::vector<RailPort> ports;
  for (const NetworkStatus& st : status) {
    if (st.is_default) continue;
    if (st.interface.empty()) {
      notes.push_back(fmt::format("network-status entry {} names no interface: skipped", st.name));
      continue;
    }
    auto port = port_from_status(st, file);
    if (!port) return std::unexpected(std::move(port.error()));
    ports.push_back(std::move(*port));
  }
  if (ports.empty()) notes.emplace_back("the network-status annotation lists no secondary interface: no rails");
  return ports;
}

// Without an annotation: every netdev with an RDMA device below its PCI function.
std::vector<RailPort> ports_from_sysfs(const SysfsTree& sys, Notes& notes) {
  std::vector<RailPort> ports;
  for (const std::string& netdev : sys.netdevs()) {
    if (sys.netdev_rdma_devices(netdev).empty()) continue;
    RailPort port;
    port.interface = netdev;
    port.sources.interface = Source::kSysfs;
    ports.push_back(std::move(port));
  }
  if (ports.empty()) notes.emplace_back("sysfs shows no network interface with an RDMA device: no rails");
  return ports;
}

void resolve_pci(RailPort& port, const SysfsTree& sys, Notes& notes) {
  const auto from_sysfs = sys.netdev_pci_address(port.interface);
  if (port.pci_address) {
    if (from_sysfs && *from_sysfs != *port.pci_address) {
      notes.push_back(fmt::format("{}: device-info says PCI {}, sysfs class/net/{}/device says {}; using device-info's",
                                  port.interface, *port.pci_address, port.interface, *from_sysfs));
    }
  } else if (from_sysfs) {
    port.pci_address = from_sysfs;
    port.sources.pci_address = Source::kSysfs;
  } else {
    notes.push_back(fmt::format("{}: PCI address unknown (no device-info, no PCI device behind the netdev in sysfs)",
                                port.interface));
  }
}

Result<void> resolve_pf_and_numa(RailPort& port, const SysfsTree& sys, Notes& notes) {
  if (!port.pci_address) return {};
  const std::string& pci = *port.pci_address;
  if (!sys.has_pci_device(pci)) {
    notes.push_back(fmt::format("{}: PCI device {} is not in sysfs (bus/pci/devices): {}NUMA node from sysfs unknown",
                                port.interface, pci, port.pf_pci_address ? "" : "PF and "));
    return {};
  }
  const auto pf = sys.pci_physfn(pci);
  if (port.pf_pci_address) {
    if (pf && *pf != *port.pf_pci_address) {
      notes.push_back(fmt::format("{}: device-info says PF {}, sysfs physfn says {}; using device-info's",
                                  port.interface, *port.pf_pci_address, *pf));
    }
  } else if (pf) {
    port.pf_pci_address = pf;
    port.sources.pf_pci_address = Source::kSysfs;
  }
  for (const auto& bus_id : {std::optional(pci), port.pf_pci_address}) {
    if (!bus_id || port.numa_node) continue;
    auto node = sys.pci_numa_node(*bus_id);
    if (!node) return std::unexpected(std::move(node.error()));
    if (*node) {
      port.numa_node = *node;
      port.sources.numa_node = Source::kSysfs;
    }
  }
  return {};
}

void resolve_rdma(RailPort& port, const SysfsTree& sys, Notes& notes) {
  std::vector<std::string> found = sys.netdev_rdma_devices(port.interface);
  if (found.empty() && port.pci_address) found = sys.pci_rdma_devices(*port.pci_address);
  if (port.rdma_device) {
    if (!found.empty() && std::ranges::find(found, *port.rdma_device) == found.end()) {
      notes.push_back(fmt::format("{}: device-info names RDMA device {}, sysfs finds {} on its PCI device; using "
                                  "device-info's",
                                  port.interface, *port.rdma_device, joined(found)));
    }
  } else if (!found.empty()) {
    port.rdma_device = found.front();
    port.sources.rdma_device = Source::kSysfs;
  } else {
    notes.push_back(fmt::format("{}: no RDMA device (none in device-info, none on its PCI device in sysfs)",
                                port.interface));
  }
}

// The IPs a port's RoCE GIDs carry: how an interface without annotation gets its addresses.
std::vector<std::string> ips_from_gids(const RailPort& port) {
  std::vector<std::string> ips;
  for (const RailGid& g : port.gids) {
    if (g.type != "RoCEv2" || (!g.netdev.empty() && g.netdev != port.interface) || g.gid.starts_with("fe80:")) {
      continue;
    }
    ips.push_back(g.gid.starts_with("::ffff:") && is_ipv4(g.gid.substr(7)) ? g.gid.substr(7) : g.gid);
  }
  return ips;
}

// The RoCEv2 GID of the rail's IP (the one railcheck's tests use), else the first IPv4 one.
void choose_roce_gid(RailPort& port, Notes& notes) {
  std::vector<const RailGid*> v2;
  for (const RailGid& g : port.gids) {
    if (g.type == "RoCEv2") v2.push_back(&g);
  }
  for (const std::string& ip : port.ips) {
    const std::string want = is_ipv4(ip) ? "::ffff:" + ip : ip;
    auto it = std::ranges::find_if(v2, [&](const RailGid* g) { return g->gid == want; });
    if (it != v2.end()) {
      port.roce_gid = **it;
      return;
    }
  }
  std::vector<std::string> texts;
  for (const RailGid* g : v2) texts.push_back(g->gid);
  if (!port.ips.empty()) {
    notes.push_back(fmt::format("{}: no RoCEv2 GID carries {} (RoCEv2 GIDs: {})", port.interface, joined(port.ips),
                                texts.empty() ? "none" : joined(texts)));
  }
  auto mapped = std::ranges::find_if(v2, [](const RailGid* g) { return g->gid.starts_with("::ffff:"); });
  if (mapped != v2.end()) port.roce_gid = **mapped;
}

// The netdev MTU (of the interface, else of the netdev its GIDs name) and the RoCE MTU.
Result<void> read_mtu(RailPort& port, const SysfsTree& sys, Notes& notes) {
  std::string netdev = port.interface;
  if (!sys.has_netdev(netdev)) {
    auto named = std::ranges::find_if(port.gids, [&](const RailGid& g) { return sys.has_netdev(g.netdev); });
    netdev = named != port.gids.end() ? named->netdev : "";
  }
  auto text = netdev.empty() ? std::nullopt : sys.netdev_attr(netdev, "mtu");
  if (!text) {
    notes.push_back(fmt::format("{}: its netdev is not in sysfs class/net (another network namespace?): MTU unknown",
                                port.interface));
    return {};
  }
  uint32_t mtu = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), mtu);
  if (ec != std::errc() || end != text->data() + text->size()) {
    return fail(Errc::kProtocol, fmt::format("{}/class/net/{}/mtu: '{}' is not an MTU", sys.root(), netdev, *text));
  }
  port.netdev_mtu = mtu;
  if (port.link_layer == "Ethernet") port.active_mtu = roce_mtu_for(mtu);
  return {};
}

Result<void> read_rdma_port(RailPort& port, const SysfsTree& sys, Notes& notes) {
  if (!port.rdma_device) return {};
  const std::string& dev = *port.rdma_device;
  if (!sys.has_rdma_device(dev)) {
    notes.push_back(fmt::format("{}: RDMA device {} is not in sysfs class/infiniband: this pod does not see it "
                                "(exclusive RDMA namespace?); port state unknown",
                                port.interface, dev));
    return {};
  }
  const auto ports = sys.rdma_ports(dev);
  if (ports.empty()) {
    notes.push_back(fmt::format("{}: RDMA device {} has no ports in sysfs", port.interface, dev));
    return {};
  }
  auto attrs = sys.read_port(dev, ports.front());
  if (!attrs) return std::unexpected(std::move(attrs.error()));
  port.port = attrs->port;
  port.state = attrs->state;
  if (!attrs->phys_state.empty()) port.phys_state = attrs->phys_state;
  port.link_layer = attrs->link_layer;
  port.rate_gbps = attrs->rate_gbps;
  port.lid = attrs->lid;
  port.subnet_prefix = attrs->subnet_prefix;
  port.pkeys = attrs->pkeys;
  port.pkey_table_size = attrs->pkey_table_size;
  port.port_guid = attrs->port_guid;
  if (port.link_layer == "InfiniBand") {
    auto node_guid = sys.rdma_node_guid(dev);
    if (!node_guid) return std::unexpected(std::move(node_guid.error()));
    port.node_guid = *node_guid;
  }
  port.gids = attrs->gids;
  if (port.sources.ips == Source::kUnknown) {
    port.ips = ips_from_gids(port);
    if (!port.ips.empty()) port.sources.ips = Source::kSysfs;
  }
  if (port.mac.empty()) port.mac = sys.netdev_attr(port.interface, "address").value_or("");
  if (port.link_layer == "Ethernet") choose_roce_gid(port, notes);
  return read_mtu(port, sys, notes);
}

Result<void> resolve_port(RailPort& port, const SysfsTree& sys, Notes& notes) {
  resolve_pci(port, sys, notes);
  if (auto ok = resolve_pf_and_numa(port, sys, notes); !ok) return ok;
  resolve_rdma(port, sys, notes);
  return read_rdma_port(port, sys, notes);
}

void tag_resources(std::vector<RailPort>& ports, const EnvLists& env, Notes& notes) {
  for (const auto& [name, addresses] : env) {
    for (const std::string& address : addresses) {
      auto port = std::ranges::find(ports, std::optional(address), &RailPort::pci_address);
      if (port == ports.end()) {
        notes.push_back(fmt::format("{} lists {}, which no interface of this pod has", name, address));
      } else {
        port->resource = name;
      }
    }
  }
}

bool is_sys_root(const std::string& root) {
  return fs::path(root).lexically_normal() == "/sys" || fs::path(root).lexically_normal() == "/sys/";
}

// hwloc's tree: the XML when given, else this machine's (only for the real /sys).
Result<std::optional<PcieTopology>> load_topology(const RailMapInputs& in, Notes& notes) {
  if (in.hwloc_xml) {
    auto topo = PcieTopology::load_xml(*in.hwloc_xml);
    if (!topo) return std::unexpected(std::move(topo.error()));
    return std::optional(std::move(*topo));
  }
  if (!is_sys_root(in.sysfs_root)) {
    notes.push_back(fmt::format("no hwloc XML for the sysfs root {}: nearest GPUs not computed", in.sysfs_root));
    return std::nullopt;
  }
  auto topo = PcieTopology::load_live();
  if (!topo) {
    notes.push_back("hwloc could not read this machine (" + topo.error().message() + "): nearest GPUs unknown");
    return std::nullopt;
  }
  return std::optional(std::move(*topo));
}

std::optional<int> hwloc_numa(const PcieTopology& topo, const std::string& bus_id) {
  auto nic = std::ranges::find(topo.nics(), bus_id, [](const Nic& n) { return n.pci.bus_id; });
  if (nic == topo.nics().end() || nic->pci.numa_node < 0) return std::nullopt;
  return nic->pci.numa_node;
}

// Places one port in hwloc's tree (its VF, else its PF) and finds its nearest GPU; the bus id
// it was placed at, or nullopt when neither is in the tree.
Result<std::optional<std::string>> place_port(RailPort& port, const PcieTopology& topo, Notes& notes) {
  if (!port.pci_address) return std::nullopt;
  std::string place = *port.pci_address;
  auto match = topo.nearest_gpu(place);
  if (!match && match.error().code == Errc::kNotFound && port.pf_pci_address) {
    place = *port.pf_pci_address;
    match = topo.nearest_gpu(place);
  }
  if (!match) {
    if (match.error().code != Errc::kNotFound) return std::unexpected(std::move(match.error()));
    if (topo.gpus().empty()) return std::nullopt;  // nothing to be near to: one note says so
    notes.push_back(port.pf_pci_address
                        ? fmt::format("{}: neither its VF {} nor its PF {} is in hwloc's PCIe tree: nearest GPU "
                                      "unknown",
                                      port.interface, *port.pci_address, *port.pf_pci_address)
                        : fmt::format("{}: its PCI device {} is not in hwloc's PCIe tree: nearest GPU unknown",
                                      port.interface, *port.pci_address));
    return std::nullopt;
  }
  if (!port.numa_node) {
    port.numa_node = hwloc_numa(topo, place);
    if (port.numa_node) port.sources.numa_node = Source::kHwloc;
  }
  if (*match) {
    port.nearest_gpu = NearestGpu{.ordinal = (*match)->gpu.ordinal,
                                  .pci_address = (*match)->gpu.pci.bus_id,
                                  .path = (*match)->path,
                                  .from_pf = place != *port.pci_address};
  }
  return std::optional(std::move(place));
}

GpuAffinity gpu_affinity(const Gpu& gpu, const std::vector<RailPort>& ports,
                         const std::vector<std::optional<std::string>>& places, const PcieTopology& topo) {
  GpuAffinity out;
  out.ordinal = gpu.ordinal;
  out.pci_address = gpu.pci.bus_id;
  out.name = gpu.pci.device_name;
  if (gpu.pci.numa_node >= 0) out.numa_node = gpu.pci.numa_node;
  for (size_t i = 0; i < ports.size(); ++i) {  // in port order: the first of equals wins
    if (!places[i]) continue;
    auto path = topo.classify(gpu.pci.bus_id, *places[i]);
    if (!path || (out.nearest && out.nearest->path <= *path)) continue;
    out.nearest = NearestRail{.interface = ports[i].interface, .rdma_device = ports[i].rdma_device,
                              .pci_address = ports[i].pci_address.value_or(""), .path = *path};
  }
  return out;
}

Result<void> place_gpus(RailMap& map, const PcieTopology& topo) {
  if (topo.gpus().empty()) map.notes.emplace_back("hwloc sees no GPU: no nearest GPU for any rail");
  std::vector<std::optional<std::string>> places;
  std::vector<std::string> from_pf;
  for (RailPort& port : map.ports) {
    auto place = place_port(port, topo, map.notes);
    if (!place) return std::unexpected(std::move(place.error()));
    places.push_back(std::move(*place));
    if (port.nearest_gpu && port.nearest_gpu->from_pf) from_pf.push_back(port.interface);
  }
  if (!from_pf.empty()) {
    map.notes.push_back(fmt::format("hwloc's tree does not list the VF of {}: nearest GPU measured from the PF, "
                                    "which sits at the same PCIe place",
                                    joined(from_pf)));
  }
  for (const RailPort& port : map.ports) {
    if (!port.nearest_gpu || port.nearest_gpu->path <= PathClass::kPxb) continue;
    map.notes.push_back(fmt::format("{}: its nearest GPU, GPU{}, is {} ({}): GPUDirect RDMA over this rail will be "
                                    "slow; a rail should be PIX or PXB to its GPU",
                                    port.interface, port.nearest_gpu->ordinal, to_string(port.nearest_gpu->path),
                                    path_place(port.nearest_gpu->path)));
  }
  for (const Gpu& gpu : topo.gpus()) map.gpus.push_back(gpu_affinity(gpu, map.ports, places, topo));
  return {};
}

// The PCIe links of the rails (a VF read through its PF) and of the GPUs.
void read_links(RailMap& map, const SysfsTree& sys, const PcieTopology* topo) {
  for (RailPort& port : map.ports) {
    const auto& bus = port.pf_pci_address ? port.pf_pci_address : port.pci_address;
    if (bus) port.pcie_link = read_pcie_link(*bus, false, &sys, topo, nullptr, map.notes);
  }
  if (topo == nullptr) return;
  for (GpuAffinity& gpu : map.gpus) {
    const Gpu& hw = topo->gpus()[static_cast<size_t>(gpu.ordinal)];
    gpu.pcie_link = read_pcie_link(gpu.pci_address, true, &sys, topo, &hw.pci, map.notes);
  }
}

}  // namespace

std::string_view to_string(Source source) noexcept {
  switch (source) {
    case Source::kUnknown: return "unknown";
    case Source::kAnnotation: return "annotation";
    case Source::kSysfs: return "sysfs";
    case Source::kHwloc: return "hwloc";
  }
  return "unknown";
}

std::optional<std::string> first_ipv4(const RailPort& port) {
  for (const std::string& ip : port.ips) {
    std::string addr = ip.substr(0, ip.find('/'));
    in_addr parsed{};
    if (inet_pton(AF_INET, addr.c_str(), &parsed) == 1) return addr;
  }
  return std::nullopt;
}

std::optional<uint32_t> roce_mtu_for(uint32_t netdev_mtu) noexcept {
  for (uint32_t mtu : kIbMtus) {
    if (netdev_mtu >= mtu + kRoceHeaderBytes) return mtu;
  }
  return std::nullopt;
}

Result<EnvLists> parse_pcidevice_env(const std::map<std::string, std::string>& env) {
  EnvLists out;
  for (const auto& [name, value] : env) {
    if (!name.starts_with("PCIDEVICE_") || name.ends_with("_INFO")) continue;
    std::vector<std::string>& list = out[name];
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (item.empty()) continue;
      auto id = normalize_bus_id(item);
      if (!id) {
        return fail(Errc::kInvalidArgument, fmt::format("{}: '{}' is not a PCI bus id", name, item),
                    "the SR-IOV device plugin sets PCIDEVICE_<RESOURCE>=0000:19:00.2,... (comma-separated)");
      }
      list.push_back(std::move(*id));
    }
  }
  return out;
}

Result<RailMap> build_rail_map(const RailMapInputs& inputs) {
  auto env = parse_pcidevice_env(inputs.env);
  if (!env) return std::unexpected(std::move(env.error()));
  const SysfsTree sys(inputs.sysfs_root);
  RailMap map;
  auto pod = read_status(inputs.podinfo_dir, map.notes);
  if (!pod) return std::unexpected(std::move(pod.error()));
  if (pod->status) {
    auto ports = ports_from_status(*pod->status, inputs.podinfo_dir + "/annotations", map.notes);
    if (!ports) return std::unexpected(std::move(ports.error()));
    map.ports = std::move(*ports);
    attach_requests(map.ports, pod->selections);
  } else {
    map.ports = ports_from_sysfs(sys, map.notes);
  }
  for (RailPort& port : map.ports) {
    if (auto ok = resolve_port(port, sys, map.notes); !ok) return std::unexpected(std::move(ok.error()));
  }
  tag_resources(map.ports, *env, map.notes);
  auto topo = load_topology(inputs, map.notes);
  if (!topo) return std::unexpected(std::move(topo.error()));
  const PcieTopology* tree = *topo ? &**topo : nullptr;
  if (tree != nullptr) {
    if (auto ok = place_gpus(map, *tree); !ok) return std::unexpected(std::move(ok.error()));
  }
  read_links(map, sys, tree);
  if (tree != nullptr) map.node = build_node_view(*tree, &sys, map.ports, inputs.non_rail_nics, map.notes);
  return map;
}

}  // namespace railcheck::topology
