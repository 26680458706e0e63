#include "topology/gateway_probe.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <random>
#include <thread>
#include <utility>

namespace railcheck::topology {
namespace {

using Clock = std::chrono::steady_clock;

// A socket, closed when it goes.
class Socket {
 public:
  explicit Socket(int fd) noexcept : fd_(fd) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ~Socket() {
    if (fd_ >= 0) (void)::close(fd_);
  }
  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] bool ok() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct IcmpSocket {
  Socket sock;
  bool raw = false;  // a raw socket sees the IP header and every ICMP packet
};

// A ping socket where ping_group_range allows it, else a raw one; nullopt (with both errnos
// in `why`) when neither may be opened.
std::optional<IcmpSocket> open_icmp(std::string& why) {
  Socket dgram(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP));
  if (dgram.ok()) return IcmpSocket{std::move(dgram), false};
  const int dgram_errno = errno;
  Socket raw(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
  if (raw.ok()) return IcmpSocket{std::move(raw), true};
  why = fmt::format("no ICMP socket: ping socket {} (net.ipv4.ping_group_range), raw socket {} (CAP_NET_RAW)",
                    std::strerror(dgram_errno), std::strerror(errno));
  return std::nullopt;
}

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Binds `fd` to the netdev and the source address, so the pod's policy rule (`from <ip>` or
// `oif <netdev>`) routes the probe.
Result<void> bind_to(int fd, const ProbeTarget& t, in_addr src) {
  if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, t.netdev.c_str(), static_cast<socklen_t>(t.netdev.size())) != 0) {
    return fail_errno(fmt::format("SO_BINDTODEVICE {}", t.netdev), errno);
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr = src;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    return fail_errno(fmt::format("bind to {}", t.source), errno,
                      t.source + " must be an address of this network namespace");
  }
  return {};
}

uint16_t checksum(const uint8_t* data, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (len % 2 != 0) sum += static_cast<uint32_t>(data[len - 1] << 8);
  while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// Sends one echo request and waits for its reply; the round trip in ms, or nullopt when none
// came before the deadline.
Result<std::optional<double>> echo(const IcmpSocket& icmp, in_addr gw, Clock::time_point deadline) {
  std::random_device rd;
  const auto id = static_cast<uint16_t>(rd());
  constexpr uint16_t kSeq = 1;
  std::array<uint8_t, 8 + 16> packet{};
  packet[0] = ICMP_ECHO;
  packet[4] = static_cast<uint8_t>(id >> 8);
  packet[5] = static_cast<uint8_t>(id);
  packet[6] = 0;
  packet[7] = kSeq;
  std::memcpy(packet.data() + 8, "railcheck-gwprob", 16);
  const uint16_t sum = checksum(packet.data(), packet.size());  // the ping socket recomputes it
  packet[2] = static_cast<uint8_t>(sum >> 8);
  packet[3] = static_cast<uint8_t>(sum);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr = gw;
  const auto sent_at = Clock::now();
  if (::sendto(icmp.sock.fd(), packet.data(), packet.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
    if (errno == EHOSTUNREACH || errno == ENETUNREACH) return std::optional<double>{};  // ARP already failed
    return fail_errno(fmt::format("sendto {} (ICMP echo)", ::inet_ntoa(gw)), errno);
  }
  std::array<uint8_t, 1500> buf{};
  while (true) {
    pollfd pfd{.fd = icmp.sock.fd(), .events = POLLIN, .revents = 0};
    const int n = ::poll(&pfd, 1, remaining_ms(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("poll (ICMP echo)", errno);
    if (n == 0) return std::optional<double>{};
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    const ssize_t got = ::recvfrom(icmp.sock.fd(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from),
                                   &from_len);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return fail_errno("recvfrom (ICMP echo)", errno);
    }
    size_t off = 0;
    if (icmp.raw) {
      if (got < 20) continue;
      off = static_cast<size_t>(buf[0] & 0x0f) * 4;
    }
    if (static_cast<size_t>(got) < off + 8 || from.sin_addr.s_addr != gw.s_addr) continue;
    const uint8_t* h = buf.data() + off;
    const bool ours = h[0] == ICMP_ECHOREPLY && h[6] == 0 && h[7] == kSeq &&
                      (!icmp.raw || (h[4] == static_cast<uint8_t>(id >> 8) && h[5] == static_cast<uint8_t>(id)));
    if (!ours) continue;
    return std::optional<double>(std::chrono::duration<double, std::milli>(Clock::now() - sent_at).count());
  }
}

// The NUD state of `gw` on `ifindex` in the kernel's neighbour table; 0 when it has no entry.
Result<uint16_t> neighbour_state(unsigned ifindex, in_addr gw) {
  Socket nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!nl.ok()) return fail_errno("socket(NETLINK_ROUTE)", errno);
  timeval tv{.tv_sec = 1, .tv_usec = 0};
  (void)::setsockopt(nl.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct {
    nlmsghdr hdr;
    ndmsg msg;
  } req{};
  req.hdr.nlmsg_len = sizeof req;
  req.hdr.nlmsg_type = RTM_GETNEIGH;
  req.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.hdr.nlmsg_seq = 1;
  req.msg.ndm_family = AF_INET;
  if (::send(nl.fd(), &req, sizeof req, 0) < 0) return fail_errno("netlink RTM_GETNEIGH", errno);
  std::array<char, 32768> buf{};
  uint16_t state = 0;
  while (true) {
    const ssize_t got = ::recv(nl.fd(), buf.data(), buf.size(), 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return fail_errno("netlink RTM_GETNEIGH reply", errno);
    }
    auto len = static_cast<unsigned>(got);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_DONE) return state;
      if (h->nlmsg_type == NLMSG_ERROR) return fail(Errc::kSystem, "netlink RTM_GETNEIGH: error reply");
      if (h->nlmsg_type != RTM_NEWNEIGH) continue;
      const auto* nd = static_cast<const ndmsg*>(NLMSG_DATA(h));
      if (nd->ndm_ifindex != static_cast<int>(ifindex)) continue;
      auto rta_len = static_cast<unsigned>(RTM_PAYLOAD(h));
      for (auto* a = reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(nd) + NLMSG_ALIGN(sizeof(ndmsg)));
           RTA_OK(a, rta_len); a = RTA_NEXT(a, rta_len)) {
        if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == sizeof(in_addr) &&
            std::memcmp(RTA_DATA(a), &gw, sizeof gw) == 0) {
          state = nd->ndm_state;
        }
      }
    }
  }
}

