#include "topology/node_view.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace railcheck::topology {
namespace {

using Notes = std::vector<std::string>;

constexpr uint16_t kVendorMellanox = 0x15b3;

void note_once(Notes& notes, std::string text) {
  if (std::ranges::find(notes, text) == notes.end()) notes.push_back(std::move(text));
}

// A sysfs id file ("0x10de") as a number; nullopt when absent or unreadable.
std::optional<uint16_t> id_of(const SysfsTree& sys, const std::string& bus_id, const char* file) {
  auto text = sys.pci_attr(bus_id, file);
  if (!text) return std::nullopt;
  std::string_view hex(*text);
  if (hex.starts_with("0x")) hex.remove_prefix(2);
  uint16_t value = 0;
  const auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), value, 16);
  if (ec != std::errc() || end != hex.data() + hex.size()) return std::nullopt;
  return value;
}

// Whether this sysfs's `bus_id` is the device hwloc describes (absent ids: no objection).
bool same_device(const SysfsTree& sys, const std::string& bus_id, const PciFunction& expect) {
  const auto vendor = id_of(sys, bus_id, "vendor");
  const auto device = id_of(sys, bus_id, "device");
  return (!vendor || *vendor == expect.vendor_id) && (!device || *device == expect.device_id);
}

// One link file as a setting part; a file sysfs cannot make sense of is a note and unknown.
template <class T, class Parse>
std::optional<T> link_field(const SysfsTree& sys, const std::string& bus_id, const char* file, Parse parse,
                            Notes& notes) {
  auto text = sys.pci_attr(bus_id, file);
  if (!text) return std::nullopt;
  auto value = parse(*text);
  if (!value) {
    note_once(notes, fmt::format("{}/bus/pci/devices/{}/{}: {}: that link is counted unknown", sys.root(), bus_id,
                                 file, value.error().what));
    return std::nullopt;
  }
  return *value;
}

std::optional<PcieLinkState> link_setting(const SysfsTree& sys, const std::string& bus_id, const char* speed_file,
                                          const char* width_file, Notes& notes) {
  const auto gts = link_field<double>(sys, bus_id, speed_file, parse_link_speed, notes);
  const auto width = link_field<uint32_t>(sys, bus_id, width_file, parse_link_width, notes);
  if (!gts || !width) return std::nullopt;
  return pcie_link_state(*gts, *width);
}

std::optional<PcieLinkFacts> sysfs_link(const SysfsTree& sys, const std::string& bus_id, bool gpu, Notes& notes) {
  std::vector<FunctionLink> chain;
  for (const std::string& fn : sys.pci_chain(bus_id)) {
    chain.push_back(FunctionLink{.bus_id = fn,
                                 .current = link_setting(sys, fn, "current_link_speed", "current_link_width", notes),
                                 .max = link_setting(sys, fn, "max_link_speed", "max_link_width", notes)});
  }
  if (chain.empty() || (!chain.front().current && !chain.front().max)) return std::nullopt;
  return link_facts_from_chain(chain, LinkSource::kSysfs, gpu);
}

std::string name_of(const Nic& nic) {
  if (!nic.rdma_devices.empty()) return nic.rdma_devices.front();
  if (!nic.netdevs.empty()) return nic.netdevs.front();
  return nic.pci.bus_id;
}

bool named_in(const NodeNic& nic, const std::vector<std::string>& names) {
  return std::ranges::any_of(names, [&](const std::string& n) {
    auto id = normalize_bus_id(n);
    return (id && *id == nic.pci_address) || std::ranges::find(nic.rdma_devices, n) != nic.rdma_devices.end() ||
           std::ranges::find(nic.netdevs, n) != nic.netdevs.end();
  });
}

// The PF a VF hangs beside: its sysfs physfn (live loads), else the lowest non-VF NIC below the
// same hwloc object on the same bus.
std::optional<std::string> pf_of(const Nic& vf, const PcieTopology& topo) {
  if (vf.pf_bus_id) return vf.pf_bus_id;
  const std::string bus = vf.pci.bus_id.substr(0, 7);  // "0000:18"
  for (const Nic& nic : topo.nics()) {
    if (nic.is_vf != true && nic.pci.bus_id.starts_with(bus) && topo.same_parent(nic.pci.bus_id, vf.pci.bus_id)) {
      return nic.pci.bus_id;
    }
  }
  return std::nullopt;
}

