#include "topology/checks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace railcheck::topology {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

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

std::optional<std::string> first_ipv4(const RailPort& p) {
  for (const std::string& ip : p.ips) {
    if (ip.find(':') == std::string::npos && !ip.empty()) return ip.substr(0, ip.find('/'));
  }
  return std::nullopt;
}

std::string mib(uint64_t bytes) {
  if (bytes % (1ull << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes % (1ull << 10) == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} bytes", bytes);
}

// A JSON string or number as text ("101" for 101); empty otherwise.
std::string text_of(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_integer()) return std::to_string(j.get<int64_t>());
  return {};
}

// Table names iproute2 prints by name, as numbers (so "main" and "254" match).
std::string table_id(std::string name) {
  if (name == "main") return "254";
  if (name == "local") return "255";
  if (name == "default") return "253";
  return name;
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

// --- f. policy_routes ---------------------------------------------------------------------

std::vector<CheckResult> check_policy_routes(const RailMap& map, std::string_view rules_json,
                                             std::string_view routes_json) {
  constexpr const char* kName = "policy_routes";
  std::vector<CheckResult> out;
  const json rules = json::parse(rules_json, nullptr, /*allow_exceptions=*/false);
  const json routes = json::parse(routes_json, nullptr, /*allow_exceptions=*/false);
  std::string unusable;
  if (rules_json.empty() || routes_json.empty()) {
    unusable = "`ip -j rule` / `ip -j route show table all` unavailable";
  } else if (!rules.is_array() || !routes.is_array()) {
    unusable = "`ip -j rule` / `ip -j route show table all` output is not a JSON array";
  }
  for (const RailPort& p : map.ports) {
    if (!unusable.empty()) {
      out.push_back(result(kName, Verdict::kWaived, p.interface, unusable));
      continue;
    }
    const auto ip = first_ipv4(p);
    // Rules that select this rail's traffic: `from <ip>` (a /32 or no length) or `oif <if>`.
    std::vector<std::pair<std::string, std::string>> matches;  // (rule text, table)
    for (const json& r : rules) {
      if (!r.is_object() || !r.contains("table")) continue;
      const std::string table = text_of(r["table"]);
      const std::string src = r.contains("src") ? text_of(r["src"]) : "";
      const std::string srclen = r.contains("srclen") ? text_of(r["srclen"]) : "";
      if (ip && src == *ip && (srclen.empty() || srclen == "32")) matches.emplace_back("from " + *ip, table);
      if (r.contains("oif") && text_of(r["oif"]) == p.interface) matches.emplace_back("oif " + p.interface, table);
    }
    if (matches.empty()) {
      out.push_back(result(
          kName, Verdict::kFail, p.interface,
          fmt::format("no policy rule `from {}` or `oif {}`", ip.value_or("<no IPv4>"), p.interface),
          fmt::format("ip rule add from {} table T; ip route add <subnet> dev {} table T (normally the CNI's "
                      "policy routing does this)",
                      ip.value_or("IP"), p.interface)));
      continue;
    }
    std::optional<std::string> good;
    for (const auto& [rule, table] : matches) {
      const bool routed = std::ranges::any_of(routes, [&](const json& rt) {
        if (!rt.is_object() || !rt.contains("dev") || text_of(rt["dev"]) != p.interface) return false;
        const std::string t = rt.contains("table") ? text_of(rt["table"]) : "main";
        return table_id(t) == table_id(table);
      });
      if (routed) {
        good = fmt::format("rule `{}` looks up table {}, which routes via {}", rule, table, p.interface);
        break;
      }
    }
    if (good) {
      out.push_back(result(kName, Verdict::kPass, p.interface, *good));
      continue;
    }
    std::vector<std::string> seen;
    for (const auto& [rule, table] : matches) seen.push_back(fmt::format("`{}` -> table {}", rule, table));
    out.push_back(result(kName, Verdict::kFail, p.interface,
                         fmt::format("no route via {} in the rule's table: {}", p.interface, join(seen)),
                         fmt::format("ip route add <subnet> dev {} table T", p.interface)));
  }
  return out;
}

// --- g. gpudirect_ready -------------------------------------------------------------------

std::vector<CheckResult> check_gpudirect_ready(const RailMap& map, const std::string& sysfs_root) {
  constexpr const char* kName = "gpudirect_ready";
  std::vector<CheckResult> out;
  if (map.gpus.empty()) {
    out.push_back(result(kName, Verdict::kWaived, "", "no GPU on this node"));
    return out;
  }
  std::error_code ec;
  const fs::path modules = fs::path(sysfs_root) / "module";
  std::optional<std::string> module;
  for (const char* name : {"nvidia_peermem", "nv_peer_mem"}) {
    if (fs::exists(modules / name, ec)) {
      module = name;
      break;
    }
  }
  if (module) {
    out.push_back(result(kName, Verdict::kPass, "", *module + " loaded (dma-buf not probed without CUDA)"));
  } else {
    out.push_back(result(kName, Verdict::kFail, "",
                         "nvidia_peermem not loaded (dma-buf not probed without CUDA)",
                         "modprobe nvidia_peermem on the node (GPU operator: driver.rdma.enabled=true)"));
  }
  for (const RailPort& p : map.ports) {
    if (!p.nearest_gpu) {
      out.push_back(result(kName, Verdict::kWaived, p.interface, "nearest GPU unknown"));
      continue;
    }
    const auto& g = *p.nearest_gpu;
    const std::string text = fmt::format("nearest GPU{} ({}) is {}", g.ordinal, g.pci_address, to_string(g.path));
    switch (g.path) {
      case PathClass::kPix:
      case PathClass::kPxb: out.push_back(result(kName, Verdict::kPass, p.interface, text)); break;
      case PathClass::kPhb:
      case PathClass::kNode:
        out.push_back(result(kName, Verdict::kWarn, p.interface, text + ": GPUDirect RDMA crosses the host bridge",
                             "pick a VF on the NIC below the GPU's PCIe switch"));
        break;
      case PathClass::kSys:
        out.push_back(result(kName, Verdict::kFail, p.interface, text + ": GPUDirect RDMA crosses CPU sockets",
                             "pick a VF on a NIC in the GPU's NUMA node (device plugin NUMA/topology alignment)"));
        break;
    }
  }
  return out;
}

}  // namespace railcheck::topology
