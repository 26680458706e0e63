#include "topology/netlink.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <rdma/rdma_netlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>

namespace railcheck::topology {
namespace {

constexpr size_t kReceiveBytes = 64 * 1024;  // more than a dump datagram (the kernel's are <= 32 KiB)
constexpr uint32_t kHostPrefix = 32;

// What a message callback found wrong; set instead of returning an error, so the caller can tell
// a malformed message (kProtocol) from an error the kernel sent (kSystem).
struct Malformed {
  std::string what;
};

// The attributes of one message, by type; entries are null when absent or of the wrong size.
template <size_t N>
struct Attrs {
  std::array<const nlattr*, N + 1> at{};
};

// Parses the attributes after a `header_bytes` family header; false (and `bad` set) when the
// message is too short for the header or an attribute overruns it (mnl_attr_parse would stop
// there silently).
template <size_t N>
bool parse_attrs(const nlmsghdr* nlh, size_t header_bytes, Attrs<N>& attrs, Malformed& bad, const char* what) {
  if (mnl_nlmsg_get_payload_len(nlh) < header_bytes) {
    bad.what = fmt::format("{} message of {} bytes is shorter than its header", what, nlh->nlmsg_len);
    return false;
  }
  const char* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  const auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, header_bytes));
  while (reinterpret_cast<const char*>(attr) < tail) {
    if (!mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)))) {
      bad.what = fmt::format("{} message has an attribute that overruns it", what);
      return false;
    }
    // Types newer than these headers are not ours; each kept type is the last one seen.
    if (mnl_attr_type_valid(attr, N) >= 0) attrs.at[mnl_attr_get_type(attr)] = attr;
    attr = mnl_attr_next(attr);
  }
  return true;
}

std::optional<uint32_t> u32_of(const nlattr* attr) {
  if (attr == nullptr || mnl_attr_validate(attr, MNL_TYPE_U32) < 0) return std::nullopt;
  return mnl_attr_get_u32(attr);
}

std::optional<uint8_t> u8_of(const nlattr* attr) {
  if (attr == nullptr || mnl_attr_validate(attr, MNL_TYPE_U8) < 0) return std::nullopt;
  return mnl_attr_get_u8(attr);
}

std::optional<std::string> str_of(const nlattr* attr) {
  if (attr == nullptr || mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0) return std::nullopt;
  return std::string(mnl_attr_get_str(attr));
}

std::optional<std::string> ipv4_of(const nlattr* attr) {
  if (attr == nullptr || mnl_attr_get_payload_len(attr) != 4) return std::nullopt;
  std::array<char, INET_ADDRSTRLEN> text{};
  if (inet_ntop(AF_INET, mnl_attr_get_payload(attr), text.data(), text.size()) == nullptr) return std::nullopt;
  return std::string(text.data());
}

// Table names as iproute2 prints the reserved ones (rt_tables' custom names are not read).
std::string table_text(uint32_t table) {
  switch (table) {
    case RT_TABLE_MAIN: return "main";
    case RT_TABLE_LOCAL: return "local";
    case RT_TABLE_DEFAULT: return "default";
    default: return std::to_string(table);
  }
}

// Runs `cb` over the messages of one datagram: true when the reply is complete.
Result<bool> run(std::span<const uint8_t> datagram, uint32_t seq, uint32_t portid, mnl_cb_t cb, void* data,
                 const Malformed& bad, const char* what) {
  int left = static_cast<int>(datagram.size());
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(datagram.data());
  while (mnl_nlmsg_ok(nlh, left)) nlh = mnl_nlmsg_next(nlh, &left);
  if (left > 0) {
    return fail(Errc::kProtocol, fmt::format("{}: a truncated netlink message ({} bytes left over)", what, left));
  }
  errno = 0;
  const int rc = mnl_cb_run(datagram.data(), datagram.size(), seq, portid, cb, data);
  if (!bad.what.empty()) return fail(Errc::kProtocol, fmt::format("{}: {}", what, bad.what));
  if (rc == MNL_CB_ERROR) return fail_errno(what, errno);
  return rc == MNL_CB_STOP;
}

struct SysCtx {
  RdmaSystem* out;
  Malformed bad;
};

