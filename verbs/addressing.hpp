#pragma once
// How a QP reaches its peer, as pure functions of facts: the local port (its attributes and
// the device's limits), the peer's endpoint (what it sent in the handshake) and the run spec.
// Endpoint::connect() applies what these return; every hardware decision of the connection is
// here, tested with tables of cases taken from rc_pingpong.c, perftest and NCCL's net_ib.
//
//   - InfiniBand: a GRH when the port requires one (IBV_QPF_GRH_REQUIRED: SR-IOV VFs), when
//     the peer's subnet prefix differs, or when a GID index was asked for; the LID otherwise.
//     RoCE: always a GRH (the GID is the address).
//   - Traffic class, service level, flow label from the spec (both sides run the same spec),
//     hop limit 255 (NCCL's, perftest's default).
//   - Outstanding reads/atomics: min(this side's max_qp_init_rd_atom, the peer's
//     max_qp_rd_atom); this side serves its own max_qp_rd_atom.
//   - The pkey index of the network's pkey, else the first full-member entry.
//   - The RoCEv2 GID of the rail's address (IPv4-mapped or IPv6), else a global one.

#include <infiniband/verbs.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "verbs/port_attrs.hpp"
#include "verbs/spec.hpp"

namespace railcheck::verbs {

// What this side knows of its own port and device.
struct LocalPort {
  uint8_t port_num = 1;
  bool roce = true;              // link layer Ethernet
  bool grh_required = false;     // ibv_port_attr.flags & IBV_QPF_GRH_REQUIRED
  uint16_t lid = 0;
  ibv_gid gid{};                 // the chosen source GID
  int gid_index = 0;
  bool gid_index_given = false;  // --gid-index: use the GRH on IB too
  uint32_t active_mtu_bytes = 0;
  int max_qp_rd_atom = 1;        // reads/atomics this side serves as responder (ibv_device_attr)
  int max_qp_init_rd_atom = 1;   // reads/atomics this side may have outstanding as initiator
};

// What the peer sent of its port (its endpoint info, verbs/endpoint.hpp).
struct RemotePort {
  uint16_t lid = 0;
  ibv_gid gid{};
  uint32_t active_mtu_bytes = 0;
  int max_qp_rd_atom = 0;        // 0: not sent (an older peer): this side's limit alone
};

// Whether the address vector carries a GRH: always on RoCE; on IB when the port requires it,
// when a GID index was asked for, or when the GIDs' subnet prefixes differ (another subnet:
// routed through an IB router).
bool needs_grh(const LocalPort& local, const RemotePort& remote) noexcept;

// The outstanding reads/atomics as initiator: min(own init limit, peer's responder limit),
// at least 1 and at most 255 (the attribute is a byte).
uint8_t initiator_depth(const LocalPort& local, const RemotePort& remote) noexcept;
// The reads/atomics served as responder: own max_qp_rd_atom, 1..255.
uint8_t responder_resources(const LocalPort& local) noexcept;

struct QpTransition {
  ibv_qp_attr attr{};
  int mask = 0;
};

// INIT -> RTR for one QP, to the peer's QP `dest_qpn` starting at its `rq_psn`.
Result<QpTransition> rtr_transition(const LocalPort& local, const RemotePort& remote, const PathSpec& path,
                                    uint32_t dest_qpn, uint32_t rq_psn);
// RTR -> RTS: this side's send PSN; timeouts and retries as perftest's defaults.
QpTransition rts_transition(const LocalPort& local, const RemotePort& remote, uint32_t sq_psn);

// The pkey index to use: the entry of `wanted` (the network's pkey; the membership bit is
// compared too, a full member preferred), else the first full-member entry (bit 15 set). An
// empty table (RoCE ports report none) is index 0. No full member and no match: kNotFound.
Result<uint16_t> choose_pkey_index(std::span<const uint16_t> table, std::optional<uint16_t> wanted);

// One GID table entry as the choice needs it.
struct GidEntry {
  uint32_t index = 0;
  GidType type = GidType::kRoceV2;
  ibv_gid gid{};
};
// The RoCE GID to use: with `want_ip` (the rail's address, IPv4 or IPv6), the RoCEv2 entry
// carrying it; without, the first IPv4-mapped RoCEv2 entry, else the first global IPv6 one
// (never a link-local fe80:: one). With `ipv6` (the spec's --ipv6, the same on both ends, as
// perftest's --ipv6) a global IPv6 entry: the one of `want_ip` when it is IPv6, else the first;
// an IPv4 `want_ip` then only names the interface, whose IPv6 address is wanted.
// kNotFound says what the table has.
Result<GidEntry> choose_roce_gid(std::span<const GidEntry> entries, const std::string& want_ip, bool ipv6 = false);

// The rail address a GID's text form carries: an IPv4-mapped one ("::ffff:10.0.1.11") as the
// IPv4 address, a global IPv6 one as it is, a link-local or zero one as "".
std::string gid_address(const std::string& gid);

// RoCEv2 routes a packet by its GIDs as IP addresses: an IPv4-mapped GID cannot reach an IPv6
// one (perftest's ctx_check_gid_compatibility refuses the pair too). kPeer names both and the fix.
Result<void> check_gid_families(const ibv_gid& local, const ibv_gid& remote);

// Whether an entry's GID is IPv6 link-local (fe80::/10).
bool link_local(const ibv_gid& gid) noexcept;

}  // namespace railcheck::verbs
