#include "topology/checks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <set>
#include <sstream>

namespace railcheck::topology {
namespace {

namespace fs = std::filesystem;

CheckResult result(std::string name, Verdict verdict, std::string subject, std::string reason,
                   std::string fix = {}) {
  return CheckResult{.name = std::move(name),
                     .verdict = verdict,
                     .subject = std::move(subject),
                     .reason = std::move(reason),
                     .fix = std::move(fix)};
}

std::string join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// The rail map's RDMA devices, in port order, without repeats.
std::vector<std::string> rail_devices(const RailMap& map) {
  std::vector<std::string> out;
  for (const RailPort& p : map.ports) {
    if (p.rdma_device && std::ranges::find(out, *p.rdma_device) == out.end()) out.push_back(*p.rdma_device);
  }
  return out;
}

std::string mib(uint64_t bytes) {
  if (bytes % (1ull << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes % (1ull << 10) == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} bytes", bytes);
}

}  // namespace

std::string_view to_string(Verdict verdict) noexcept {
  switch (verdict) {
    case Verdict::kPass: return "pass";
    case Verdict::kWarn: return "warn";
    case Verdict::kFail: return "fail";
    case Verdict::kWaived: return "waived";
  }
  return "waived";
}

// --- a. rdma_netns_mode -------------------------------------------------------------------

NetnsMode parse_rdma_netns_mode(std::string_view text) noexcept {
  std::istringstream in{std::string(text)};
  std::string word;
  while (in >> word) {
    if (word != "netns") continue;
    if (!(in >> word)) break;
    if (word == "exclusive") return NetnsMode::kExclusive;
    if (word == "shared") return NetnsMode::kShared;
    return NetnsMode::kUnknown;
  }
  return NetnsMode::kUnknown;
}

CheckResult check_rdma_netns_mode(NetnsMode mode) {
  constexpr const char* kName = "rdma_netns_mode";
  switch (mode) {
    case NetnsMode::kExclusive:
      return result(kName, Verdict::kPass, "", "netns exclusive: the pod sees only its own RDMA devices");
    case NetnsMode::kShared:
      return result(kName, Verdict::kWarn, "", "netns shared: every pod on this node sees every RDMA device",
                    "on the node: rdma system set netns exclusive (e.g. ib_core netns_mode=0), before the "
                    "pods start");
    case NetnsMode::kUnknown: break;
  }
  return result(kName, Verdict::kWaived, "", "mode unknown: `rdma system show` unavailable or unreadable");
}

// --- b. devices_visible -------------------------------------------------------------------

std::vector<std::string> visible_rdma_devices(const std::string& sysfs_root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(fs::path(sysfs_root) / "class" / "infiniband", ec), end; !ec && it != end;
       it.increment(ec)) {
    out.push_back(it->path().filename().string());
  }
  std::ranges::sort(out);
  return out;
}

CheckResult check_devices_visible(const RailMap& map, const std::vector<std::string>& visible, NetnsMode mode) {
  constexpr const char* kName = "devices_visible";
  const std::vector<std::string> rails = rail_devices(map);
  std::vector<std::string> missing;
  for (const std::string& d : rails) {
    if (std::ranges::find(visible, d) == visible.end()) missing.push_back(d);
  }
  std::vector<std::string> extra;
  for (const std::string& d : visible) {
    if (std::ranges::find(rails, d) == rails.end()) extra.push_back(d);
  }
  if (rails.empty() && visible.empty()) {
    return result(kName, Verdict::kWaived, "", "the rail map has no RDMA device and none is visible");
  }
  if (!missing.empty()) {
    std::string reason = fmt::format("rail devices not visible in the pod: {} ({} of {})", join(missing),
                                     missing.size(), rails.size());
    if (!extra.empty()) reason += fmt::format("; visible but not a rail: {}", join(extra));
    if (mode == NetnsMode::kExclusive) {
      reason += "; netns exclusive: a device shows only in the network namespace it was moved to";
      return result(kName, Verdict::kFail, "", std::move(reason),
                    "the RDMA CNI must move each VF's RDMA device into the pod's namespace (rdma-cni, or "
                    "ib-sriov-cni's rdmaIsolation); check its logs and the SR-IOV device plugin's isRdma");
    }
    return result(kName, Verdict::kFail, "", std::move(reason),
                  "the devices must be in the pod's network namespace: check the RDMA CNI (rdma: "
                  "true / rdma-cni) and the SR-IOV device plugin's isRdma");
  }
  if (!extra.empty()) {
    std::string reason = fmt::format("visible but not a rail: {}", join(extra));
    if (mode == NetnsMode::kExclusive) {
      return result(kName, Verdict::kFail, "", reason + " (netns exclusive)",
                    "another pod's or the host's device is in this pod's namespace: check the RDMA CNI");
    }
    return result(kName, Verdict::kWarn, "", reason + (mode == NetnsMode::kShared ? " (netns shared)" : ""),
                  "rdma system set netns exclusive on the node isolates the pods' devices");
  }
  return result(kName, Verdict::kPass, "", fmt::format("exactly the rail devices: {}", join(rails)));
}

// --- c. port_active -----------------------------------------------------------------------

std::vector<CheckResult> check_port_active(const RailMap& map) {
  constexpr const char* kName = "port_active";
  std::vector<CheckResult> out;
  for (const RailPort& p : map.ports) {
    if (!p.rdma_device) {
      out.push_back(result(kName, Verdict::kFail, p.interface, "no RDMA device",
                           "the interface must be an RDMA-capable VF (device plugin isRdma, RDMA CNI)"));
      continue;
    }
    const std::string where = fmt::format("{} port {}", *p.rdma_device, p.port.value_or(1));
    if (!p.state) {
      out.push_back(result(kName, Verdict::kFail, p.interface, fmt::format("{}: port state unknown", where),
                           "check /sys/class/infiniband/" + *p.rdma_device + "/ports in the pod"));
      continue;
    }
    if (*p.state != "ACTIVE") {
      out.push_back(result(kName, Verdict::kFail, p.interface,
                           fmt::format("{}: state {}, want ACTIVE", where, *p.state),
                           "check the cable, the switch port and the subnet manager (IB) or the link (RoCE)"));
      continue;
    }
    if (p.phys_state && *p.phys_state != "LINK_UP") {
      out.push_back(result(kName, Verdict::kFail, p.interface,
                           fmt::format("{}: physical state {}, want LINK_UP", where, *p.phys_state),
                           "check the cable and the switch port"));
      continue;
    }
    if (!p.link_layer) {
      out.push_back(result(kName, Verdict::kFail, p.interface, fmt::format("{}: no link layer", where),
                           "check /sys/class/infiniband/" + *p.rdma_device + "/ports/*/link_layer"));
      continue;
    }
    out.push_back(result(kName, Verdict::kPass, p.interface,
                         fmt::format("{}: ACTIVE, {}, {}", where, p.phys_state.value_or("phys state unknown"),
                                     *p.link_layer)));
  }
  return out;
}

// --- d. interface_addressing --------------------------------------------------------------

std::vector<CheckResult> check_interface_addressing(const RailMap& map) {
  constexpr const char* kName = "interface_addressing";
  std::vector<CheckResult> out;
  for (const RailPort& p : map.ports) {
    const auto ip = first_ipv4(p);
    if (!ip) {
      out.push_back(result(kName, Verdict::kFail, p.interface,
                           p.ips.empty() ? "no IP address" : "no IPv4 address: " + join(p.ips),
                           "check the network's IPAM (the NetworkAttachmentDefinition / IP pool)"));
      continue;
    }
    if (p.link_layer != "Ethernet") {
      out.push_back(result(kName, Verdict::kPass, p.interface, *ip));
      continue;
    }
    const std::string want = "::ffff:" + *ip;
    const bool found =
        std::ranges::any_of(p.gids, [&](const RailGid& g) { return g.gid == want && g.type == "RoCEv2"; });
    if (found) {
      out.push_back(result(kName, Verdict::kPass, p.interface, fmt::format("{}, RoCEv2 GID {}", *ip, want)));
      continue;
    }
    std::vector<std::string> have;
    for (const RailGid& g : p.gids) have.push_back(fmt::format("{} {} {}", g.index, g.gid, g.type));
    out.push_back(result(
        kName, Verdict::kFail, p.interface,
        fmt::format("no RoCEv2 GID for {}: {} has {}", *ip, p.rdma_device.value_or("the RDMA device"),
                    have.empty() ? std::string("no GID") : join(have)),
        fmt::format("the IP must be on the netdev of {} (the GID table follows its addresses) and RoCE v2 enabled",
                    p.rdma_device.value_or("the RDMA device"))));
  }
  return out;
}

// --- e. memlock ---------------------------------------------------------------------------

std::optional<uint64_t> parse_cap_eff(std::string_view text) noexcept {
  constexpr std::string_view kKey = "CapEff:";
  size_t at = text.find(kKey);
  while (at != std::string_view::npos && at != 0 && text[at - 1] != '\n') at = text.find(kKey, at + 1);
  if (at == std::string_view::npos) return std::nullopt;
  size_t b = at + kKey.size();
  while (b < text.size() && (text[b] == ' ' || text[b] == '\t')) ++b;
  size_t e = b;
  while (e < text.size() && std::isxdigit(static_cast<unsigned char>(text[e])) != 0) ++e;
  uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data() + b, text.data() + e, value, 16);
  if (ec != std::errc{} || b == e) return std::nullopt;
  return value;
}