int sys_cb(const nlmsghdr* nlh, void* data) {
  auto* ctx = static_cast<SysCtx*>(data);
  Attrs<static_cast<size_t>(RDMA_NLDEV_ATTR_MAX) - 1> attrs;
  if (!parse_attrs(nlh, 0, attrs, ctx->bad, "RDMA_NLDEV_CMD_SYS_GET")) return MNL_CB_ERROR;
  if (auto mode = u8_of(attrs.at[RDMA_NLDEV_SYS_ATTR_NETNS_MODE])) {
    ctx->out->netns_mode = *mode != 0 ? NetnsMode::kShared : NetnsMode::kExclusive;
  }
  if (auto cof = u8_of(attrs.at[RDMA_NLDEV_SYS_ATTR_COPY_ON_FORK])) ctx->out->copy_on_fork = *cof != 0;
  return MNL_CB_OK;
}

struct DevCtx {
  std::map<std::string, uint32_t>* out;
  Malformed bad;
};

int dev_cb(const nlmsghdr* nlh, void* data) {
  auto* ctx = static_cast<DevCtx*>(data);
  Attrs<static_cast<size_t>(RDMA_NLDEV_ATTR_MAX) - 1> attrs;
  if (!parse_attrs(nlh, 0, attrs, ctx->bad, "RDMA_NLDEV_CMD_GET")) return MNL_CB_ERROR;
  auto index = u32_of(attrs.at[RDMA_NLDEV_ATTR_DEV_INDEX]);
  auto name = str_of(attrs.at[RDMA_NLDEV_ATTR_DEV_NAME]);
  if (index && name) ctx->out->insert_or_assign(*name, *index);
  return MNL_CB_OK;
}

// The attributes nested in `nest`, in order (libmnl's mnl_attr_for_each_nested, typed for C++).
template <typename Fn>
void for_each_nested(const nlattr* nest, Fn&& fn) {
  const char* end = static_cast<const char*>(mnl_attr_get_payload(nest)) + mnl_attr_get_payload_len(nest);
  for (const auto* a = static_cast<const nlattr*>(mnl_attr_get_payload(nest));
       mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a)) {
    fn(a);
  }
}

struct StatCtx {
  std::map<std::string, uint64_t, std::less<>>* out;
  Malformed bad;
};

int stat_cb(const nlmsghdr* nlh, void* data) {
  auto* ctx = static_cast<StatCtx*>(data);
  Attrs<static_cast<size_t>(RDMA_NLDEV_ATTR_MAX) - 1> attrs;
  if (!parse_attrs(nlh, 0, attrs, ctx->bad, "RDMA_NLDEV_CMD_STAT_GET")) return MNL_CB_ERROR;
  const nlattr* counters = attrs.at[RDMA_NLDEV_ATTR_STAT_HWCOUNTERS];
  if (counters == nullptr) return MNL_CB_OK;
  // A nest of entries, each a nest of a name and a 64-bit value.
  bool ok = true;
  for_each_nested(counters, [&](const nlattr* entry) {
    if (!ok || mnl_attr_get_type(entry) != RDMA_NLDEV_ATTR_STAT_HWCOUNTER_ENTRY) return;
    std::optional<std::string> name;
    std::optional<uint64_t> value;
    for_each_nested(entry, [&](const nlattr* field) {
      const auto type = mnl_attr_get_type(field);
      if (type == RDMA_NLDEV_ATTR_STAT_HWCOUNTER_ENTRY_NAME) name = str_of(field);
      if (type == RDMA_NLDEV_ATTR_STAT_HWCOUNTER_ENTRY_VALUE && mnl_attr_validate(field, MNL_TYPE_U64) >= 0) {
        value = mnl_attr_get_u64(field);
      }
    });
    if (!name || !value) {
      ctx->bad.what = "a counter entry without its name or 64-bit value";
      ok = false;
      return;
    }
    ctx->out->insert_or_assign(*name, *value);
  });
  return ok ? MNL_CB_OK : MNL_CB_ERROR;
}

struct LinkCtx {
  std::map<uint32_t, std::string>* names;
  Malformed bad;
};

