#include "topology/node_checks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace railcheck::topology {
namespace {

constexpr const char* kLinkFix =
    "reseat the card (or the riser / cable of that link), check the slot's bifurcation and the BIOS PCIe speed "
    "setting; `lspci -vv -s BUS` shows LnkSta against LnkCap";
constexpr const char* kSlotFix =
    "put the device in a slot (or behind a switch port) of its own generation and width, or accept the lower bound";
constexpr const char* kIdleFix =
    "check it under load (nvidia-smi -q -d PCIE: Link Gen Current/Max); if it stays low, reseat the GPU";

CheckResult make(Verdict verdict, std::string subject, std::string reason, std::string fix = {}) {
  return CheckResult{.name = "pcie_link", .verdict = verdict, .subject = std::move(subject),
                     .reason = std::move(reason), .fix = std::move(fix)};
}

// Floored, as the link budget states it: "at most" must not round up.
std::string usable(const PcieLinkState& link) {
  return fmt::format("{:.0f} Gb/s", std::floor(pcie_usable_gbps(link)));
}

// Which link of the path a hop is, for the reason.
std::string hop_name(const PcieLinkFacts& f, size_t i) {
  const PcieHop& hop = f.hops[i];
  if (i == 0) return "its own link";
  return hop.upstream.empty() ? fmt::format("the link above it at {},", hop.downstream)
                              : fmt::format("the link above it, {} to {},", hop.downstream, hop.upstream);
}

// The sysfs verdict: what each link trained at against what both its ends can do.
CheckResult judge_sysfs(const std::string& subject, const std::string& what, const PcieLinkFacts& f) {
  std::vector<std::string> fails;
  std::vector<std::string> warns;
  std::string fix;
  for (size_t i = 0; i < f.hops.size(); ++i) {
    const PcieHop& hop = f.hops[i];
    if (!hop.current || !hop.capable) continue;
    if (hop.current->slower_than(*hop.capable)) {
      const std::string text = fmt::format("{} trained at {}, both ends can do {}", hop_name(f, i),
                                           to_string(*hop.current), to_string(*hop.capable));
      if (hop.idle_speed) {
        warns.push_back(text + ": a GPU lowers its link speed when idle");
        if (fix.empty()) fix = kIdleFix;
      } else {
        fails.push_back(text);
        fix = kLinkFix;
      }
    } else if (hop.lower_max && hop.capable->slower_than(*hop.lower_max)) {
      warns.push_back(fmt::format("{} runs at {}: {} can do {}, {} only {}", hop_name(f, i), to_string(*hop.current),
                                  i == 0 ? "the device" : hop.downstream, to_string(*hop.lower_max),
                                  hop.upstream.empty() ? "its port" : hop.upstream, to_string(*hop.capable)));
      if (fix.empty()) fix = kSlotFix;
    }
  }
  const std::string bound =
      f.narrowest ? fmt::format("at most {} over PCIe", usable(*f.narrowest)) : std::string("bound unknown");
  if (!fails.empty() || !warns.empty()) {
    std::vector<std::string> all = fails;
    all.insert(all.end(), warns.begin(), warns.end());
    std::string reason = what + ": ";
    for (size_t i = 0; i < all.size(); ++i) reason += (i == 0 ? "" : "; ") + all[i];
    return make(fails.empty() ? Verdict::kWarn : Verdict::kFail, subject, reason + ": " + bound, fix);
  }
  if (!f.current) return make(Verdict::kWaived, subject, what + ": current link unknown (sysfs says Unknown)");
  return make(Verdict::kPass, subject,
              fmt::format("{}: {}{}, {} up to the root port: {}", what, to_string(*f.current),
                          f.max ? fmt::format(" of {}", to_string(*f.max)) : std::string(" (max unknown)"),
                          f.hops.size() == 1 ? "one link" : fmt::format("{} links as fast", f.hops.size()), bound));
}

// The offline verdict: hwloc keeps the current links only, so a slower link on the path is all it can show.
CheckResult judge_hwloc(const std::string& subject, const std::string& what, const PcieLinkFacts& f) {
  if (!f.current) return make(Verdict::kWaived, subject, what + ": hwloc reports no link speed");
  const std::string offline = "hwloc's tree records current links only, no maximum";
  const PcieHop* fastest = nullptr;
  for (const PcieHop& hop : f.hops) {
    if (hop.current && (fastest == nullptr || fastest->current->slower_than(*hop.current))) fastest = &hop;
  }
  if (f.narrowest && f.narrowest_at != f.device) {
    return make(Verdict::kWarn, subject,
                fmt::format("{}: the link above it at {} runs at {}, slower than its own {} ({}): at most {} over PCIe",
                            what, f.narrowest_at, to_string(*f.narrowest), to_string(*f.current), offline,
                            usable(*f.narrowest)),
                "read current_link_* and max_link_* of that port on the node: " + std::string(kLinkFix));
  }
  if (fastest != nullptr && f.current->slower_than(*fastest->current)) {
    return make(Verdict::kWarn, subject,
                fmt::format("{}: its own link runs at {}, slower than the {} above it ({}): trained down, or a "
                            "slower device",
                            what, to_string(*f.current), to_string(*fastest->current), offline),
                "compare current_link_* with max_link_* in /sys/bus/pci/devices/" + f.device + " on the node");
  }
  return make(Verdict::kPass, subject,
              fmt::format("{}: {}, no slower link above it ({}): at most {} over PCIe", what, to_string(*f.current),
                          offline, usable(*f.current)));
}

CheckResult judge(const std::string& subject, const std::string& what, const std::optional<PcieLinkFacts>& f) {
  if (!f) return make(Verdict::kWaived, subject, what + ": link unknown (no link files in sysfs, not in hwloc's tree)");
  return f->source == LinkSource::kSysfs ? judge_sysfs(subject, what, *f) : judge_hwloc(subject, what, *f);
}

CheckResult rail(std::string subject, Verdict verdict, std::string reason, std::string fix = {}) {
  return CheckResult{.name = "rail_per_gpu", .verdict = verdict, .subject = std::move(subject),
                     .reason = std::move(reason), .fix = std::move(fix)};
}

std::string nic_text(const NodeNic& nic) { return fmt::format("{} ({})", nic.name, nic.pci_address); }

// The nearest NIC of GPU g among those `pick` accepts: its index, or nullopt.
template <class Pick>
std::optional<size_t> nearest_of(const NodeView& view, size_t g, Pick pick) {
  std::optional<size_t> best;
  for (size_t n = 0; n < view.nics.size(); ++n) {
    const auto& path = view.gpu_nic[g][n];
    if (!path || !pick(n)) continue;
    if (!best || *path < *view.gpu_nic[g][*best]) best = n;
  }
  return best;
}

CheckResult gpu_rail(const NodeView& view, const GpuAffinity& gpu, PathClass fail_from) {
  const auto g = static_cast<size_t>(gpu.ordinal);
  const std::string subject = fmt::format("GPU{}", gpu.ordinal);
  if (const auto own = view.gpu_rail[g]) {
    return rail(subject, Verdict::kPass,
                fmt::format("{} at {}: a rail of its own", nic_text(view.nics[*own]), to_string(*view.gpu_nic[g][*own])));
  }
  const auto near_rail = nearest_of(view, g, [&](size_t n) { return view.nics[n].rail; });
  if (near_rail && *view.gpu_nic[g][*near_rail] <= PathClass::kPxb) {
    const auto holder = std::ranges::find(view.gpu_rail, std::optional(*near_rail));
    return rail(subject, Verdict::kWarn,
                fmt::format("shares {} ({}) with GPU{}: no PIX/PXB rail is left for it, and two GPUs on one NIC get "
                            "half its bandwidth each",
                            nic_text(view.nics[*near_rail]), to_string(*view.gpu_nic[g][*near_rail]),
                            holder - view.gpu_rail.begin()),
                "one rail NIC per GPU below the GPU's PCIe switch; if the node has one, check that it is present "
                "(lspci) with its RDMA device");
  }
  const auto near_any = nearest_of(view, g, [](size_t) { return true; });
  if (!near_any) {
    return rail(subject, Verdict::kFail, "no RDMA NIC on the node", "the node needs an RDMA NIC per GPU");
  }
  const NodeNic& nic = view.nics[*near_any];
  const PathClass path = *view.gpu_nic[g][*near_any];
  const std::string reason =
      fmt::format("no rail NIC at PIX/PXB; the nearest RDMA NIC, {}, is {} ({}){}", nic_text(nic), to_string(path),
                  path_place(path), nic.rail ? "" : fmt::format(" and {}", nic.role));
  const std::string fix =
      "GPUDirect RDMA from this GPU crosses the CPU: a NIC below the GPU's PCIe switch (the node's design), or "
      "--non-rail-nic only for NICs that really are storage or management";
  return rail(subject, path >= fail_from ? Verdict::kFail : Verdict::kWarn, reason, fix);
}

}  // namespace

