#include "verbs/cm.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace railcheck::verbs {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Event {
  rdma_cm_event_type type;
  rdma_cm_id* id;
  int status;
  uint32_t qp_index;  // from the request's private data; UINT32_MAX when absent
};

Result<sockaddr_storage> ip_addr(const std::string& ip, uint16_t port) {
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
  } else if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
  } else {
    return fail(Errc::kInvalidArgument, fmt::format("rdma_cm address \"{}\"", ip), "an IPv4 or IPv6 address is needed");
  }
  return ss;
}

Result<CmEventChannelPtr> make_channel() {
  CmEventChannelPtr ch(rdma_create_event_channel());
  if (!ch) return fail_errno("rdma_create_event_channel", errno, "is the rdma_ucm module loaded?");
  const int flags = fcntl(ch->fd, F_GETFL);
  fcntl(ch->fd, F_SETFL, flags | O_NONBLOCK);
  return ch;
}

// A CM id on the channel whose connections carry the spec's traffic class (RoCEv2: the IP
// DSCP/ECN byte), set before the address is bound or resolved as librdmacm requires.
Result<CmIdPtr> make_id(rdma_event_channel* ch, const PathSpec& path) {
  rdma_cm_id* raw = nullptr;
  if (rdma_create_id(ch, &raw, nullptr, RDMA_PS_TCP) != 0) return fail_errno("rdma_create_id", errno);
  CmIdPtr id(raw);
  uint8_t tos = path.tclass;
  if (rdma_set_option(raw, RDMA_OPTION_ID, RDMA_OPTION_ID_TOS, &tos, sizeof tos) != 0) {
    return fail_errno(fmt::format("rdma_set_option(TOS {})", tos), errno);
  }
  return id;
}

// The next event on the channel within the deadline; acked before returning.
Result<Event> next_event(rdma_event_channel* ch, SteadyClock::time_point deadline) {
  for (;;) {
    rdma_cm_event* ev = nullptr;
    if (rdma_get_cm_event(ch, &ev) == 0) {
      Event e{.type = ev->event, .id = ev->id, .status = ev->status, .qp_index = UINT32_MAX};
      if (ev->param.conn.private_data != nullptr && ev->param.conn.private_data_len >= sizeof(uint32_t)) {
        std::memcpy(&e.qp_index, ev->param.conn.private_data, sizeof(uint32_t));
      }
      rdma_ack_cm_event(ev);
      return e;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) return fail_errno("rdma_get_cm_event", errno);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
    if (left <= 0) return fail(Errc::kTimeout, "waiting for an rdma_cm event");
    pollfd p{.fd = ch->fd, .events = POLLIN, .revents = 0};
    ::poll(&p, 1, static_cast<int>(left));
  }
}

Result<Event> expect_event(rdma_event_channel* ch, rdma_cm_event_type want, SteadyClock::time_point deadline,
                           const char* step) {
  auto e = next_event(ch, deadline);
  if (!e) {
    e.error().what = fmt::format("rdma_cm {}: {}", step, e.error().what);
    return e;
  }
  if (e->type != want) {
    return fail(Errc::kPeer,
                fmt::format("rdma_cm {}: got {} (status {}) instead of {}", step, rdma_event_str(e->type), e->status,
                            rdma_event_str(want)),
                e->type == RDMA_CM_EVENT_REJECTED ? "the server refused the connection: is it running railcheck serve?"
                : e->type == RDMA_CM_EVENT_ADDR_ERROR || e->type == RDMA_CM_EVENT_ROUTE_ERROR
                    ? "no route to the peer's RDMA address over this device: check the rail's IP and routes"
                    : "");
  }
  return e;
}