int link_cb(const nlmsghdr* nlh, void* data) {
  auto* ctx = static_cast<LinkCtx*>(data);
  if (nlh->nlmsg_type != RTM_NEWLINK) return MNL_CB_OK;
  Attrs<IFLA_MAX> attrs;
  if (!parse_attrs(nlh, sizeof(ifinfomsg), attrs, ctx->bad, "RTM_NEWLINK")) return MNL_CB_ERROR;
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  if (auto name = str_of(attrs.at[IFLA_IFNAME])) (*ctx->names)[static_cast<uint32_t>(ifi->ifi_index)] = *name;
  return MNL_CB_OK;
}

struct RuleCtx {
  std::vector<IpRule>* out;
  Malformed bad;
};

int rule_cb(const nlmsghdr* nlh, void* data) {
  auto* ctx = static_cast<RuleCtx*>(data);
  if (nlh->nlmsg_type != RTM_NEWRULE) return MNL_CB_OK;
  Attrs<FRA_MAX> attrs;
  if (!parse_attrs(nlh, sizeof(fib_rule_hdr), attrs, ctx->bad, "RTM_NEWRULE")) return MNL_CB_ERROR;
  const auto* frh = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(nlh));
  if (frh->family != AF_INET) return MNL_CB_OK;
  const uint32_t table = u32_of(attrs.at[FRA_TABLE]).value_or(frh->table);
  if (table == 0) return MNL_CB_OK;  // goto, unreachable, ...: looks up no table
  IpRule rule{.src = "all", .srclen = {}, .oif = str_of(attrs.at[FRA_OIFNAME]).value_or(""),
              .table = table_text(table)};
  if (auto src = ipv4_of(attrs.at[FRA_SRC])) {
    rule.src = *src;
    if (frh->src_len != kHostPrefix) rule.srclen = std::to_string(frh->src_len);
  } else if (frh->src_len != 0) {
    rule.src = "0";
    rule.srclen = std::to_string(frh->src_len);
  }
  ctx->out->push_back(std::move(rule));
  return MNL_CB_OK;
}

struct RouteCtx {
  const std::map<uint32_t, std::string>* names;
  std::vector<IpRoute>* out;
  Malformed bad;
};

int route_cb(const nlmsghdr* nlh, void* data) {
  auto* ctx = static_cast<RouteCtx*>(data);
  if (nlh->nlmsg_type != RTM_NEWROUTE) return MNL_CB_OK;
  Attrs<RTA_MAX> attrs;
  if (!parse_attrs(nlh, sizeof(rtmsg), attrs, ctx->bad, "RTM_NEWROUTE")) return MNL_CB_ERROR;
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  if (rtm->rtm_family != AF_INET) return MNL_CB_OK;
  IpRoute route;
  if (auto dst = ipv4_of(attrs.at[RTA_DST])) {
    route.dst = rtm->rtm_dst_len == kHostPrefix ? *dst : fmt::format("{}/{}", *dst, rtm->rtm_dst_len);
  } else {
    route.dst = rtm->rtm_dst_len == 0 ? "default" : fmt::format("0/{}", rtm->rtm_dst_len);
  }
  route.gateway = ipv4_of(attrs.at[RTA_GATEWAY]).value_or("");
  if (auto oif = u32_of(attrs.at[RTA_OIF])) {
    auto it = ctx->names->find(*oif);
    route.dev = it != ctx->names->end() ? it->second : fmt::format("if{}", *oif);
  }
  route.table = std::to_string(u32_of(attrs.at[RTA_TABLE]).value_or(rtm->rtm_table));
  ctx->out->push_back(std::move(route));
  return MNL_CB_OK;
}

struct SocketCloser {
  void operator()(mnl_socket* sock) const noexcept { (void)mnl_socket_close(sock); }
};
using Socket = std::unique_ptr<mnl_socket, SocketCloser>;

using ReplyParser = std::function<Result<bool>(std::span<const uint8_t>, uint32_t seq, uint32_t portid)>;

uint32_t next_seq() {
  static std::atomic<uint32_t> seq{static_cast<uint32_t>(std::time(nullptr))};
  return ++seq;
}

