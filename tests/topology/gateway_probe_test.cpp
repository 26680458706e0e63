// The live gateway probe. Over loopback where any machine has it; then over a netns fixture:
// a forked child makes its own network namespace (the "pod") with a veth whose peer lives in a
// second namespace (the "gateway", 10.254.0.1), so nothing leaves the test's namespaces. There
// it checks an ICMP answer, an ARP-only answer from a probe without CAP_NET_RAW (and without a
// ping socket), and silence once the gateway's link is down. Needs root (CAP_NET_ADMIN,
// CAP_SYS_ADMIN for unshare) and `ip`/`nsenter`: skipped otherwise.
#include "topology/gateway_probe.hpp"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace railcheck::topology {
namespace {

std::string how_name(ProbeAnswer::How how) {
  switch (how) {
    case ProbeAnswer::How::kIcmp: return "icmp";
    case ProbeAnswer::How::kArp: return "arp";
    case ProbeAnswer::How::kNone: return "none";
    case ProbeAnswer::How::kUnknown: return "unknown";
  }
  return "?";
}

TEST(GatewayProbe, LoopbackAnswersAnEcho) {
  auto r = probe_gateway(ProbeTarget{.netdev = "lo", .source = "127.0.0.1", .gateway = "127.0.0.1", .timeout_ms = 2000});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  if (r->how == ProbeAnswer::How::kUnknown || r->detail.find("no ICMP socket") != std::string::npos) {
    GTEST_SKIP() << "no ICMP socket allowed here: " << r->detail;
  }
  EXPECT_EQ(r->how, ProbeAnswer::How::kIcmp) << r->detail;
  EXPECT_GE(r->rtt_ms, 0.0);
  EXPECT_LT(r->rtt_ms, 2000.0);
}

TEST(GatewayProbe, AMissingNetdevOrBadAddressIsNamed) {
  auto missing = probe_gateway(ProbeTarget{.netdev = "rcnone0", .source = "127.0.0.1", .gateway = "127.0.0.1",
                                           .timeout_ms = 100});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
  EXPECT_EQ(missing.error().what, "rcnone0 is not a network interface in this network namespace");
  auto src = probe_gateway(ProbeTarget{.netdev = "lo", .source = "net1", .gateway = "127.0.0.1", .timeout_ms = 100});
  ASSERT_FALSE(src.has_value());
  EXPECT_EQ(src.error().what, "source 'net1' is not an IPv4 address");
  auto gw = probe_gateway(ProbeTarget{.netdev = "lo", .source = "127.0.0.1", .gateway = "fe80::1", .timeout_ms = 100});
  ASSERT_FALSE(gw.has_value());
  EXPECT_EQ(gw.error().what, "gateway 'fe80::1' is not an IPv4 address");
  // Not this host's address: bind fails before anything is sent.
  auto foreign = probe_gateway(ProbeTarget{.netdev = "lo", .source = "198.51.100.7", .gateway = "127.0.0.1",
                                           .timeout_ms = 100});
  ASSERT_FALSE(foreign.has_value());
  EXPECT_EQ(foreign.error().what, "bind to 198.51.100.7");
  EXPECT_EQ(foreign.error().sys_errno, EADDRNOTAVAIL);
}

// --- the netns fixture -----------------------------------------------------------------------

bool sh(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

// Drops CAP_NET_RAW from this process: no raw socket any more.
bool drop_net_raw() {
  __user_cap_header_struct header{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  data[0].effective &= ~(1u << CAP_NET_RAW);
  data[0].permitted &= ~(1u << CAP_NET_RAW);
  return syscall(SYS_capset, &header, data) == 0;
}

std::string line_of(const char* name, const Result<ProbeAnswer>& r) {
  if (!r) return std::string(name) + " error " + r.error().message() + "\n";
  return std::string(name) + " " + how_name(r->how) + " " + r->detail + "\n";
}

// Runs in the forked child: builds the fixture, probes, writes one line per case to `out`.
[[noreturn]] void fixture_child(int out) {
  auto say = [out](const std::string& text) { (void)!::write(out, text.data(), text.size()); };
  if (::unshare(CLONE_NEWNET) != 0) {
    say("skip unshare(CLONE_NEWNET) refused\n");
    ::_exit(0);
  }
  const pid_t gateway = ::fork();  // holds the gateway's namespace
  if (gateway == 0) {
    if (::unshare(CLONE_NEWNET) != 0) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  ::usleep(200 * 1000);  // (the gateway child's unshare)
  const std::string gw_ns = "nsenter --net=/proc/" + std::to_string(gateway) + "/ns/net ";
  const ProbeTarget target{.netdev = "rc0", .source = "10.254.0.10", .gateway = "10.254.0.1", .timeout_ms = 400};
  const bool ok = sh("ip link set lo up") &&
                  sh("ip link add rc0 type veth peer name rc1 netns " + std::to_string(gateway)) &&
                  sh("ip addr add 10.254.0.10/24 dev rc0") && sh("ip link set rc0 up") &&
                  sh(gw_ns + "ip addr add 10.254.0.1/24 dev rc1") && sh(gw_ns + "ip link set rc1 up") &&
                  sh(gw_ns + "ip link set lo up");
  if (!ok) {
    say("skip cannot build the veth fixture (ip, nsenter)\n");
  } else {
    ::usleep(300 * 1000);  // carrier
    say(line_of("icmp", probe_gateway(target)));
    (void)sh("ip neigh flush dev rc0");
    // Without CAP_NET_RAW and outside ping_group_range ("1 0" in a new namespace): ARP only.
    const pid_t unprivileged = ::fork();
    if (unprivileged == 0) {
      if (!drop_net_raw()) {
        say("arp error capset failed\n");
        ::_exit(0);
      }
      ProbeTarget slow = target;
      slow.timeout_ms = 3000;
      say(line_of("arp", probe_gateway(slow)));
      ::_exit(0);
    }
    int status = 0;
    (void)::waitpid(unprivileged, &status, 0);
    (void)sh(gw_ns + "ip link set rc1 down");
    (void)sh("ip neigh flush dev rc0");
    say(line_of("silent", probe_gateway(target)));
  }
  ::kill(gateway, SIGKILL);
  (void)::waitpid(gateway, nullptr, 0);
  ::_exit(0);
}

TEST(GatewayProbe, NetnsFixtureAnswerArpOnlyAndSilence) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    fixture_child(fds[1]);
  }
  ::close(fds[1]);
  std::string text;
  char buf[512];
  for (int waited_ms = 0; waited_ms < 30000;) {
    pollfd pfd{.fd = fds[0], .events = POLLIN, .revents = 0};
    if (::poll(&pfd, 1, 500) == 0) {
      waited_ms += 500;
      continue;
    }
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  ::kill(child, SIGKILL);
  (void)::waitpid(child, nullptr, 0);
  if (text.starts_with("skip ")) GTEST_SKIP() << text;
  std::map<std::string, std::string> cases;  // name -> "how detail"
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const size_t sp = line.find(' ');
    cases[line.substr(0, sp)] = sp == std::string::npos ? "" : line.substr(sp + 1);
  }
  ASSERT_EQ(cases.size(), 3u) << text;
  EXPECT_TRUE(cases["icmp"].starts_with("icmp")) << cases["icmp"];
  EXPECT_TRUE(cases["arp"].starts_with("arp neighbour entry REACHABLE; no ICMP socket: ping socket ")) << cases["arp"];
  EXPECT_TRUE(cases["silent"].starts_with("none no ICMP echo reply; ")) << cases["silent"];
}

}  // namespace
}  // namespace railcheck::topology
