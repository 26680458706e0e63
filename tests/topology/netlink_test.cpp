// The netlink readers' parsers over messages built here as the kernel builds them (libmnl), the
// routing checks over rules and routes read that way against the same rules and routes as
// `ip -j` text (the same verdicts, word for word), and the live dumps of this test's own network
// namespace against `ip -4 -j` (no privilege needed).
#include "topology/netlink.hpp"

#include "rail_fixtures.hpp"
#include "spiderpool_routes.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <rdma/rdma_netlink.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <tuple>

#include "support/process.hpp"

namespace railcheck::topology {
namespace {

using namespace testing;  // rail_fixtures.hpp

// A reply datagram: messages appended one after another, as the kernel packs a dump.
class Datagram {
 public:
  Datagram() : buf_(64 * 1024, 0) {}

  // A new message of `type`; its family header (if any) and attributes follow through the pointer.
  nlmsghdr* add(uint16_t type, uint16_t flags = NLM_F_MULTI, uint32_t seq = 0) {
    close();
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.data() + used_);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    nlh->nlmsg_seq = seq;
    open_ = nlh;
    return nlh;
  }
  template <class H>
  H* header(nlmsghdr* nlh) {
    return static_cast<H*>(mnl_nlmsg_put_extra_header(nlh, sizeof(H)));
  }
  void done() { add(NLMSG_DONE)->nlmsg_len += sizeof(int); }
  void error(int err) {
    nlmsghdr* nlh = add(NLMSG_ERROR, 0);
    auto* e = header<nlmsgerr>(nlh);
    e->error = err;
  }
  std::span<const uint8_t> bytes() {
    close();
    return {buf_.data(), used_};
  }