// Sends one request (`type`, `flags`, the family header `header` of `header_bytes`, then what
// `attrs` puts) on `bus` and feeds the reply datagrams to `parse` until it says the reply is complete.
Result<void> transact(int bus, const char* bus_name, uint16_t type, uint16_t flags, const void* header,
                      size_t header_bytes, const std::string& what, const ReplyParser& parse,
                      const std::function<void(nlmsghdr*)>& attrs = {}) {
  Socket sock(mnl_socket_open2(bus, SOCK_CLOEXEC));
  if (!sock) {
    return fail_errno(fmt::format("{}: socket(AF_NETLINK, {})", what, bus_name), errno,
                      bus == NETLINK_RDMA ? "is the RDMA subsystem (ib_core) loaded?" : "");
  }
  if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) return fail_errno(what + ": bind", errno);
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  (void)setsockopt(mnl_socket_get_fd(sock.get()), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::vector<uint8_t> buf(kReceiveBytes);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  nlh->nlmsg_seq = next_seq();
  if (header_bytes > 0) std::memcpy(mnl_nlmsg_put_extra_header(nlh, header_bytes), header, header_bytes);
  if (attrs) attrs(nlh);
  const uint32_t seq = nlh->nlmsg_seq;
  if (mnl_socket_sendto(sock.get(), nlh, nlh->nlmsg_len) < 0) return fail_errno(what + ": send", errno);
  const uint32_t portid = mnl_socket_get_portid(sock.get());
  while (true) {
    const ssize_t got = mnl_socket_recvfrom(sock.get(), buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail_errno(what + ": receive", errno);
    auto done = parse(std::span<const uint8_t>(buf.data(), static_cast<size_t>(got)), seq, portid);
    if (!done) return std::unexpected(std::move(done.error()));
    if (*done) return {};
  }
}

}  // namespace

Result<bool> parse_rdma_sys_reply(std::span<const uint8_t> datagram, RdmaSystem& out, uint32_t seq, uint32_t portid) {
  SysCtx ctx{.out = &out, .bad = {}};
  return run(datagram, seq, portid, sys_cb, &ctx, ctx.bad, "RDMA_NLDEV_CMD_SYS_GET");
}

Result<bool> parse_rdma_dev_dump(std::span<const uint8_t> datagram, std::map<std::string, uint32_t>& out, uint32_t seq,
                                 uint32_t portid) {
  DevCtx ctx{.out = &out, .bad = {}};
  return run(datagram, seq, portid, dev_cb, &ctx, ctx.bad, "RDMA_NLDEV_CMD_GET");
}

Result<bool> parse_rdma_port_stats(std::span<const uint8_t> datagram, std::map<std::string, uint64_t, std::less<>>& out,
                                   uint32_t seq, uint32_t portid) {
  StatCtx ctx{.out = &out, .bad = {}};
  return run(datagram, seq, portid, stat_cb, &ctx, ctx.bad, "RDMA_NLDEV_CMD_STAT_GET");
}

Result<std::map<std::string, uint64_t, std::less<>>> read_rdma_port_stats(std::string_view device, uint32_t port) {
  std::map<std::string, uint32_t> devices;
  auto listed = transact(NETLINK_RDMA, "NETLINK_RDMA", RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, RDMA_NLDEV_CMD_GET),
                         NLM_F_REQUEST | NLM_F_DUMP, nullptr, 0, "RDMA_NLDEV_CMD_GET",
                         [&](std::span<const uint8_t> d, uint32_t seq, uint32_t portid) {
                           return parse_rdma_dev_dump(d, devices, seq, portid);
                         });
  if (!listed) return std::unexpected(listed.error());
  auto it = devices.find(std::string(device));
  if (it == devices.end()) {
    return fail(Errc::kNotFound, fmt::format("RDMA device {} is not in this network namespace's netlink view", device));
  }
  std::map<std::string, uint64_t, std::less<>> out;
  const uint32_t index = it->second;
  auto ok = transact(
      NETLINK_RDMA, "NETLINK_RDMA", RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, RDMA_NLDEV_CMD_STAT_GET), NLM_F_REQUEST | NLM_F_ACK,
      nullptr, 0, fmt::format("RDMA_NLDEV_CMD_STAT_GET {}/{}", device, port),
      [&](std::span<const uint8_t> d, uint32_t seq, uint32_t portid) { return parse_rdma_port_stats(d, out, seq, portid); },
      [&](nlmsghdr* nlh) {
        mnl_attr_put_u32(nlh, RDMA_NLDEV_ATTR_DEV_INDEX, index);
        mnl_attr_put_u32(nlh, RDMA_NLDEV_ATTR_PORT_INDEX, port);
      });
  if (!ok) return std::unexpected(ok.error());
  return out;
}