std::vector<NodeNic> node_nics(const PcieTopology& topo, const std::vector<RailPort>& ports) {
  std::vector<NodeNic> out;
  std::vector<const Nic*> vfs;
  for (const Nic& nic : topo.nics()) {
    const auto pf = nic.is_vf == true ? pf_of(nic, topo) : std::nullopt;
    if (pf && std::ranges::find(topo.nics(), *pf, [](const Nic& n) { return n.pci.bus_id; }) != topo.nics().end()) {
      vfs.push_back(&nic);
      continue;
    }
    out.push_back(NodeNic{.pci_address = nic.pci.bus_id,
                          .name = name_of(nic),
                          .rdma_devices = nic.rdma_devices,
                          .netdevs = nic.netdevs,
                          .device_name = nic.pci.device_name,
                          .vfs = {},
                          .numa_node = nic.pci.numa_node >= 0 ? std::optional(nic.pci.numa_node) : std::nullopt,
                          .nearest_gpu = std::nullopt,
                          .rail = false,
                          .role = {},
                          .pcie_link = std::nullopt});
  }
  std::vector<bool> rdma(out.size(), false);
  for (size_t i = 0; i < out.size(); ++i) {
    const Nic& nic = *std::ranges::find(topo.nics(), out[i].pci_address, [](const Nic& n) { return n.pci.bus_id; });
    rdma[i] = nic.has_rdma() || nic.pci.vendor_id == kVendorMellanox;
  }
  for (const Nic* vf : vfs) {
    const std::string pf = *pf_of(*vf, topo);
    auto it = std::ranges::find(out, pf, &NodeNic::pci_address);
    if (it == out.end()) continue;
    it->vfs.push_back(vf->pci.bus_id);
    if (vf->has_rdma()) rdma[static_cast<size_t>(it - out.begin())] = true;
  }
  for (const RailPort& port : ports) {
    for (const auto& bus : {port.pf_pci_address, port.pci_address}) {
      auto it = bus ? std::ranges::find(out, *bus, &NodeNic::pci_address) : out.end();
      if (it != out.end()) rdma[static_cast<size_t>(it - out.begin())] = true;
    }
  }
  std::vector<NodeNic> kept;
  for (size_t i = 0; i < out.size(); ++i) {
    if (rdma[i]) kept.push_back(std::move(out[i]));
  }
  return kept;
}

// Each GPU's own rail: PIX rails first, then PXB, each given to the GPUs in ordinal order that
// have it at that class and no rail yet, a rail to one GPU only.
std::vector<std::optional<size_t>> assign_rails(const NodeView& view) {
  std::vector<std::optional<size_t>> own(view.gpu_nic.size());
  std::vector<bool> taken(view.nics.size(), false);
  for (PathClass wanted : {PathClass::kPix, PathClass::kPxb}) {
    for (size_t g = 0; g < view.gpu_nic.size(); ++g) {
      if (own[g]) continue;
      for (size_t n = 0; n < view.nics.size(); ++n) {
        if (taken[n] || !view.nics[n].rail || view.gpu_nic[g][n] != wanted) continue;
        own[g] = n;
        taken[n] = true;
        break;
      }
    }
  }
  return own;
}

}  // namespace

std::optional<PcieLinkFacts> read_pcie_link(const std::string& bus_id, bool gpu, const SysfsTree* sys,
                                            const PcieTopology* topo, const PciFunction* expect, Notes& notes) {
  if (sys != nullptr && (expect == nullptr || same_device(*sys, bus_id, *expect))) {
    if (auto facts = sysfs_link(*sys, bus_id, gpu, notes)) return facts;
  }
  if (topo == nullptr) return std::nullopt;
  auto chain = topo->link_chain(bus_id);
  if (!chain || chain->empty() || !chain->front().current) return std::nullopt;
  return link_facts_from_chain(*chain, LinkSource::kHwloc, gpu);
}

NodeView build_node_view(const PcieTopology& topo, const SysfsTree* sys, const std::vector<RailPort>& ports,
                         const std::vector<std::string>& non_rail, Notes& notes) {
  NodeView view;
  view.nics = node_nics(topo, ports);
  view.gpu_nic.assign(topo.gpus().size(), std::vector<std::optional<PathClass>>(view.nics.size()));
  for (size_t n = 0; n < view.nics.size(); ++n) {
    NodeNic& nic = view.nics[n];
    const auto& hw = *std::ranges::find(topo.nics(), nic.pci_address, [](const Nic& x) { return x.pci.bus_id; });
    std::optional<PathClass> best;
    for (const Gpu& gpu : topo.gpus()) {
      auto path = topo.classify(gpu.pci.bus_id, nic.pci_address);
      if (!path) continue;
      view.gpu_nic[static_cast<size_t>(gpu.ordinal)][n] = *path;
      if (!best || *path < *best) {
        best = *path;
        nic.nearest_gpu = NearestGpu{.ordinal = gpu.ordinal, .pci_address = gpu.pci.bus_id, .path = *path,
                                     .from_pf = false};
      }
    }
    if (named_in(nic, non_rail)) {
      nic.role = "not a rail: named by --non-rail-nic";
    } else if (!best) {
      nic.role = "not a rail: no GPU on the node";
    } else if (*best <= PathClass::kPxb) {
      nic.rail = true;
      nic.role = "rail";
    } else {
      nic.role = fmt::format("not a rail: on no GPU's PCIe switch ({} to GPU{}): storage or management",
                             to_string(*best), nic.nearest_gpu->ordinal);
    }
    nic.pcie_link = read_pcie_link(nic.pci_address, false, sys, &topo, &hw.pci, notes);
  }
  view.gpu_rail = assign_rails(view);
  return view;
}

}  // namespace railcheck::topology