CheckResult check_memlock(const RailMap& map, const MemlockFacts& facts) {
  constexpr const char* kName = "memlock";
  const uint64_t rails = std::max<uint64_t>(1, map.ports.size());
  const uint64_t needed = facts.per_rail_bytes * rails;
  const std::string need_text = fmt::format("{} needed ({} x {} rail{})", mib(needed), mib(facts.per_rail_bytes),
                                            rails, rails == 1 ? "" : "s");
  if (!facts.rlimit_bytes) return result(kName, Verdict::kPass, "", "RLIMIT_MEMLOCK unlimited");
  if (*facts.rlimit_bytes >= needed) {
    return result(kName, Verdict::kPass, "",
                  fmt::format("RLIMIT_MEMLOCK {} >= {}", mib(*facts.rlimit_bytes), need_text));
  }
  const auto caps = parse_cap_eff(facts.proc_status);
  if (caps && ((*caps >> kCapIpcLock) & 1u) != 0) {
    return result(kName, Verdict::kPass, "",
                  fmt::format("CAP_IPC_LOCK (RLIMIT_MEMLOCK {} < {})", mib(*facts.rlimit_bytes), need_text));
  }
  return result(kName, Verdict::kFail, "",
                fmt::format("RLIMIT_MEMLOCK {} < {} and no CAP_IPC_LOCK{}", mib(*facts.rlimit_bytes), need_text,
                            caps ? "" : " (CapEff unknown)"),
                "add IPC_LOCK to the container's securityContext.capabilities, or raise the memlock limit "
                "(ulimit -l unlimited; the container runtime's default_ulimits)");
}

