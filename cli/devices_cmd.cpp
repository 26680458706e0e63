// `railcheck devices`: what libibverbs shows this pod, like `ibv_devinfo -v` but one line per
// port plus its GIDs with their type and netdev, or a JSON document for scripts and tests.

#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/command.hpp"
#include "verbs/device.hpp"

namespace railcheck::cli {
namespace {

constexpr const char* kDevicesSchema = "railcheck.devices/v1";

struct DevicesOptions {
  std::string device;           // only this device; empty: all
  std::string format = "table"; // table | json
};

// What `railcheck devices --help` says first.
constexpr const char* kDescription =
    "List the RDMA devices this pod sees: port state, link layer, active MTU, rate, and every GID with its type "
    "(RoCEv1/RoCEv2/IB) and netdev.\nExit code 1 when no device is visible.";

nlohmann::json to_json(const verbs::DeviceInfo& d) {
  nlohmann::json ports = nlohmann::json::array();
  for (const verbs::PortInfo& p : d.ports) {
    nlohmann::json gids = nlohmann::json::array();
    for (const verbs::GidInfo& g : p.gids) {
      gids.push_back({{"index", g.index}, {"gid", g.gid}, {"type", verbs::to_string(g.type)}, {"netdev", g.netdev}});
    }
    ports.push_back({{"port", p.port},
                     {"state", p.state},
                     {"phys_state", p.phys_state},
                     {"link_layer", p.link_layer},
                     {"active_mtu", p.active_mtu_bytes},
                     {"max_mtu", p.max_mtu_bytes},
                     {"rate_gbps", p.rate_gbps},
                     {"lid", p.lid},
                     {"pkey_table_len", p.pkey_table_len},
                     {"gids", std::move(gids)}});
  }
  return {{"name", d.name}, {"node_guid", d.node_guid}, {"sysfs_path", d.sysfs_path}, {"ports", std::move(ports)}};
}

void print_table(const std::vector<verbs::DeviceInfo>& devices) {
  std::cout << fmt::format("{:<16} {:>4}  {:<8} {:<9} {:<10} {:>5}  {:>9}\n", "DEVICE", "PORT", "STATE", "PHYS",
                           "LINK", "MTU", "RATE");
  for (const verbs::DeviceInfo& d : devices) {
    for (const verbs::PortInfo& p : d.ports) {
      std::cout << fmt::format("{:<16} {:>4}  {:<8} {:<9} {:<10} {:>5}  {:>4g} Gb/s\n", d.name, p.port, p.state,
                               p.phys_state, p.link_layer, p.active_mtu_bytes, p.rate_gbps);
      for (const verbs::GidInfo& g : p.gids) {
        std::cout << fmt::format("    gid {:>3}  {:<40} {:<7} {}\n", g.index, g.gid, verbs::to_string(g.type),
                                 g.netdev);
      }
    }
  }
}

int run_devices(const DevicesOptions& opt) {
  auto devices = verbs::list_devices();
  if (!devices) {
    std::cerr << "railcheck devices: " << devices.error().message() << "\n";
    return kExitFailed;
  }
  if (!opt.device.empty()) {
    std::string seen;
    std::erase_if(*devices, [&](const verbs::DeviceInfo& d) {
      seen += (seen.empty() ? "" : ", ") + d.name;
      return d.name != opt.device;
    });
    if (devices->empty()) {
      std::cerr << fmt::format("railcheck devices: no RDMA device named {}; this pod sees: {}\n", opt.device,
                               seen.empty() ? "none" : seen);
      return kExitFailed;
    }
  }
  if (opt.format == "json") {
    nlohmann::json doc{{"schema", kDevicesSchema}, {"devices", nlohmann::json::array()}};
    for (const verbs::DeviceInfo& d : *devices) doc["devices"].push_back(to_json(d));
    std::cout << doc.dump(2) << "\n";
  } else {
    print_table(*devices);
  }
  if (devices->empty()) {
    std::cerr << "railcheck devices: no RDMA device is visible: is the RDMA driver loaded (rdma link), and was "
                 "an RDMA resource allocated to this pod?\n";
    return kExitFailed;
  }
  return kExitOk;
}

void add_options(CLI::App& sub, DevicesOptions& opt) {
  sub.add_option("-d,--device", opt.device, "Show only this RDMA device (e.g. mlx5_3)");
  sub.add_option("--format", opt.format, "Output: table (default) or json (schema railcheck.devices/v1)")
      ->check(CLI::IsMember({"table", "json"}));
}

}  // namespace

Command add_devices_command(CLI::App& parent) {
  return add_command(parent, "devices", kDescription, add_options, run_devices);
}

}  // namespace railcheck::cli