 private:
  void close() {
    if (open_ != nullptr) used_ += MNL_ALIGN(open_->nlmsg_len);
    open_ = nullptr;
  }
  std::vector<uint8_t> buf_;
  size_t used_ = 0;
  nlmsghdr* open_ = nullptr;
};

void put_ipv4(nlmsghdr* nlh, uint16_t type, const char* text) {
  in_addr a{};
  ASSERT_EQ(inet_pton(AF_INET, text, &a), 1) << text;
  mnl_attr_put(nlh, type, sizeof a, &a);
}

// One rule as the kernel dumps it.
void rule(Datagram& d, uint32_t table, const char* src = nullptr, uint8_t src_len = 0, const char* oif = nullptr,
          uint8_t family = AF_INET, uint8_t action = FR_ACT_TO_TBL) {
  nlmsghdr* nlh = d.add(RTM_NEWRULE);
  auto* frh = d.header<fib_rule_hdr>(nlh);
  frh->family = family;
  frh->action = action;
  frh->table = static_cast<uint8_t>(table < 256 ? table : uint32_t{RT_TABLE_COMPAT});
  frh->src_len = src_len;
  mnl_attr_put_u32(nlh, FRA_TABLE, table);
  if (src != nullptr) put_ipv4(nlh, FRA_SRC, src);
  if (oif != nullptr) mnl_attr_put_strz(nlh, FRA_OIFNAME, oif);
}

void route(Datagram& d, uint32_t table, const char* dst, uint8_t dst_len, const char* gateway, uint32_t oif,
           uint8_t type = RTN_UNICAST) {
  nlmsghdr* nlh = d.add(RTM_NEWROUTE);
  auto* rtm = d.header<rtmsg>(nlh);
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = dst_len;
  rtm->rtm_table = static_cast<uint8_t>(table < 256 ? table : uint32_t{RT_TABLE_COMPAT});
  rtm->rtm_type = type;
  mnl_attr_put_u32(nlh, RTA_TABLE, table);
  if (dst != nullptr) put_ipv4(nlh, RTA_DST, dst);
  if (gateway != nullptr) put_ipv4(nlh, RTA_GATEWAY, gateway);
  if (oif != 0) mnl_attr_put_u32(nlh, RTA_OIF, oif);
}

const std::map<uint32_t, std::string> kNames = {{1, "lo"},   {2, "eth0"}, {3, "net1"}, {4, "net2"},
                                                 {5, "net3"}, {6, "net4"}, {7, "net5"}};

// routing_checks_test.cpp's pod, as the kernel would dump it (and as `ip -j` prints it below).
RoutingFacts spiderpool_pod() {
  Datagram rules;
  rule(rules, RT_TABLE_LOCAL);
  rule(rules, 101, "172.16.11.10", 32);
  rule(rules, 102, nullptr, 0, "net2");
  rule(rules, 103, "172.16.13.10", 32);
  rule(rules, 104, "172.16.14.10", 32);
  rule(rules, RT_TABLE_MAIN);
  rule(rules, RT_TABLE_DEFAULT);
  rules.done();
  Datagram routes;
  route(routes, RT_TABLE_MAIN, nullptr, 0, "10.0.0.1", 2);
  route(routes, 101, nullptr, 0, "172.16.11.254", 3);
  route(routes, 101, "172.16.11.0", 24, nullptr, 3);
  route(routes, 102, nullptr, 0, "172.16.12.254", 4);
  route(routes, 103, "172.16.13.0", 24, nullptr, 5);
  route(routes, 104, nullptr, 0, "172.16.14.254", 3);
  route(routes, RT_TABLE_LOCAL, "172.16.11.10", 32, nullptr, 3, RTN_LOCAL);
  routes.done();
  RoutingFacts facts;
  EXPECT_TRUE(*parse_rule_dump(rules.bytes(), facts.rules));
  EXPECT_TRUE(*parse_route_dump(routes.bytes(), kNames, facts.routes));
  return facts;
}

TEST(NetlinkRules, AsIpPrintsThem) {
  Datagram d;
  rule(d, RT_TABLE_LOCAL);
  rule(d, 101, "172.16.11.10", 32);
  rule(d, 102, nullptr, 0, "net2");
  rule(d, 105, "172.16.15.0", 24);
  rule(d, 300);
  rule(d, 0, nullptr, 0, nullptr, AF_INET, FR_ACT_GOTO);  // looks up no table: not listed
  rule(d, 101, nullptr, 0, nullptr, AF_INET6);           // IPv6: not listed
  std::vector<IpRule> out;
  auto more = parse_rule_dump(d.bytes(), out);
  ASSERT_TRUE(more.has_value()) << more.error().message();
  EXPECT_FALSE(*more);  // no NLMSG_DONE yet
  ASSERT_EQ(out.size(), 5u);
  const auto row = [](const IpRule& r) { return std::tuple(r.src, r.srclen, r.oif, r.table); };
  EXPECT_EQ(row(out[0]), std::tuple("all", "", "", "local"));
  EXPECT_EQ(row(out[1]), std::tuple("172.16.11.10", "", "", "101"));
  EXPECT_EQ(row(out[2]), std::tuple("all", "", "net2", "102"));
  EXPECT_EQ(row(out[3]), std::tuple("172.16.15.0", "24", "", "105"));
  EXPECT_EQ(row(out[4]), std::tuple("all", "", "", "300"));
  Datagram end;
  end.done();
  EXPECT_TRUE(*parse_rule_dump(end.bytes(), out));
}

TEST(NetlinkRoutes, AsIpPrintsThem) {
  Datagram d;
  route(d, RT_TABLE_MAIN, nullptr, 0, "10.0.0.1", 2);
  route(d, 101, "172.16.11.0", 24, nullptr, 3);
  route(d, RT_TABLE_LOCAL, "172.16.11.10", 32, nullptr, 3, RTN_LOCAL);
  route(d, 101, nullptr, 0, nullptr, 42);  // an index with no link: ip's "if42"
  route(d, 102, nullptr, 0, nullptr, 0, RTN_UNREACHABLE);
  d.done();
  std::vector<IpRoute> out;
  ASSERT_TRUE(*parse_route_dump(d.bytes(), kNames, out));
  ASSERT_EQ(out.size(), 5u);
  const auto row = [](const IpRoute& r) { return std::tuple(r.dst, r.gateway, r.dev, r.table); };
  EXPECT_EQ(row(out[0]), std::tuple("default", "10.0.0.1", "eth0", "254"));
  EXPECT_EQ(row(out[1]), std::tuple("172.16.11.0/24", "", "net1", "101"));
  EXPECT_EQ(row(out[2]), std::tuple("172.16.11.10", "", "net1", "255"));
  EXPECT_EQ(row(out[3]), std::tuple("default", "", "if42", "101"));
  EXPECT_EQ(row(out[4]), std::tuple("default", "", "", "102"));
}

TEST(NetlinkLinks, NamesByIndex) {
  Datagram d;
  for (auto [index, name] : {std::pair{1, "lo"}, std::pair{7, "net1"}}) {
    nlmsghdr* nlh = d.add(RTM_NEWLINK);
    d.header<ifinfomsg>(nlh)->ifi_index = index;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  }
  d.done();
  std::map<uint32_t, std::string> names;
  ASSERT_TRUE(*parse_link_dump(d.bytes(), names));
  EXPECT_EQ(names, (std::map<uint32_t, std::string>{{1, "lo"}, {7, "net1"}}));
}

TEST(NetlinkRdma, SysGetNetnsModeAndCopyOnFork) {
  const uint16_t type = RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, RDMA_NLDEV_CMD_SYS_GET);
  for (auto [mode, want] : {std::pair{uint8_t{1}, NetnsMode::kShared}, std::pair{uint8_t{0}, NetnsMode::kExclusive}}) {
    Datagram d;
    nlmsghdr* nlh = d.add(type, 0, 7);
    mnl_attr_put_u8(nlh, RDMA_NLDEV_SYS_ATTR_NETNS_MODE, mode);
    mnl_attr_put_u8(nlh, RDMA_NLDEV_SYS_ATTR_COPY_ON_FORK, 1);
    d.error(0);  // the ACK
    RdmaSystem sys;
    auto done = parse_rdma_sys_reply(d.bytes(), sys);
    ASSERT_TRUE(done.has_value()) << done.error().message();
    EXPECT_TRUE(*done);
    EXPECT_EQ(sys.netns_mode, want);
    EXPECT_EQ(sys.copy_on_fork, std::optional(true));
  }
  // An old kernel without the attribute: unknown, as `rdma system show` would print nothing.
  Datagram old;
  old.add(type, 0);
  old.error(0);
  RdmaSystem sys;
  EXPECT_TRUE(*parse_rdma_sys_reply(old.bytes(), sys));
  EXPECT_EQ(sys.netns_mode, NetnsMode::kUnknown);
  EXPECT_FALSE(sys.copy_on_fork.has_value());
  // A reply of another request (sequence number) is refused.
  Datagram other;
  other.add(type, 0, 9);
  EXPECT_FALSE(parse_rdma_sys_reply(other.bytes(), sys, 7).has_value());
}