// Moves QP `qp` to `state` with the attributes rdma_cm computed for `id`: INIT again with the
// CM's pkey index (the path's partition) but the op's access flags; RTR with the CM's path and
// this side's responder resources; RTS with the initiator depth both sides allow.
Result<void> cm_transition(rdma_cm_id* id, ibv_qp* qp, ibv_qp_state state, uint32_t* path_mtu_bytes,
                           const LocalPort& local, const RemotePort& remote, unsigned access) {
  ibv_qp_attr attr{};
  int mask = 0;
  attr.qp_state = state;
  if (rdma_init_qp_attr(id, &attr, &mask) != 0) return fail_errno("rdma_init_qp_attr", errno);
  if (state == IBV_QPS_INIT) attr.qp_access_flags = access;
  if (state == IBV_QPS_RTR) {
    if ((mask & IBV_QP_MAX_DEST_RD_ATOMIC) != 0) attr.max_dest_rd_atomic = responder_resources(local);
    if (path_mtu_bytes != nullptr) *path_mtu_bytes = mtu_bytes(attr.path_mtu);
  }
  if (state == IBV_QPS_RTS && (mask & IBV_QP_MAX_QP_RD_ATOMIC) != 0) attr.max_rd_atomic = initiator_depth(local, remote);
  if (int rc = ibv_modify_qp(qp, &attr, mask); rc != 0) {
    return fail_errno(fmt::format("ibv_modify_qp({}) with rdma_cm attributes",
                                  state == IBV_QPS_INIT ? "INIT" : state == IBV_QPS_RTR ? "RTR" : "RTS"),
                      rc);
  }
  return {};
}

Result<void> same_device(rdma_cm_id* id, const Endpoint& ep, const std::string& ip) {
  const std::string cm_dev = id->verbs != nullptr ? ibv_get_device_name(id->verbs->device) : "none";
  if (cm_dev != ep.info().device) {
    return fail(Errc::kInvalidArgument,
                fmt::format("rdma_cm maps {} to device {}, but the test runs on {}", ip, cm_dev, ep.info().device),
                "choose the device that owns this address (or drop --device and let --rail/--netdev choose)");
  }
  return {};
}

// The peer's port as the addressing functions take it (its read limit is what matters here).
RemotePort remote_port(const EndpointInfo& remote) {
  return RemotePort{.lid = remote.lid, .gid = {}, .active_mtu_bytes = remote.mtu_bytes, .max_qp_rd_atom = remote.max_qp_rd_atom};
}

// Each QP through INIT (again), RTR and RTS with the CM's attributes.
Result<void> cm_ready(rdma_cm_id* id, Endpoint& ep, size_t q, const EndpointInfo& remote, uint32_t& path_mtu) {
  const LocalPort local = ep.local_port();
  const unsigned access = ep.qp_access();
  for (ibv_qp_state s : {IBV_QPS_INIT, IBV_QPS_RTR, IBV_QPS_RTS}) {
    if (auto ok = cm_transition(id, ep.qp(q), s, &path_mtu, local, remote_port(remote), access); !ok) return ok;
  }
  return {};
}

rdma_conn_param conn_param(const Endpoint& ep, size_t qp, const uint32_t* index, const EndpointInfo& remote) {
  rdma_conn_param p{};
  p.private_data = index;
  p.private_data_len = index != nullptr ? sizeof(*index) : 0;
  // Within librdmacm's bounds: a byte each, and what both devices allow.
  p.responder_resources = responder_resources(ep.local_port());
  p.initiator_depth = initiator_depth(ep.local_port(), remote_port(remote));
  p.retry_count = 7;
  p.rnr_retry_count = 7;
  p.qp_num = ep.qp(qp)->qp_num;
  return p;
}

}  // namespace

Result<CmConnections> cm_listen(const std::string& ip, const PathSpec& path) {
  auto addr = ip_addr(ip, 0);
  if (!addr) return std::unexpected(addr.error());
  auto ch = make_channel();
  if (!ch) return std::unexpected(ch.error());
  CmConnections cm{.channel = std::move(*ch), .listen_id = {}, .ids = {}};
  auto id = make_id(cm.channel.get(), path);
  if (!id) return std::unexpected(id.error());
  cm.listen_id = std::move(*id);
  rdma_cm_id* raw = cm.listen_id.get();
  if (rdma_bind_addr(raw, reinterpret_cast<sockaddr*>(&*addr)) != 0) {
    return fail_errno(fmt::format("rdma_bind_addr({})", ip), errno, "is the address on an RDMA-capable interface?");
  }
  if (rdma_listen(raw, 16) != 0) return fail_errno("rdma_listen", errno);
  return cm;
}

uint16_t cm_port(const CmConnections& cm) { return ntohs(rdma_get_src_port(cm.listen_id.get())); }