std::vector<CheckResult> check_pcie_links(const RailMap& map) {
  std::vector<CheckResult> out;
  for (const RailPort& p : map.ports) {
    const std::string dev = p.rdma_device.value_or("the NIC");
    const std::string what = p.pcie_link ? fmt::format("{} {}{}", dev, p.pf_pci_address ? "PF " : "", p.pcie_link->device)
                                          : dev;
    out.push_back(judge(p.interface, what, p.pcie_link));
  }
  // The node's other rail NICs (offline from hwloc alone, or a pod that holds a few of them).
  if (map.node) {
    for (const NodeNic& nic : map.node->nics) {
      const bool pods = std::ranges::any_of(map.ports, [&](const RailPort& p) {
        return p.pf_pci_address == nic.pci_address || p.pci_address == nic.pci_address ||
               (p.pcie_link && p.pcie_link->device == nic.pci_address);
      });
      if (nic.rail && !pods) out.push_back(judge(nic.name, nic.pci_address, nic.pcie_link));
    }
  }
  for (const GpuAffinity& g : map.gpus) {
    out.push_back(judge(fmt::format("GPU{}", g.ordinal), g.pci_address, g.pcie_link));
  }
  if (out.empty()) out.push_back(make(Verdict::kWaived, "", "no rail and no GPU"));
  return out;
}

std::vector<CheckResult> check_rail_per_gpu(const RailMap& map, PathClass fail_from) {
  if (!map.node) return {rail("", Verdict::kWaived, "no hwloc tree of the node")};
  if (map.gpus.empty()) return {rail("", Verdict::kWaived, "no GPU on this node")};
  std::vector<CheckResult> out;
  for (const GpuAffinity& gpu : map.gpus) {
    if (static_cast<size_t>(gpu.ordinal) >= map.node->gpu_rail.size()) continue;
    out.push_back(gpu_rail(*map.node, gpu, fail_from));
  }
  return out;
}

}  // namespace railcheck::topology
