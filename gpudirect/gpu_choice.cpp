#include "gpudirect/gpu_choice.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace railcheck::gpudirect {
namespace {

using topology::PathClass;

std::string canonical(const std::string& bus_id) {
  auto c = topology::normalize_bus_id(bus_id);
  return c ? *c : bus_id;
}

std::string list_visible(const std::vector<GpuInfo>& visible) {
  std::string s;
  for (const GpuInfo& g : visible) s += fmt::format("{}{} ({})", s.empty() ? "" : ", ", g.index, canonical(g.pci_bus_id));
  return s;
}

// The class of the path from the NIC to the GPU at `gpu_bus`; nullopt when unknown.
std::optional<PathClass> distance(const NicPlacement& nic, const std::string& gpu_bus) {
  if (nic.port == nullptr) return std::nullopt;
  const auto& nearest = nic.port->nearest_gpu;
  if (nearest && canonical(nearest->pci_address) == gpu_bus) return nearest->path;
  if (nic.pcie == nullptr) return std::nullopt;
  // hwloc may not list the VF itself; its PF sits at the same place.
  for (const auto& from : {nic.port->pci_address, nic.port->pf_pci_address}) {
    if (!from) continue;
    if (auto path = nic.pcie->classify(*from, gpu_bus)) return *path;
  }
  return std::nullopt;
}

GpuChoice make_choice(const GpuInfo& g, std::optional<PathClass> path, std::string how) {
  return GpuChoice{.ordinal = g.index, .pci_address = canonical(g.pci_bus_id), .name = g.name, .path = path,
                   .how = std::move(how)};
}

std::string class_text(std::optional<PathClass> path) {
  return path ? std::string(topology::to_string(*path)) : std::string("distance unknown");
}

Result<GpuChoice> choose_nearest(const std::vector<GpuInfo>& visible, const NicPlacement& nic) {
  const GpuInfo* best = nullptr;
  std::optional<PathClass> best_path;
  for (const GpuInfo& g : visible) {
    const auto path = distance(nic, canonical(g.pci_bus_id));
    if (!path) continue;
    if (best == nullptr || *path < *best_path || (*path == *best_path && g.index < best->index)) {
      best = &g;
      best_path = path;
    }
  }
  if (best == nullptr) {
    const GpuInfo& first = *std::ranges::min_element(visible, {}, &GpuInfo::index);
    const std::string why = nic.port == nullptr ? nic.unknown_reason
                                                : fmt::format("no PCIe path from {} to a GPU CUDA sees", nic.rdma_device);
    return make_choice(first, std::nullopt, fmt::format("GPU {}, the first: {}", first.index, why));
  }
  std::string how = fmt::format("nearest to {} ({})", nic.rdma_device, topology::to_string(*best_path));
  const auto& node_nearest = nic.port->nearest_gpu;
  if (node_nearest && canonical(node_nearest->pci_address) != canonical(best->pci_bus_id)) {
    how += fmt::format(" among the GPUs CUDA sees; the node's nearest, {} ({}), is not visible here",
                       node_nearest->pci_address, topology::to_string(node_nearest->path));
  }
  return make_choice(*best, best_path, std::move(how));
}

}  // namespace

Result<GpuSelector> parse_gpu_selector(std::string_view arg) {
  if (arg.empty()) return GpuSelector{};
  int n = -1;
  auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), n);
  if (ec == std::errc() && end == arg.data() + arg.size()) {
    if (n < 0) return fail(Errc::kInvalidArgument, fmt::format("GPU \"{}\"", arg), "a CUDA ordinal is 0 or more");
    return GpuSelector{.ordinal = n, .bus_id = {}};
  }
  auto bus = topology::normalize_bus_id(arg);
  if (!bus) {
    return fail(Errc::kInvalidArgument, fmt::format("GPU \"{}\"", arg),
                "write cuda:N (a CUDA ordinal) or cuda:BUSID (e.g. cuda:0000:18:00.0)");
  }
  return GpuSelector{.ordinal = std::nullopt, .bus_id = *bus};
}

Result<GpuChoice> choose_gpu(const GpuSelector& want, const std::vector<GpuInfo>& visible, const NicPlacement& nic) {
  if (visible.empty()) {
    return fail(Errc::kUnsupported, "no GPU visible to CUDA", "is a GPU allocated to this pod (nvidia.com/gpu resource)?");
  }
  if (want.automatic()) return choose_nearest(visible, nic);
  const auto it = want.ordinal ? std::ranges::find(visible, *want.ordinal, &GpuInfo::index)
                               : std::ranges::find_if(visible, [&](const GpuInfo& g) {
                                   return canonical(g.pci_bus_id) == want.bus_id;
                                 });
  if (it == visible.end()) {
    return fail(Errc::kNotFound, want.ordinal ? fmt::format("GPU {}", *want.ordinal) : fmt::format("GPU {}", want.bus_id),
                fmt::format("CUDA sees: {}", list_visible(visible)));
  }
  const auto path = distance(nic, canonical(it->pci_bus_id));
  return make_choice(*it, path,
                     fmt::format("asked for ({} to {}: {})", want.ordinal ? fmt::format("cuda:{}", *want.ordinal)
                                                                          : "cuda:" + want.bus_id,
                                 nic.rdma_device, class_text(path)));
}

Result<GpuChoice> choose_gpu_for(const GpuSelector& want, const std::vector<GpuInfo>& visible,
                                 const std::string& rdma_device, const topology::RailMapInputs& inputs) {
  NicPlacement nic{.rdma_device = rdma_device, .port = nullptr, .pcie = nullptr, .unknown_reason = {}};
  auto map = topology::build_rail_map(inputs);
  if (!map) {
    nic.unknown_reason = "no rail map: " + map.error().message();
  } else {
    const auto port = std::ranges::find(map->ports, std::optional<std::string>(rdma_device), &topology::RailPort::rdma_device);
    if (port != map->ports.end()) {
      nic.port = &*port;
    } else {
      nic.unknown_reason = fmt::format("{} is not in the rail map", rdma_device);
    }
  }
  std::optional<topology::PcieTopology> pcie;
  if (nic.port != nullptr) {
    auto loaded = inputs.hwloc_xml ? topology::PcieTopology::load_xml(*inputs.hwloc_xml)
                  : inputs.sysfs_root == "/sys"
                      ? topology::PcieTopology::load_live()
                      : Result<topology::PcieTopology>(fail(Errc::kNotFound, "no PCIe tree for a foreign sysfs root"));
    if (loaded) pcie = std::move(*loaded);
    if (pcie) nic.pcie = &*pcie;
  }
  return choose_gpu(want, visible, nic);
}

}  // namespace railcheck::gpudirect
