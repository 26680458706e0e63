#include "verbs/device.hpp"

#include <net/if.h>

#include <cerrno>
#include <fmt/format.h>
#include <fstream>
#include <span>

namespace railcheck::verbs {
namespace {

constexpr const char* kNoRdmaHint =
    "is the RDMA stack loaded (lsmod | grep ib_uverbs) and does this pod see its devices (rdma link)?";

Result<DeviceListPtr> get_device_list(int& count) {
  errno = 0;
  DeviceListPtr list(ibv_get_device_list(&count));
  if (!list) return fail_errno("ibv_get_device_list", errno == 0 ? ENODEV : errno, kNoRdmaHint);
  return list;
}

std::string format_guid(__be64 guid_be) {
  const uint64_t g = be64toh(guid_be);
  return fmt::format("{:04x}:{:04x}:{:04x}:{:04x}", (g >> 48) & 0xffff, (g >> 32) & 0xffff,
                     (g >> 16) & 0xffff, g & 0xffff);
}

// The kernel names a RoCE GID's netdev in sysfs; that name is right even inside a pod's
// network namespace, where the ifindex libibverbs reports belongs to another namespace.
std::string gid_netdev(const std::string& sysfs_path, uint32_t port, uint32_t index, uint32_t ifindex) {
  std::ifstream in(fmt::format("{}/ports/{}/gid_attrs/ndevs/{}", sysfs_path, port, index));
  std::string name;
  if (in >> name) return name;
  char buf[IF_NAMESIZE] = {};
  if (ifindex != 0 && if_indextoname(ifindex, buf) != nullptr) return buf;
  return {};
}

Result<std::vector<GidInfo>> query_gids(ibv_context* ctx, const std::string& sysfs_path, uint32_t port,
                                         size_t table_len) {
  std::vector<ibv_gid_entry> entries(table_len);
  // The whole device's table comes back; keep this port's entries.
  const ssize_t n = ibv_query_gid_table(ctx, entries.data(), entries.size(), 0);
  if (n < 0) {
    return fail_errno(fmt::format("ibv_query_gid_table({})", ibv_get_device_name(ctx->device)),
                      static_cast<int>(-n));
  }
  std::vector<GidInfo> gids;
  for (const ibv_gid_entry& e : std::span(entries).first(static_cast<size_t>(n))) {
    if (e.port_num != port) continue;
    auto type = gid_type_from_verbs(e.gid_type);
    if (!type) continue;
    gids.push_back(GidInfo{.index = e.gid_index,
                           .gid = gid_to_string(e.gid),
                           .type = *type,
                           .netdev = gid_netdev(sysfs_path, port, e.gid_index, e.ndev_ifindex)});
  }
  return gids;
}

// active_speed_ex where this rdma-core has it (48+), else 0.
template <typename Attr>
uint32_t speed_ex(const Attr& pa) {
  if constexpr (requires { pa.active_speed_ex; }) return pa.active_speed_ex;
  else return 0;
}

std::optional<double> kernel_rate(const std::string& sysfs_path, uint32_t port) {
  std::ifstream in(fmt::format("{}/ports/{}/rate", sysfs_path, port));
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  return kernel_rate_gbps(line);
}

Result<DeviceInfo> describe(ibv_context* ctx) {
  DeviceInfo info{.name = ibv_get_device_name(ctx->device),
                  .node_guid = format_guid(ibv_get_device_guid(ctx->device)),
                  .sysfs_path = ctx->device->ibdev_path,
                  .ports = {}};
  ibv_device_attr dev_attr{};
  if (int rc = ibv_query_device(ctx, &dev_attr); rc != 0) {
    return fail_errno(fmt::format("ibv_query_device({})", info.name), rc);
  }
  size_t gid_total = 0;
  for (uint32_t p = 1; p <= dev_attr.phys_port_cnt; ++p) {
    ibv_port_attr pa{};
    if (int rc = ibv_query_port(ctx, static_cast<uint8_t>(p), &pa); rc != 0) {
      return fail_errno(fmt::format("ibv_query_port({}, {})", info.name, p), rc);
    }
    gid_total += static_cast<size_t>(pa.gid_tbl_len);
    info.ports.push_back(PortInfo{.port = p,
                                  .state = std::string(port_state_name(pa.state)),
                                  .phys_state = std::string(phys_state_name(pa.phys_state)),
                                  .link_layer = std::string(link_layer_name(pa.link_layer)),
                                  .active_mtu_bytes = mtu_bytes(pa.active_mtu),
                                  .max_mtu_bytes = mtu_bytes(pa.max_mtu),
                                  .rate_gbps = port_rate_gbps(pa.active_speed, pa.active_width, speed_ex(pa),
                                                              kernel_rate(info.sysfs_path, p)),
                                  .lid = pa.lid,
                                  .pkey_table_len = pa.pkey_tbl_len,
                                  .gids = {}});
  }
  for (PortInfo& port : info.ports) {
    auto gids = query_gids(ctx, info.sysfs_path, port.port, gid_total);
    if (!gids) return std::unexpected(gids.error());
    port.gids = std::move(*gids);
  }
  return info;
}

}  // namespace

Result<std::vector<DeviceInfo>> list_devices() {
  int count = 0;
  auto list = get_device_list(count);
  if (!list) return std::unexpected(list.error());
  std::vector<DeviceInfo> devices;
  for (ibv_device* dev : std::span(list->get(), static_cast<size_t>(count))) {
    errno = 0;
    ContextPtr ctx(ibv_open_device(dev));
    if (!ctx) {
      return fail_errno(fmt::format("ibv_open_device({})", ibv_get_device_name(dev)),
                        errno == 0 ? ENODEV : errno,
                        "check the permissions of /dev/infiniband/uverbs* in this pod");
    }
    auto info = describe(ctx.get());
    if (!info) return std::unexpected(info.error());
    devices.push_back(std::move(*info));
  }
  return devices;
}

Result<ContextPtr> open_device(const std::string& name) {
  int count = 0;
  auto list = get_device_list(count);
  if (!list) return std::unexpected(list.error());
  std::string seen;
  for (ibv_device* dev : std::span(list->get(), static_cast<size_t>(count))) {
    if (name == ibv_get_device_name(dev)) {
      errno = 0;
      ContextPtr ctx(ibv_open_device(dev));
      if (!ctx) return fail_errno(fmt::format("ibv_open_device({})", name), errno == 0 ? ENODEV : errno);
      return ctx;
    }
    seen += seen.empty() ? "" : ", ";
    seen += ibv_get_device_name(dev);
  }
  return fail(Errc::kNotFound, fmt::format("RDMA device {}", name),
              seen.empty() ? std::string("this pod sees no RDMA device at all")
                           : fmt::format("devices this pod sees: {}", seen));
}

}  // namespace railcheck::verbs