TEST(NetlinkErrors, KernelErrorsAndMalformedMessages) {
  Datagram refused;
  refused.error(-EOPNOTSUPP);
  std::vector<IpRule> rules;
  auto err = parse_rule_dump(refused.bytes(), rules);
  ASSERT_FALSE(err.has_value());
  EXPECT_EQ(err.error().code, Errc::kSystem);
  EXPECT_EQ(err.error().sys_errno, EOPNOTSUPP);

  Datagram shorter;  // a rule message without its fib_rule_hdr
  shorter.add(RTM_NEWRULE);
  auto bad = parse_rule_dump(shorter.bytes(), rules);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Errc::kProtocol);
  EXPECT_NE(bad.error().what.find("shorter than its header"), std::string::npos) << bad.error().what;

  Datagram overrun;
  nlmsghdr* nlh = overrun.add(RTM_NEWROUTE);
  overrun.header<rtmsg>(nlh)->rtm_family = AF_INET;
  mnl_attr_put_u32(nlh, RTA_OIF, 3);
  auto* attr = reinterpret_cast<nlattr*>(reinterpret_cast<uint8_t*>(nlh) + NLMSG_LENGTH(sizeof(rtmsg)));
  attr->nla_len = 200;  // past the message's end
  std::vector<IpRoute> routes;
  auto over = parse_route_dump(overrun.bytes(), kNames, routes);
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().code, Errc::kProtocol);

  Datagram whole;
  rule(whole, 101, "172.16.11.10", 32);
  const auto bytes = whole.bytes();
  auto cut = parse_rule_dump(bytes.first(bytes.size() - 4), rules);
  ASSERT_FALSE(cut.has_value());
  EXPECT_EQ(cut.error().code, Errc::kProtocol);
  EXPECT_NE(cut.error().what.find("truncated"), std::string::npos) << cut.error().what;

  // A wrong-sized attribute is ignored, not read past.
  Datagram odd;
  nlmsghdr* r = odd.add(RTM_NEWROUTE);
  odd.header<rtmsg>(r)->rtm_family = AF_INET;
  const uint16_t two = 3;
  mnl_attr_put(r, RTA_OIF, sizeof two, &two);
  mnl_attr_put(r, RTA_GATEWAY, 2, &two);
  routes.clear();
  ASSERT_TRUE(parse_route_dump(odd.bytes(), kNames, routes).has_value());
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].dev, "");
  EXPECT_EQ(routes[0].gateway, "");
}

