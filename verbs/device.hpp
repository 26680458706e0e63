#pragma once
// What libibverbs shows of the RDMA devices this process can open: every device, its ports,
// and each port's valid GIDs with their type and network device. `railcheck devices` prints
// it; the engine uses it to pick a GID. Plain data, filled once by list_devices().

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "verbs/handles.hpp"
#include "verbs/port_attrs.hpp"

namespace railcheck::verbs {

struct GidInfo {
  uint32_t index = 0;
  std::string gid;     // text form, e.g. "::ffff:172.16.11.10"
  GidType type = GidType::kIb;
  std::string netdev;  // the network device the GID belongs to (RoCE); empty on IB
};

struct PortInfo {
  uint32_t port = 1;
  std::string state;       // "ACTIVE", "DOWN", ...
  std::string phys_state;  // "LINK_UP", "DISABLED", ...
  std::string link_layer;  // "Ethernet" or "InfiniBand"
  uint32_t active_mtu_bytes = 0;
  uint32_t max_mtu_bytes = 0;
  double rate_gbps = 0;
  uint16_t lid = 0;        // IB only
  uint16_t pkey_table_len = 0;
  std::vector<GidInfo> gids;
};

struct DeviceInfo {
  std::string name;       // e.g. "mlx5_3", "rxe_p0n1"
  std::string node_guid;  // "xxxx:xxxx:xxxx:xxxx"
  std::string sysfs_path; // e.g. "/sys/class/infiniband/mlx5_3"
  std::vector<PortInfo> ports;
};

// Every RDMA device this process sees (in an exclusive RDMA netns: only the pod's own).
// No device at all is an empty vector; an Error when the RDMA stack itself is missing.
Result<std::vector<DeviceInfo>> list_devices();

// Opens the named device; Errc::kNotFound names the devices that do exist.
Result<ContextPtr> open_device(const std::string& name);

}  // namespace railcheck::verbs
