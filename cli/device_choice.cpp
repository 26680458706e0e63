#include "cli/device_choice.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "topology/ib_checks.hpp"
#include "topology/network_status.hpp"
#include "topology/podinfo.hpp"
#include "verbs/addressing.hpp"
#include "verbs/device.hpp"

namespace railcheck::cli {
namespace {

bool is_ipv4(const std::string& s) { return s.find(':') == std::string::npos && std::ranges::count(s, '.') == 3; }

// The RoCEv2 GID entries (device, port, IP, netdev) of every device this process sees.
struct RoceAddress {
  std::string device;
  uint32_t port;
  std::string ip;
  std::string netdev;
};

verbs::DeviceSpec spec_of(const DeviceChoice& c, std::string device, uint32_t port, std::string ip) {
  return verbs::DeviceSpec{.device = std::move(device), .port = static_cast<uint8_t>(port), .gid_index = c.gid_index,
                           .ip = std::move(ip), .pkey = c.pkey};
}

Result<std::vector<RoceAddress>> roce_addresses() {
  auto devices = verbs::list_devices();
  if (!devices) return std::unexpected(devices.error());
  std::vector<RoceAddress> out;
  for (const auto& d : *devices) {
    for (const auto& p : d.ports) {
      for (const auto& g : p.gids) {
        const std::string ip = verbs::gid_address(g.gid);
        if (g.type != verbs::GidType::kRoceV2 || ip.empty()) continue;
        out.push_back({d.name, p.port, ip, g.netdev});
      }
    }
  }
  return out;
}

std::string list_of(const std::vector<RoceAddress>& addrs, auto field) {
  std::string s;
  for (const auto& a : addrs) s += (s.empty() ? "" : ", ") + a.device + " (" + a.*field + ")";
  return s.empty() ? "none" : s;
}

Result<verbs::DeviceSpec> by_netdev(const DeviceChoice& c, const std::string& netdev) {
  auto addrs = roce_addresses();
  if (!addrs) return std::unexpected(addrs.error());
  auto it = std::ranges::find(*addrs, netdev, &RoceAddress::netdev);
  if (it != addrs->end()) {
    return spec_of(c, it->device, it->port, it->ip);
  }
  // InfiniBand (IPoIB) netdevs carry no RoCE GID: follow sysfs from the netdev to its device.
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/class/net/" + netdev + "/device/infiniband", ec)) {
    return spec_of(c, e.path().filename(), static_cast<uint32_t>(c.port), {});
  }
  return fail(Errc::kNotFound, fmt::format("no RDMA device on netdev {}", netdev),
              fmt::format("netdevs with an RDMA device here: {}", list_of(*addrs, &RoceAddress::netdev)));
}

Result<verbs::DeviceSpec> by_rail(const DeviceChoice& c) {
  const std::string dir = c.podinfo_dir.empty() ? std::string(topology::kDefaultPodinfoDir) : c.podinfo_dir;
  auto ann = topology::read_annotations_file(dir + "/annotations");
  if (!ann) return std::unexpected(ann.error());
  auto it = ann->find(topology::kNetworkStatusKey);
  if (it == ann->end()) {
    return fail(Errc::kNotFound, fmt::format("{}/annotations has no {}", dir, topology::kNetworkStatusKey),
                "is Multus attaching this pod's networks?");
  }
  auto status = topology::parse_network_status(it->second);
  if (!status) return std::unexpected(status.error());
  std::string seen;
  for (const auto& st : *status) {
    if (st.interface != c.rail) {
      seen += (seen.empty() ? "" : ", ") + st.interface;
      continue;
    }
    // The rail's IPv4 address, else its first IPv6 one.
    std::string ip;
    for (const auto& a : st.ips) {
      if (is_ipv4(a)) ip = a;
    }
    if (ip.empty() && !st.ips.empty()) ip = st.ips.front();
    if (st.pci && !st.pci->rdma_device.empty()) return spec_of(c, st.pci->rdma_device, static_cast<uint32_t>(c.port), ip);
    return by_netdev(c, st.interface);
  }
  return fail(Errc::kNotFound, fmt::format("rail {} is not in this pod's network-status", c.rail),
              fmt::format("its interfaces: {}", seen.empty() ? "none" : seen));
}

}  // namespace

void add_device_options(CLI::App& app, DeviceChoice& c) {
  auto* dev = app.add_option("-d,--device", c.device, "Local RDMA device, e.g. mlx5_3")->group("Device");
  auto* nd = app.add_option("--netdev", c.netdev, "Use the RDMA device of this network interface, e.g. net3")->group("Device");
  auto* rail = app.add_option("--rail", c.rail,
                              "Use the RDMA device of this pod interface (net1..) as the Multus network-status names it")
                   ->group("Device");
  dev->excludes(nd)->excludes(rail);
  nd->excludes(rail);
  app.add_option("--podinfo", c.podinfo_dir, "Downward-API folder holding the pod's annotations (for --rail)")
      ->default_str(std::string(topology::kDefaultPodinfoDir))
      ->group("Device");
  app.add_option("--ib-port", c.port, "Port of the RDMA device")->check(CLI::Range(1, 255))->default_val(1)->group("Device");
  app.add_option("-x,--gid-index", c.gid_index,
                 "GID index (default: the RoCEv2 GID of the interface's address, IPv4 or IPv6; IB: 0, the GRH only "
                 "where the port or the peer's subnet needs it)")
      ->check(CLI::Range(0, 65535))
      ->group("Device");
  app.add_option("--pkey", c.pkey_text,
                 "InfiniBand: the network's pkey, e.g. 0x8001 (default: the port's first full-member pkey)")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            auto p = topology::parse_pkey(v);
            return p ? std::string{} : p.error().what;
          },
          "0xPKEY", "pkey"))
      ->each([&c](const std::string& v) {
        if (auto p = topology::parse_pkey(v)) c.pkey = *p;
      })
      ->group("Device");
}

Result<verbs::DeviceSpec> resolve_device(const DeviceChoice& c, const std::string& local_ip) {
  if (!c.device.empty()) {
    return spec_of(c, c.device, static_cast<uint32_t>(c.port), {});
  }
  if (!c.netdev.empty()) return by_netdev(c, c.netdev);
  if (!c.rail.empty()) return by_rail(c);
  auto addrs = roce_addresses();
  if (!addrs) return std::unexpected(addrs.error());
  auto it = std::ranges::find(*addrs, local_ip, &RoceAddress::ip);
  if (it == addrs->end()) {
    return fail(Errc::kNotFound, fmt::format("no RDMA device has {}, this side's address toward the peer", local_ip),
                fmt::format("the route leaves through a non-RDMA interface: choose the device with --device, "
                            "--netdev or --rail (RoCE addresses here: {})",
                            list_of(*addrs, &RoceAddress::ip)));
  }
  return spec_of(c, it->device, it->port, it->ip);
}

}  // namespace railcheck::cli
