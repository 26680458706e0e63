#pragma once
// The `k8s.v1.cni.cncf.io/network-status` annotation that Multus writes on every pod: one
// entry per attached network (eth0 first), each secondary one with its interface name, IPs
// and, for SR-IOV VFs, the device-info (NPWG device-info spec) naming the VF's PCI address and
// RDMA device. This is where the rail map starts.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace railcheck::topology {

inline constexpr std::string_view kNetworkStatusKey = "k8s.v1.cni.cncf.io/network-status";

struct PciDeviceInfo {
  std::string pci_address;      // "0000:18:00.2"
  std::string rdma_device;      // "mlx5_3"; empty when the CNI did not report one
  std::string pf_pci_address;   // device-info spec 1.1.0; empty when absent
};

struct NetworkStatus {
  std::string name;         // "spiderpool/gpu1-sriov"
  std::string interface;    // "net1"
  std::vector<std::string> ips;
  std::string mac;
  bool is_default = false;  // the cluster network (eth0)
  std::vector<std::string> gateways;
  std::optional<PciDeviceInfo> pci;  // present for SR-IOV VFs
};

// Parses the annotation's JSON value; Errc::kProtocol names the entry and field that is wrong.
Result<std::vector<NetworkStatus>> parse_network_status(std::string_view json_text);

}  // namespace railcheck::topology
