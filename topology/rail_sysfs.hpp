#pragma once
// The sysfs half of the rail map: which PCI function a netdev sits on, its physical function,
// its RDMA device, its NUMA node, and an RDMA port's state, rate, GIDs and pkeys, all read as
// files under a root folder (normally /sys; in tests and offline use, a copy laid out like it).
// No libibverbs: the same reader works for a machine we are not on.
//
// Links the kernel writes as symlinks (class/net/IF/device, .../physfn) may also be plain
// folders, as `cp -rL` copies them: a PCI device folder then names itself in its `uevent`
// (PCI_SLOT_NAME=...).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace railcheck::topology {

// One entry of a port's GID table, as sysfs shows it.
struct RailGid {
  uint32_t index = 0;
  std::string gid;     // IPv6 text: "::ffff:172.16.11.10", "fe80::8c1:1ff:fe00:a"
  std::string type;    // "RoCEv2", "RoCEv1" or "IB" (gid_attrs/types; "IB/RoCE v1" by link layer)
  std::string netdev;  // gid_attrs/ndevs: the netdev a RoCE GID belongs to; empty on IB
};

// What sysfs says of one port of an RDMA device (class/infiniband/DEV/ports/P).
struct SysfsPort {
  uint32_t port = 1;
  std::string state;       // "ACTIVE", "DOWN", ... (the text after "4: ")
  std::string phys_state;  // "LINK_UP", "DISABLED", ... (verbs' names of the number)
  std::string link_layer;  // "Ethernet" or "InfiniBand"
  std::optional<double> rate_gbps;   // from "400 Gb/sec (4X NDR)"; nullopt without a rate file
  std::optional<uint16_t> lid;       // InfiniBand only
  std::optional<std::string> subnet_prefix;  // InfiniBand: GID 0's upper half, "fe80:0000:0000:0000"
  std::vector<uint16_t> pkeys;       // InfiniBand: the non-zero pkey table entries, in index order
  uint32_t pkey_table_size = 0;      // InfiniBand: entries of the pkey table (pkeys/N), zero or not
  std::optional<uint64_t> port_guid; // InfiniBand: GID 0's lower half (a VF's: what ib-sriov-cni set)
  std::vector<RailGid> gids;         // the non-empty entries, in index order
};

// Reads the rail map's files under `root`. Holds only the root; every call reads afresh.
// Missing optional files are nullopt / empty; a file that exists but cannot be understood is
// Errc::kProtocol naming the file.
class SysfsTree {
 public:
  explicit SysfsTree(std::string root);

  [[nodiscard]] const std::string& root() const noexcept { return root_; }

  // class/net entries, in natural order (net2 before net10).
  [[nodiscard]] std::vector<std::string> netdevs() const;
  [[nodiscard]] bool has_netdev(const std::string& netdev) const;
  // class/net/IF/FILE as text without the trailing newline ("address", "mtu").
  [[nodiscard]] std::optional<std::string> netdev_attr(const std::string& netdev, const std::string& file) const;
  // The PCI function behind class/net/IF/device; nullopt for a virtual or non-PCI netdev.
  [[nodiscard]] std::optional<std::string> netdev_pci_address(const std::string& netdev) const;
  // The RDMA devices under class/net/IF/device/infiniband, sorted.
  [[nodiscard]] std::vector<std::string> netdev_rdma_devices(const std::string& netdev) const;

  [[nodiscard]] bool has_pci_device(const std::string& bus_id) const;
  // bus/pci/devices/ADDR/physfn: the PF of a VF; nullopt for a PF or an unknown device.
  [[nodiscard]] std::optional<std::string> pci_physfn(const std::string& bus_id) const;
  [[nodiscard]] std::vector<std::string> pci_rdma_devices(const std::string& bus_id) const;
  // bus/pci/devices/ADDR/numa_node; nullopt when absent or -1 (no NUMA affinity).
  [[nodiscard]] Result<std::optional<int>> pci_numa_node(const std::string& bus_id) const;
  // bus/pci/devices/ADDR/FILE as text without the trailing newline ("vendor", "current_link_speed");
  // nullopt when absent.
  [[nodiscard]] std::optional<std::string> pci_attr(const std::string& bus_id, const std::string& file) const;
  // The PCI functions from ADDR up to its root port, ADDR first: the bus-id folders of the real
  // path that bus/pci/devices/ADDR links to (devices/pci0000:15/0000:15:01.0/.../ADDR). Just
  // {ADDR} where the copy flattened that link; empty when ADDR is not in sysfs.
  [[nodiscard]] std::vector<std::string> pci_chain(const std::string& bus_id) const;

  [[nodiscard]] bool has_rdma_device(const std::string& device) const;
  // The port numbers of class/infiniband/DEV/ports, ascending.
  [[nodiscard]] std::vector<uint32_t> rdma_ports(const std::string& device) const;
  // class/infiniband/DEV/node_guid ("0200:0000:0000:0001"); nullopt when absent; Errc::kProtocol
  // when it is not a GUID.
  [[nodiscard]] Result<std::optional<uint64_t>> rdma_node_guid(const std::string& device) const;
  // One port's state, rate, GIDs, LID and pkeys; Errc::kNotFound names a missing state or
  // link_layer file, Errc::kProtocol a file whose text makes no sense.
  [[nodiscard]] Result<SysfsPort> read_port(const std::string& device, uint32_t port) const;

 private:
  [[nodiscard]] std::string path(const std::string& relative) const;

  std::string root_;
};

// Parses a sysfs `rate` text ("400 Gb/sec (4X NDR)", "2.5 Gb/sec (1X SDR)") in Gb/s.
std::optional<double> parse_sysfs_rate(const std::string& text);
// Canonical IPv6 text of a sysfs GID ("0000:...:ffff:ac10:0b0a" -> "::ffff:172.16.11.10");
// nullopt when it is not a GID.
std::optional<std::string> gid_text(const std::string& sysfs_gid);

}  // namespace railcheck::topology