// f. policy_routes: routing_checks.cpp.

// --- g. gpudirect_ready -------------------------------------------------------------------

DmabufIndication dmabuf_indication(std::string_view kernel_release, std::string_view nvidia_version) {
  std::vector<std::string> missing;
  std::vector<std::string> found;
  int major = 0;
  int minor = 0;
  const char* end = kernel_release.data() + kernel_release.size();
  auto [p1, e1] = std::from_chars(kernel_release.data(), end, major);
  const bool parsed = e1 == std::errc{} && p1 != end && *p1 == '.' &&
                      std::from_chars(p1 + 1, end, minor).ec == std::errc{};
  if (!parsed) {
    missing.push_back(kernel_release.empty() ? "kernel release unknown"
                                              : fmt::format("kernel release '{}' unreadable", kernel_release));
  } else if (major < 5 || (major == 5 && minor < 12)) {
    missing.push_back(fmt::format("kernel {} < 5.12 has no RDMA dma-buf memory regions", kernel_release));
  } else {
    found.push_back(fmt::format("kernel {} >= 5.12", kernel_release));
  }
  // "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  535.104.05  Release Build ..."
  const std::string_view first_line = nvidia_version.substr(0, nvidia_version.find('\n'));
  std::string version;
  {
    std::istringstream words{std::string(first_line)};
    for (std::string w; words >> w;) {
      if (!w.empty() && std::isdigit(static_cast<unsigned char>(w[0])) != 0 && w.find('.') != std::string::npos) {
        version = w;
        break;
      }
    }
  }
  if (first_line.empty()) {
    missing.emplace_back("no NVIDIA driver visible (/proc/driver/nvidia/version)");
  } else if (first_line.find("Open Kernel Module") == std::string_view::npos) {
    missing.push_back(fmt::format("the proprietary NVIDIA kernel module{} exports no dma-buf (the open one does)",
                                  version.empty() ? "" : " " + version));
  } else {
    found.push_back("NVIDIA open kernel module" + (version.empty() ? "" : " " + version));
  }
  if (!missing.empty()) return DmabufIndication{.possible = false, .reason = join(missing, "; ")};
  return DmabufIndication{.possible = true, .reason = join(found, ", ")};
}

