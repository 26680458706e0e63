#include "topology/link_budget.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace railcheck::topology {
namespace {

struct Term {
  Bottleneck what;
  double gbps;
  std::string sentence;
};

std::string at_most(double gbps) { return fmt::format("at most {:.0f} Gb/s", std::floor(gbps)); }

std::string link_sentence(const std::string& who, const PcieLinkState& link, const std::string& at, double gbps) {
  const std::string where = at.empty() ? "" : fmt::format(" (the link at {}, above it)", at);
  return fmt::format("{} PCIe {}{}: {}", who, to_string(link), where, at_most(gbps));
}

}  // namespace

std::optional<double> path_cap_gbps(PathClass path) noexcept {
  for (const PathCap& cap : kPathCaps) {
    if (cap.path == path) return cap.gbps;
  }
  return std::nullopt;
}

std::string_view to_string(Bottleneck bottleneck) noexcept {
  switch (bottleneck) {
    case Bottleneck::kUnknown: return "unknown";
    case Bottleneck::kPortRate: return "port_rate";
    case Bottleneck::kNicPcie: return "nic_pcie";
    case Bottleneck::kGpuPcie: return "gpu_pcie";
    case Bottleneck::kPathClass: return "path_class";
  }
  return "unknown";
}

LinkBudget link_budget(const BudgetFacts& f) {
  std::vector<Term> terms;
  const std::string nic = f.nic.empty() ? "the NIC" : f.nic;
  if (f.port_rate_gbps && *f.port_rate_gbps > 0) {
    terms.push_back({Bottleneck::kPortRate, *f.port_rate_gbps, fmt::format("{} port rate: {}", nic, at_most(*f.port_rate_gbps))});
  }
  if (f.nic_link) {
    const double gbps = pcie_usable_gbps(*f.nic_link);
    terms.push_back({Bottleneck::kNicPcie, gbps, link_sentence(nic, *f.nic_link, f.nic_link_at, gbps)});
  }
  if (f.gpu_memory) {
    const std::string gpu = f.gpu.empty() ? "the GPU" : f.gpu;
    if (f.gpu_link) {
      const double gbps = pcie_usable_gbps(*f.gpu_link);
      terms.push_back({Bottleneck::kGpuPcie, gbps, link_sentence(gpu, *f.gpu_link, f.gpu_link_at, gbps)});
    }
    if (f.path) {
      if (auto cap = path_cap_gbps(*f.path)) {
        terms.push_back({Bottleneck::kPathClass, *cap,
                         fmt::format("{} to {} is {} ({}): {}", nic, gpu, to_string(*f.path), path_place(*f.path),
                                     at_most(*cap))});
      }
    }
  }
  // stable: the first of equal terms (in the order above) wins
  auto best = std::ranges::min_element(terms, {}, &Term::gbps);
  if (best == terms.end()) return LinkBudget{};
  return LinkBudget{.expected_gbps = best->gbps, .bottleneck = best->what, .sentence = best->sentence};
}

BudgetFacts budget_facts(const RailMap& map, const RailPort& port, bool gpu_memory) {
  BudgetFacts f;
  f.nic = port.rdma_device.value_or(port.interface);
  f.port_rate_gbps = port.rate_gbps;
  if (port.pcie_link && port.pcie_link->narrowest) {
    f.nic_link = port.pcie_link->narrowest;
    if (port.pcie_link->narrowest_at != port.pcie_link->device) f.nic_link_at = port.pcie_link->narrowest_at;
  }
  f.gpu_memory = gpu_memory;
  if (gpu_memory && port.nearest_gpu) {
    f.gpu = fmt::format("GPU{}", port.nearest_gpu->ordinal);
    f.path = port.nearest_gpu->path;
    auto gpu = std::ranges::find(map.gpus, port.nearest_gpu->ordinal, &GpuAffinity::ordinal);
    if (gpu != map.gpus.end() && gpu->pcie_link && gpu->pcie_link->narrowest) {
      f.gpu_link = gpu->pcie_link->narrowest;
      if (gpu->pcie_link->narrowest_at != gpu->pcie_link->device) f.gpu_link_at = gpu->pcie_link->narrowest_at;
    }
  }
  return f;
}

}  // namespace railcheck::topology
