#include "verbs/addressing.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace railcheck::verbs {
namespace {

// The upper 64 bits of an IB GID: the subnet prefix.
bool same_subnet(const ibv_gid& a, const ibv_gid& b) noexcept { return std::memcmp(a.raw, b.raw, 8) == 0; }

bool zero(const ibv_gid& g) noexcept {
  return std::all_of(std::begin(g.raw), std::end(g.raw), [](uint8_t b) { return b == 0; });
}

// An IP address in the GID form a RoCEv2 entry carries it in (IPv4: ::ffff:a.b.c.d).
std::optional<ibv_gid> ip_as_gid(const std::string& ip) {
  ibv_gid g{};
  in_addr v4{};
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) {
    g.raw[10] = 0xff;
    g.raw[11] = 0xff;
    std::memcpy(g.raw + 12, &v4, 4);
    return g;
  }
  if (inet_pton(AF_INET6, ip.c_str(), g.raw) == 1) return g;
  return std::nullopt;
}

bool ipv4_mapped(const ibv_gid& g) noexcept {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(g.raw, kPrefix, sizeof kPrefix) == 0;
}

}  // namespace

bool link_local(const ibv_gid& gid) noexcept { return gid.raw[0] == 0xfe && (gid.raw[1] & 0xc0) == 0x80; }

bool needs_grh(const LocalPort& local, const RemotePort& remote) noexcept {
  if (local.roce || local.grh_required || local.gid_index_given) return true;
  // A peer that sent no GID (all zero) is on this subnet as far as we can tell.
  return !zero(remote.gid) && !same_subnet(local.gid, remote.gid);
}

uint8_t initiator_depth(const LocalPort& local, const RemotePort& remote) noexcept {
  int depth = local.max_qp_init_rd_atom;
  if (remote.max_qp_rd_atom > 0) depth = std::min(depth, remote.max_qp_rd_atom);
  return static_cast<uint8_t>(std::clamp(depth, 1, 255));
}

uint8_t responder_resources(const LocalPort& local) noexcept {
  return static_cast<uint8_t>(std::clamp(local.max_qp_rd_atom, 1, 255));
}

Result<QpTransition> rtr_transition(const LocalPort& local, const RemotePort& remote, const PathSpec& path,
                                    uint32_t dest_qpn, uint32_t rq_psn) {
  auto mtu = mtu_from_bytes(std::min(remote.active_mtu_bytes, local.active_mtu_bytes));
  if (!mtu) {
    return fail(Errc::kPeer, fmt::format("path MTU of min({}, {}) bytes", local.active_mtu_bytes, remote.active_mtu_bytes),
                "both ports' active MTU must be 256..4096 (ibv_devinfo: active_mtu)");
  }
  QpTransition t;
  ibv_qp_attr& a = t.attr;
  a.qp_state = IBV_QPS_RTR;
  a.path_mtu = *mtu;
  a.dest_qp_num = dest_qpn;
  a.rq_psn = rq_psn;
  a.max_dest_rd_atomic = responder_resources(local);
  a.min_rnr_timer = 12;  // 0.64 ms, as perftest
  a.ah_attr.port_num = local.port_num;
  a.ah_attr.sl = path.sl;
  a.ah_attr.dlid = local.roce ? 0 : remote.lid;
  if (needs_grh(local, remote)) {
    a.ah_attr.is_global = 1;
    a.ah_attr.grh.dgid = remote.gid;
    a.ah_attr.grh.sgid_index = static_cast<uint8_t>(local.gid_index);
    a.ah_attr.grh.hop_limit = path.hop_limit;
    a.ah_attr.grh.traffic_class = path.tclass;
    a.ah_attr.grh.flow_label = path.flow_label;
  }
  t.mask = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
           IBV_QP_MIN_RNR_TIMER;
  return t;
}

QpTransition rts_transition(const LocalPort& local, const RemotePort& remote, uint32_t sq_psn) {
  QpTransition t;
  ibv_qp_attr& a = t.attr;
  a.qp_state = IBV_QPS_RTS;
  a.timeout = 14;    // 4.096 us * 2^14 = 67 ms per try
  a.retry_cnt = 7;
  a.rnr_retry = 7;   // infinite: a slow receiver is waited for, not failed
  a.sq_psn = sq_psn;
  a.max_rd_atomic = initiator_depth(local, remote);
  t.mask = IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC;
  return t;
}

