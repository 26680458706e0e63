#include "cli/device_choice.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "topology/network_status.hpp"
#include "topology/podinfo.hpp"
#include "verbs/device.hpp"

namespace railcheck::cli {
namespace {

bool is_ipv4(const std::string& s) { return s.find(':') == std::string::npos && std::ranges::count(s, '.') == 3; }

// The RoCEv2 GID entries (device, port, IPv4, netdev) of every device this process sees.
struct RoceAddress {
  std::string device;
  uint32_t port;
  std::string ipv4;
  std::string netdev;
};

Result<std::vector<RoceAddress>> roce_addresses() {
  auto devices = verbs::list_devices();
  if (!devices) return std::unexpected(devices.error());
  std::vector<RoceAddress> out;
  for (const auto& d : *devices) {
    for (const auto& p : d.ports) {
      for (const auto& g : p.gids) {
        if (g.type != verbs::GidType::kRoceV2 || !g.gid.starts_with("::ffff:")) continue;
        out.push_back({d.name, p.port, g.gid.substr(7), g.netdev});
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
    return verbs::DeviceSpec{.device = it->device, .port = static_cast<uint8_t>(it->port), .gid_index = c.gid_index,
                             .ipv4 = it->ipv4};
  }
  // InfiniBand (IPoIB) netdevs carry no RoCE GID: follow sysfs from the netdev to its device.
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/class/net/" + netdev + "/device/infiniband", ec)) {
    return verbs::DeviceSpec{.device = e.path().filename(), .port = static_cast<uint8_t>(c.port), .gid_index = c.gid_index,
                             .ipv4 = {}};
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
    std::string ipv4;
    for (const auto& ip : st.ips) {
      if (is_ipv4(ip)) ipv4 = ip;
    }
    if (st.pci && !st.pci->rdma_device.empty()) {
      return verbs::DeviceSpec{.device = st.pci->rdma_device, .port = static_cast<uint8_t>(c.port),
                               .gid_index = c.gid_index, .ipv4 = ipv4};
    }
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
                 "GID index (default: the RoCEv2 GID of the interface's IPv4 address; IB: 0)")
      ->check(CLI::Range(0, 65535))
      ->group("Device");
}

Result<verbs::DeviceSpec> resolve_device(const DeviceChoice& c, const std::string& local_ip) {
  if (!c.device.empty()) {
    return verbs::DeviceSpec{.device = c.device, .port = static_cast<uint8_t>(c.port), .gid_index = c.gid_index, .ipv4 = {}};
  }
  if (!c.netdev.empty()) return by_netdev(c, c.netdev);
  if (!c.rail.empty()) return by_rail(c);
  auto addrs = roce_addresses();
  if (!addrs) return std::unexpected(addrs.error());
  auto it = std::ranges::find(*addrs, local_ip, &RoceAddress::ipv4);
  if (it == addrs->end()) {
    return fail(Errc::kNotFound, fmt::format("no RDMA device has {}, this side's address toward the peer", local_ip),
                fmt::format("the route leaves through a non-RDMA interface: choose the device with --device, "
                            "--netdev or --rail (RoCE addresses here: {})",
                            list_of(*addrs, &RoceAddress::ipv4)));
  }
  return verbs::DeviceSpec{.device = it->device, .port = static_cast<uint8_t>(it->port), .gid_index = c.gid_index,
                           .ipv4 = it->ipv4};
}

}  // namespace railcheck::cli