std::string nud_name(uint16_t state) {
  if (state == 0) return "no neighbour entry";
  for (auto [bit, name] : {std::pair{NUD_REACHABLE, "REACHABLE"}, std::pair{NUD_STALE, "STALE"},
                           std::pair{NUD_DELAY, "DELAY"}, std::pair{NUD_PROBE, "PROBE"},
                           std::pair{NUD_INCOMPLETE, "INCOMPLETE"}, std::pair{NUD_FAILED, "FAILED"},
                           std::pair{NUD_PERMANENT, "PERMANENT"}, std::pair{NUD_NOARP, "NOARP"}}) {
    if ((state & bit) != 0) return fmt::format("neighbour entry {}", name);
  }
  return fmt::format("neighbour state {:#x}", state);
}

constexpr uint16_t kAnswered = NUD_REACHABLE | NUD_PERMANENT | NUD_NOARP;

// Without an ICMP socket: a UDP datagram makes the kernel resolve the gateway; then its
// neighbour entry is watched until it settles or time runs out.
Result<ProbeAnswer> probe_by_arp(const ProbeTarget& t, unsigned ifindex, in_addr src, in_addr gw,
                                 Clock::time_point deadline, const std::string& why_no_icmp) {
  Socket udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!udp.ok()) return fail_errno("socket(UDP)", errno);
  if (auto ok = bind_to(udp.fd(), t, src); !ok) return std::unexpected(std::move(ok.error()));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9);  // discard
  to.sin_addr = gw;
  (void)::sendto(udp.fd(), "", 0, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  uint16_t state = 0;
  while (true) {
    auto st = neighbour_state(ifindex, gw);
    if (!st) return std::unexpected(std::move(st.error()));
    state = *st;
    if ((state & kAnswered) != 0) {
      return ProbeAnswer{.how = ProbeAnswer::How::kArp, .rtt_ms = 0, .detail = nud_name(state) + "; " + why_no_icmp};
    }
    if ((state & NUD_FAILED) != 0) {
      return ProbeAnswer{.how = ProbeAnswer::How::kNone, .rtt_ms = 0, .detail = "ARP failed; " + why_no_icmp};
    }
    if (remaining_ms(deadline) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(20, remaining_ms(deadline))));
  }
  if (state == 0 || (state & NUD_INCOMPLETE) != 0) {
    return ProbeAnswer{.how = ProbeAnswer::How::kNone, .rtt_ms = 0,
                       .detail = nud_name(state) + " (ARP unanswered); " + why_no_icmp};
  }
  return ProbeAnswer{.how = ProbeAnswer::How::kUnknown, .rtt_ms = 0,
                     .detail = fmt::format("cannot tell within {} ms: {} ({})", t.timeout_ms, nud_name(state),
                                           why_no_icmp)};
}

}  // namespace

Result<ProbeAnswer> probe_gateway(const ProbeTarget& t) {
  const unsigned ifindex = t.netdev.empty() || t.netdev.size() >= IFNAMSIZ ? 0 : ::if_nametoindex(t.netdev.c_str());
  if (ifindex == 0) {
    return fail(Errc::kNotFound, fmt::format("{} is not a network interface in this network namespace", t.netdev));
  }
  in_addr src{};
  in_addr gw{};
  if (::inet_pton(AF_INET, t.source.c_str(), &src) != 1) {
    return fail(Errc::kInvalidArgument, fmt::format("source '{}' is not an IPv4 address", t.source));
  }
  if (::inet_pton(AF_INET, t.gateway.c_str(), &gw) != 1) {
    return fail(Errc::kInvalidArgument, fmt::format("gateway '{}' is not an IPv4 address", t.gateway));
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(t.timeout_ms);
  std::string why_no_icmp;
  auto icmp = open_icmp(why_no_icmp);
  if (!icmp) return probe_by_arp(t, ifindex, src, gw, deadline, why_no_icmp);
  if (auto ok = bind_to(icmp->sock.fd(), t, src); !ok) return std::unexpected(std::move(ok.error()));
  auto rtt = echo(*icmp, gw, deadline);
  if (!rtt) return std::unexpected(std::move(rtt.error()));
  if (*rtt) return ProbeAnswer{.how = ProbeAnswer::How::kIcmp, .rtt_ms = **rtt, .detail = {}};
  auto st = neighbour_state(ifindex, gw);
  if (!st) return std::unexpected(std::move(st.error()));
  if ((*st & kAnswered) != 0) {
    return ProbeAnswer{.how = ProbeAnswer::How::kArp, .rtt_ms = 0,
                       .detail = nud_name(*st) + ", but no reply to an ICMP echo"};
  }
  return ProbeAnswer{.how = ProbeAnswer::How::kNone, .rtt_ms = 0,
                     .detail = "no ICMP echo reply; " + nud_name(*st)};
}

}  // namespace railcheck::topology
