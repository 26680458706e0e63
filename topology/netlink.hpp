#pragma once
// The live facts of `railcheck check` that live in the kernel, read over netlink (libmnl), never
// by running a tool: the agent pins RDMA memory, and a process with pinned memory must not fork
// (the child shares the pinned pages copy-on-write; on a kernel without RDMA copy-on-fork the
// parent's next write to such a page moves it away from what the NIC DMAs to).
//   the RDMA netns mode   NETLINK_RDMA, RDMA_NLDEV_CMD_SYS_GET (what `rdma system show` asks);
//   rules and routes      NETLINK_ROUTE, RTM_GETRULE and RTM_GETROUTE dumps of IPv4, with an
//                         RTM_GETLINK dump to name the interfaces (`ip -j rule`, `ip -j route
//                         show table all`, `ip link`).
// Each reader is a request plus a pure parser of the kernel's reply datagrams; the parsers are
// public so tests feed them messages built in the test.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "topology/checks.hpp"
#include "topology/routing_checks.hpp"

namespace railcheck::topology {

// What RDMA_NLDEV_CMD_SYS_GET answers.
struct RdmaSystem {
  NetnsMode netns_mode = NetnsMode::kUnknown;  // RDMA_NLDEV_SYS_ATTR_NETNS_MODE: 1 shared, 0 exclusive
  std::optional<bool> copy_on_fork;            // RDMA_NLDEV_SYS_ATTR_COPY_ON_FORK (kernel 5.13+)
};

// Parsers of one reply datagram (one or more netlink messages). Each appends what it finds and
// returns true once the reply is complete (NLMSG_DONE, or the ACK of a request), false when more
// datagrams follow. A kernel error (NLMSG_ERROR) is Errc::kSystem with its errno; a message too
// short for its header or with overrunning attributes is Errc::kProtocol. `seq` / `portid`: the
// request's, checked when not 0. Messages of another family (IPv6) are skipped.
Result<bool> parse_rdma_sys_reply(std::span<const uint8_t> datagram, RdmaSystem& out, uint32_t seq = 0,
                                  uint32_t portid = 0);
Result<bool> parse_link_dump(std::span<const uint8_t> datagram, std::map<uint32_t, std::string>& names,
                             uint32_t seq = 0, uint32_t portid = 0);
// Rules that look up a table (a table id other than 0), as `ip -j rule` prints them: src "all"
// without one, srclen only when not /32, table 254/255/253 as "main"/"local"/"default".
Result<bool> parse_rule_dump(std::span<const uint8_t> datagram, std::vector<IpRule>& out, uint32_t seq = 0,
                             uint32_t portid = 0);
// Routes of every table; dev by `names` (an unknown index as "if7", as ip does).
Result<bool> parse_route_dump(std::span<const uint8_t> datagram, const std::map<uint32_t, std::string>& names,
                              std::vector<IpRoute>& out, uint32_t seq = 0, uint32_t portid = 0);

// RDMA_NLDEV_CMD_GET dump: device name -> index.
Result<bool> parse_rdma_dev_dump(std::span<const uint8_t> datagram, std::map<std::string, uint32_t>& out,
                                 uint32_t seq = 0, uint32_t portid = 0);
// RDMA_NLDEV_CMD_STAT_GET of a port (what `rdma statistic show link DEV/PORT` prints): each
// hardware counter's name and value, from RDMA_NLDEV_ATTR_STAT_HWCOUNTERS.
Result<bool> parse_rdma_port_stats(std::span<const uint8_t> datagram, std::map<std::string, uint64_t, std::less<>>& out,
                                   uint32_t seq = 0, uint32_t portid = 0);

// The live reads of this network namespace; no privilege is needed for any of them.
Result<RdmaSystem> read_rdma_system();
Result<std::map<uint32_t, std::string>> read_link_names();
Result<std::vector<IpRule>> read_ipv4_rules();
Result<std::vector<IpRoute>> read_ipv4_routes();
// A port's hardware counters over netlink. Where sysfs has no hw_counters/ (a pod in shared RDMA
// netns mode sees its device's compat copy, which the kernel gives no counters), netlink still
// reaches the device's own (nldev_stat_get_doit). Errors name the device and the step.
Result<std::map<std::string, uint64_t, std::less<>>> read_rdma_port_stats(std::string_view device, uint32_t port);
// Rules and routes as the routing checks take them; a failed dump makes them unusable, saying why.
RoutingFacts read_routing_facts();

}  // namespace railcheck::topology