Result<void> cm_accept(CmConnections& cm, Endpoint& ep, const EndpointInfo& remote, Millis timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  std::vector<bool> seen(ep.qp_count(), false);
  uint32_t path_mtu = 0;
  for (size_t k = 0; k < ep.qp_count(); ++k) {
    auto req = expect_event(cm.channel.get(), RDMA_CM_EVENT_CONNECT_REQUEST, deadline, "accept");
    if (!req) return std::unexpected(req.error());
    cm.ids.emplace_back(req->id);
    const uint32_t q = req->qp_index;
    if (q >= ep.qp_count() || seen[q]) {
      rdma_reject(req->id, nullptr, 0);
      return fail(Errc::kProtocol, fmt::format("rdma_cm request for QP index {} (this side has {})", q, ep.qp_count()));
    }
    seen[q] = true;
    if (auto ok = same_device(req->id, ep, "the listening address"); !ok) return ok;
    if (auto ok = cm_ready(req->id, ep, q, remote, path_mtu); !ok) return ok;
    rdma_conn_param p = conn_param(ep, q, nullptr, remote);
    if (rdma_accept(req->id, &p) != 0) return fail_errno("rdma_accept", errno);
    if (auto est = expect_event(cm.channel.get(), RDMA_CM_EVENT_ESTABLISHED, deadline, "accept"); !est) {
      return std::unexpected(est.error());
    }
  }
  ep.set_path_mtu(path_mtu);
  return {};
}

namespace {

// One QP's connection: address and route resolved (with the spec's TOS), REQ/REP, RTS, RTU.
Result<void> connect_one(CmConnections& cm, Endpoint& ep, uint32_t q, const sockaddr_storage& src,
                         const sockaddr_storage& dst, const std::string& src_ip, const std::string& dst_ip,
                         const PathSpec& path, const EndpointInfo& remote, SteadyClock::time_point deadline,
                         int step_ms, uint32_t& path_mtu) {
  auto id = make_id(cm.channel.get(), path);
  if (!id) return std::unexpected(id.error());
  rdma_cm_id* raw = id->get();
  cm.ids.push_back(std::move(*id));
  if (rdma_resolve_addr(raw, const_cast<sockaddr*>(reinterpret_cast<const sockaddr*>(&src)),
                        const_cast<sockaddr*>(reinterpret_cast<const sockaddr*>(&dst)), step_ms) != 0) {
    return fail_errno(fmt::format("rdma_resolve_addr({} -> {})", src_ip, dst_ip), errno);
  }
  if (auto e = expect_event(cm.channel.get(), RDMA_CM_EVENT_ADDR_RESOLVED, deadline, "resolve address"); !e) {
    return std::unexpected(e.error());
  }
  if (auto ok = same_device(raw, ep, src_ip); !ok) return ok;
  if (rdma_resolve_route(raw, step_ms) != 0) return fail_errno("rdma_resolve_route", errno);
  if (auto e = expect_event(cm.channel.get(), RDMA_CM_EVENT_ROUTE_RESOLVED, deadline, "resolve route"); !e) {
    return std::unexpected(e.error());
  }
  rdma_conn_param p = conn_param(ep, q, &q, remote);
  if (rdma_connect(raw, &p) != 0) return fail_errno("rdma_connect", errno);
  if (auto e = expect_event(cm.channel.get(), RDMA_CM_EVENT_CONNECT_RESPONSE, deadline, "connect"); !e) {
    return std::unexpected(e.error());
  }
  if (auto ok = cm_ready(raw, ep, q, remote, path_mtu); !ok) return ok;
  if (rdma_establish(raw) != 0) return fail_errno("rdma_establish", errno);
  return {};
}

}  // namespace

Result<CmConnections> cm_connect(Endpoint& ep, const std::string& src_ip, const std::string& dst_ip, uint16_t port,
                                 const PathSpec& path, const EndpointInfo& remote, Millis timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  auto src = ip_addr(src_ip, 0);
  if (!src) return std::unexpected(src.error());
  auto dst = ip_addr(dst_ip, port);
  if (!dst) return std::unexpected(dst.error());
  auto ch = make_channel();
  if (!ch) return std::unexpected(ch.error());
  CmConnections cm{.channel = std::move(*ch), .listen_id = {}, .ids = {}};
  const int step_ms = static_cast<int>(std::min<int64_t>(timeout.count(), 5000));
  uint32_t path_mtu = 0;
  for (uint32_t q = 0; q < ep.qp_count(); ++q) {
    if (auto ok = connect_one(cm, ep, q, *src, *dst, src_ip, dst_ip, path, remote, deadline, step_ms, path_mtu); !ok) {
      return std::unexpected(ok.error());
    }
  }
  ep.set_path_mtu(path_mtu);
  return cm;
}

}  // namespace railcheck::verbs