bool same(const std::vector<CheckResult>& a, const std::vector<CheckResult>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].verdict != b[i].verdict || a[i].subject != b[i].subject ||
        a[i].reason != b[i].reason || a[i].fix != b[i].fix) {
      ADD_FAILURE() << a[i].subject << ": " << a[i].reason << " / " << b[i].reason;
      return false;
    }
  }
  return true;
}

// The routing checks read the same from the kernel's dump as from `ip -j`'s text, word for word.
TEST(NetlinkRouting, TheChecksGiveTheSameVerdictsAsOverIpJson) {
  const RailMap map = build_ok(inputs_for("hgx-roce", "hgx-h100-8gpu.xml"));
  const RoutingFacts kernel = spiderpool_pod();
  EXPECT_TRUE(same(check_policy_routes(map, kernel), check_policy_routes(map, kRules, kRoutes)));
  EXPECT_TRUE(same({check_main_route(map, kernel)}, {check_main_route(map, kRoutes)}));
  const GatewayProber probe = [](const ProbeTarget& t) -> Result<ProbeAnswer> {
    return ProbeAnswer{.how = t.gateway == "172.16.11.254" ? ProbeAnswer::How::kIcmp : ProbeAnswer::How::kNone,
                       .rtt_ms = 0.2, .detail = "ARP FAILED"};
  };
  EXPECT_TRUE(same(check_gateway_reachable(map, kernel, probe, 300),
                   check_gateway_reachable(map, kRules, kRoutes, probe, 300)));
}

std::set<std::tuple<std::string, std::string, std::string, std::string>> route_set(const std::vector<IpRoute>& rs) {
  std::set<std::tuple<std::string, std::string, std::string, std::string>> out;
  for (const IpRoute& r : rs) out.emplace(r.dst, r.gateway, r.dev, r.table);
  return out;
}

std::set<std::tuple<std::string, std::string, std::string, std::string>> rule_set(const std::vector<IpRule>& rs) {
  std::set<std::tuple<std::string, std::string, std::string, std::string>> out;
  for (const IpRule& r : rs) out.emplace(r.src, r.srclen, r.oif, r.table);
  return out;
}

// The live dumps of this test's network namespace, against iproute2's view of it.
TEST(NetlinkLive, RulesAndRoutesOfThisNamespaceAsIpSeesThem) {
  const RoutingFacts live = read_routing_facts();
  ASSERT_TRUE(live.unusable.empty()) << live.unusable;
  EXPECT_FALSE(live.routes.empty());  // the local table has 127.0.0.1 at least
  const auto rules = ::railcheck::testing::run_command("ip -4 -j rule");
  const auto routes = ::railcheck::testing::run_command("ip -4 -j route show table all");
  if (rules.exit_code != 0 || routes.exit_code != 0) GTEST_SKIP() << "no iproute2 here: " << rules.err;
  const RoutingFacts ip = parse_ip_json(rules.out, routes.out);
  ASSERT_TRUE(ip.unusable.empty()) << ip.unusable;
  EXPECT_EQ(rule_set(live.rules), rule_set(ip.rules));
  EXPECT_EQ(route_set(live.routes), route_set(ip.routes));
}

TEST(NetlinkLive, RdmaSystemAnswersOrSaysWhyNot) {
  auto sys = read_rdma_system();
  if (!sys) {
    // Build machines have no RDMA subsystem: the socket is refused, and the check is waived.
    EXPECT_EQ(sys.error().code, Errc::kSystem) << sys.error().message();
    GTEST_SKIP() << sys.error().message();
  }
  EXPECT_NE(sys->netns_mode, NetnsMode::kUnknown);
}

}  // namespace
}  // namespace railcheck::topology