Result<uint16_t> choose_pkey_index(std::span<const uint16_t> table, std::optional<uint16_t> wanted) {
  if (table.empty()) return uint16_t{0};
  constexpr uint16_t kFull = 0x8000;
  if (wanted) {
    const uint16_t base = *wanted & 0x7fff;
    // The full-member entry of that pkey, else the exact value asked for (a limited member).
    for (size_t i = 0; i < table.size(); ++i) {
      if (table[i] == (base | kFull)) return static_cast<uint16_t>(i);
    }
    for (size_t i = 0; i < table.size(); ++i) {
      if (table[i] == *wanted) return static_cast<uint16_t>(i);
    }
    return fail(Errc::kNotFound, fmt::format("pkey {:#06x} is not in the port's pkey table", *wanted),
                "is the pod on the network's partition (ib-kubernetes: the network's pkey, the SM's partitions.conf)?");
  }
  for (size_t i = 0; i < table.size(); ++i) {
    if ((table[i] & kFull) != 0 && (table[i] & 0x7fff) != 0) return static_cast<uint16_t>(i);
  }
  return fail(Errc::kNotFound, "no full-member pkey in the port's pkey table",
              "give the network's pkey (--pkey), or ask the SM admin for full membership");
}

std::string gid_address(const std::string& gid) {
  if (gid.starts_with("::ffff:") && gid.find('.') != std::string::npos) return gid.substr(7);
  if (gid.starts_with("fe80:") || gid == "::" || gid.empty()) return {};
  return gid;
}

Result<GidEntry> choose_roce_gid(std::span<const GidEntry> entries, const std::string& want_ip, bool ipv6) {
  const auto global_v6 = [](const GidEntry& e) {
    return e.type == GidType::kRoceV2 && !ipv4_mapped(e.gid) && !link_local(e.gid) && !zero(e.gid);
  };
  std::optional<ibv_gid> want;
  if (!want_ip.empty()) {
    want = ip_as_gid(want_ip);
    if (!want) return fail(Errc::kInvalidArgument, fmt::format("address \"{}\"", want_ip), "an IPv4 or IPv6 address");
  }
  if (want && !(ipv6 && ipv4_mapped(*want))) {
    for (const GidEntry& e : entries) {
      if (e.type == GidType::kRoceV2 && std::memcmp(e.gid.raw, want->raw, 16) == 0) return e;
    }
    return fail(Errc::kNotFound, fmt::format("no RoCEv2 GID for {}", want_ip),
                "the interface's address must be in the RDMA device's GID table (rdma link; ip addr): is the "
                "address on the RDMA interface itself?");
  }
  if (ipv6) {
    if (auto it = std::ranges::find_if(entries, global_v6); it != entries.end()) return *it;
    return fail(Errc::kNotFound, "no RoCEv2 GID with a global IPv6 address (--ipv6)",
                "give the RDMA interface a global IPv6 address (ip -6 addr), or leave --ipv6 out for its IPv4 GID");
  }
  for (const GidEntry& e : entries) {
    if (e.type == GidType::kRoceV2 && ipv4_mapped(e.gid)) return e;
  }
  if (auto it = std::ranges::find_if(entries, global_v6); it != entries.end()) return *it;
  return fail(Errc::kNotFound, "no RoCEv2 GID with an IPv4 or global IPv6 address",
              "give the interface an address (ip addr), or choose a GID with --gid-index (see `railcheck devices`)");
}

Result<void> check_gid_families(const ibv_gid& local, const ibv_gid& remote) {
  if (ipv4_mapped(local) == ipv4_mapped(remote)) return {};
  return fail(Errc::kPeer, fmt::format("the ends' GIDs are of different IP families: {} here, {} on the peer",
                                       gid_to_string(local), gid_to_string(remote)),
              "give both ends the same family: --ipv6 (both take their IPv6 GID), or --gid-index on each side");
}

}  // namespace railcheck::verbs