Result<bool> parse_link_dump(std::span<const uint8_t> datagram, std::map<uint32_t, std::string>& names, uint32_t seq,
                             uint32_t portid) {
  LinkCtx ctx{.names = &names, .bad = {}};
  return run(datagram, seq, portid, link_cb, &ctx, ctx.bad, "RTM_GETLINK dump");
}

Result<bool> parse_rule_dump(std::span<const uint8_t> datagram, std::vector<IpRule>& out, uint32_t seq,
                             uint32_t portid) {
  RuleCtx ctx{.out = &out, .bad = {}};
  return run(datagram, seq, portid, rule_cb, &ctx, ctx.bad, "RTM_GETRULE dump");
}

Result<bool> parse_route_dump(std::span<const uint8_t> datagram, const std::map<uint32_t, std::string>& names,
                              std::vector<IpRoute>& out, uint32_t seq, uint32_t portid) {
  RouteCtx ctx{.names = &names, .out = &out, .bad = {}};
  return run(datagram, seq, portid, route_cb, &ctx, ctx.bad, "RTM_GETROUTE dump");
}

Result<RdmaSystem> read_rdma_system() {
  RdmaSystem out;
  auto ok = transact(NETLINK_RDMA, "NETLINK_RDMA", RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, RDMA_NLDEV_CMD_SYS_GET),
                     NLM_F_REQUEST | NLM_F_ACK, nullptr, 0, "RDMA_NLDEV_CMD_SYS_GET",
                     [&](std::span<const uint8_t> d, uint32_t seq, uint32_t portid) {
                       return parse_rdma_sys_reply(d, out, seq, portid);
                     });
  if (!ok) return std::unexpected(std::move(ok.error()));
  return out;
}

Result<std::map<uint32_t, std::string>> read_link_names() {
  std::map<uint32_t, std::string> names;
  const ifinfomsg ifi{};  // AF_UNSPEC: every link
  auto ok = transact(NETLINK_ROUTE, "NETLINK_ROUTE", RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, &ifi, sizeof ifi,
                     "RTM_GETLINK dump", [&](std::span<const uint8_t> d, uint32_t seq, uint32_t portid) {
                       return parse_link_dump(d, names, seq, portid);
                     });
  if (!ok) return std::unexpected(std::move(ok.error()));
  return names;
}

Result<std::vector<IpRule>> read_ipv4_rules() {
  std::vector<IpRule> rules;
  fib_rule_hdr frh{};
  frh.family = AF_INET;
  auto ok = transact(NETLINK_ROUTE, "NETLINK_ROUTE", RTM_GETRULE, NLM_F_REQUEST | NLM_F_DUMP, &frh, sizeof frh,
                     "RTM_GETRULE dump", [&](std::span<const uint8_t> d, uint32_t seq, uint32_t portid) {
                       return parse_rule_dump(d, rules, seq, portid);
                     });
  if (!ok) return std::unexpected(std::move(ok.error()));
  return rules;
}

Result<std::vector<IpRoute>> read_ipv4_routes() {
  auto names = read_link_names();
  if (!names) return std::unexpected(std::move(names.error()));
  std::vector<IpRoute> routes;
  rtmsg rtm{};
  rtm.rtm_family = AF_INET;
  auto ok = transact(NETLINK_ROUTE, "NETLINK_ROUTE", RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, &rtm, sizeof rtm,
                     "RTM_GETROUTE dump", [&](std::span<const uint8_t> d, uint32_t seq, uint32_t portid) {
                       return parse_route_dump(d, *names, routes, seq, portid);
                     });
  if (!ok) return std::unexpected(std::move(ok.error()));
  return routes;
}

RoutingFacts read_routing_facts() {
  RoutingFacts facts;
  auto routes = read_ipv4_routes();
  if (!routes) {
    facts.routes_unusable = "routes unreadable: " + routes.error().message();
    facts.unusable = facts.routes_unusable;
    return facts;
  }
  facts.routes = std::move(*routes);
  auto rules = read_ipv4_rules();
  if (!rules) {
    facts.unusable = "policy rules unreadable: " + rules.error().message();
    return facts;
  }
  facts.rules = std::move(*rules);
  return facts;
}

}  // namespace railcheck::topology