namespace railcheck::topology {
namespace {

// RDMA_NLDEV_CMD_STAT_GET as the kernel answers it (nldev_stat_get_doit -> fill_stat_hwcounters):
// a nest of entries, each a name and a u64 value.
void stat_entry(nlmsghdr* nlh, const char* name, uint64_t value) {
  nlattr* entry = mnl_attr_nest_start(nlh, RDMA_NLDEV_ATTR_STAT_HWCOUNTER_ENTRY);
  mnl_attr_put_strz(nlh, RDMA_NLDEV_ATTR_STAT_HWCOUNTER_ENTRY_NAME, name);
  mnl_attr_put_u64(nlh, RDMA_NLDEV_ATTR_STAT_HWCOUNTER_ENTRY_VALUE, value);
  mnl_attr_nest_end(nlh, entry);
}

TEST(NetlinkParse, PortStatsAreEachHardwareCounterByName) {
  Datagram d;
  nlmsghdr* nlh = d.add(RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, RDMA_NLDEV_CMD_STAT_GET), 0);
  mnl_attr_put_u32(nlh, RDMA_NLDEV_ATTR_DEV_INDEX, 3);
  mnl_attr_put_u32(nlh, RDMA_NLDEV_ATTR_PORT_INDEX, 1);
  nlattr* nest = mnl_attr_nest_start(nlh, RDMA_NLDEV_ATTR_STAT_HWCOUNTERS);
  stat_entry(nlh, "rcvd_seq_err", 17);
  stat_entry(nlh, "sent_pkts", uint64_t{1} << 40);
  mnl_attr_nest_end(nlh, nest);
  d.error(0);  // the ACK
  std::map<std::string, uint64_t, std::less<>> out;
  auto done = parse_rdma_port_stats(d.bytes(), out);
  ASSERT_TRUE(done) << done.error().message();
  EXPECT_TRUE(*done);
  EXPECT_EQ(out, (std::map<std::string, uint64_t, std::less<>>{{"rcvd_seq_err", 17}, {"sent_pkts", uint64_t{1} << 40}}));

  Datagram bad;  // an entry without its value
  nlh = bad.add(RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, RDMA_NLDEV_CMD_STAT_GET), 0);
  nest = mnl_attr_nest_start(nlh, RDMA_NLDEV_ATTR_STAT_HWCOUNTERS);
  nlattr* entry = mnl_attr_nest_start(nlh, RDMA_NLDEV_ATTR_STAT_HWCOUNTER_ENTRY);
  mnl_attr_put_strz(nlh, RDMA_NLDEV_ATTR_STAT_HWCOUNTER_ENTRY_NAME, "rcvd_seq_err");
  mnl_attr_nest_end(nlh, entry);
  mnl_attr_nest_end(nlh, nest);
  auto refused = parse_rdma_port_stats(bad.bytes(), out);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::kProtocol);
  EXPECT_NE(refused.error().message().find("without its name or 64-bit value"), std::string::npos)
      << refused.error().message();
}

TEST(NetlinkParse, DeviceDumpMapsNamesToIndexes) {
  Datagram d;
  for (auto [index, name] : {std::pair{0u, "rxe_p0n1"}, std::pair{5u, "mlx5_3"}}) {
    nlmsghdr* nlh = d.add(RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, RDMA_NLDEV_CMD_GET));
    mnl_attr_put_u32(nlh, RDMA_NLDEV_ATTR_DEV_INDEX, index);
    mnl_attr_put_strz(nlh, RDMA_NLDEV_ATTR_DEV_NAME, name);
  }
  d.done();
  std::map<std::string, uint32_t> out;
  auto done = parse_rdma_dev_dump(d.bytes(), out);
  ASSERT_TRUE(done) << done.error().message();
  EXPECT_TRUE(*done);
  EXPECT_EQ(out, (std::map<std::string, uint32_t>{{"mlx5_3", 5}, {"rxe_p0n1", 0}}));
}

}  // namespace
}  // namespace railcheck::topology