namespace {
// What a path class costs GPUDirect RDMA traffic, for the check's reason.
std::string path_cost(PathClass path) {
  switch (path) {
    case PathClass::kPix: return "one PCIe switch between them";
    case PathClass::kPxb: return "GPUDirect RDMA crosses several PCIe bridges";
    case PathClass::kPhb:
    case PathClass::kNode: return "GPUDirect RDMA crosses the host bridge";
    case PathClass::kSys: return "GPUDirect RDMA crosses CPU sockets";
  }
  return "";
}
}  // namespace

std::vector<CheckResult> check_gpudirect_ready(const RailMap& map, const GpudirectFacts& facts) {
  constexpr const char* kName = "gpudirect_ready";
  std::vector<CheckResult> out;
  if (map.gpus.empty()) {
    out.push_back(result(kName, Verdict::kWaived, "", "no GPU on this node"));
    return out;
  }
  std::error_code ec;
  const fs::path modules = fs::path(facts.sysfs_root) / "module";
  std::optional<std::string> module;
  for (const char* name : {"nvidia_peermem", "nv_peer_mem"}) {
    if (fs::exists(modules / name, ec)) {
      module = name;
      break;
    }
  }
  DmabufIndication dmabuf = dmabuf_indication(facts.kernel_release, facts.nvidia_version);
  if (facts.cuda) {
    const auto& c = *facts.cuda;
    if (!c.driver_error.empty() || c.gpus == 0) {
      // hwloc sees GPUs on the node, but this pod cannot use them: GPU tests will be waived.
      out.push_back(result(kName, Verdict::kWarn, "",
                           c.driver_error.empty() ? "CUDA sees no GPU in this pod: GPU tests will be waived"
                                                  : c.driver_error + ": GPU tests will be waived",
                           "give the pod GPUs (nvidia.com/gpu in its resources) and the driver's libraries"));
    } else if (c.dmabuf_supported) {
      dmabuf = {.possible = true,
                .reason = fmt::format("CUDA reports dma-buf support on all {} GPU(s)", c.gpus)};
    } else {
      dmabuf = {.possible = false, .reason = fmt::format("CUDA reports no dma-buf support on {} GPU(s)", c.gpus)};
    }
  }
  if (module) {
    out.push_back(result(kName, Verdict::kPass, "",
                         *module + " loaded" + (dmabuf.possible ? "; dma-buf possible too (" + dmabuf.reason + ")" : "")));
  } else if (dmabuf.possible) {
    out.push_back(result(kName, Verdict::kPass, "",
                         "dma-buf possible (" + dmabuf.reason + "; no registration tried); "
                         "nvidia_peermem not loaded"));
  } else {
    out.push_back(result(kName, Verdict::kFail, "",
                         "nvidia_peermem not loaded, and dma-buf not possible: " + dmabuf.reason,
                         "modprobe nvidia_peermem on the node (GPU operator: driver.rdma.enabled=true), or, for "
                         "dma-buf, NVIDIA's open kernel modules on a kernel >= 5.12 (GPU operator: "
                         "driver.kernelModuleType=open)"));
  }
  for (const RailPort& p : map.ports) {
    if (!p.nearest_gpu) {
      out.push_back(result(kName, Verdict::kWaived, p.interface, "nearest GPU unknown"));
      continue;
    }
    const auto& g = *p.nearest_gpu;
    const std::string text = fmt::format("nearest GPU{} ({}) is {}", g.ordinal, g.pci_address, to_string(g.path));
    // PathClass is ordered nearest first, so "this far or farther" is a comparison.
    if (g.path >= facts.fail_from) {
      out.push_back(result(kName, Verdict::kFail, p.interface, text + ": " + path_cost(g.path),
                           g.path == PathClass::kSys
                               ? "pick a VF on a NIC in the GPU's NUMA node (device plugin NUMA/topology alignment)"
                               : "pick a VF on the NIC nearest the GPU (device plugin NUMA/topology alignment)"));
    } else if (g.path >= facts.warn_from) {
      out.push_back(result(kName, Verdict::kWarn, p.interface, text + ": " + path_cost(g.path),
                           "pick a VF on the NIC below the GPU's PCIe switch"));
    } else {
      out.push_back(result(kName, Verdict::kPass, p.interface, text));
    }
  }
  return out;
}

}  // namespace railcheck::topology
