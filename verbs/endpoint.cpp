#include "verbs/endpoint.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <random>

#include "verbs/device.hpp"

namespace railcheck::verbs {
unsigned mr_access(const RunSpec& spec) noexcept {
  const OpInfo& op = op_info(spec.op);
  unsigned access = IBV_ACCESS_LOCAL_WRITE | op.remote_access;
  // perftest's rule: relaxed ordering everywhere but the buffer a write ping-pong polls, whose
  // last byte must not land before the rest.
  if (!(spec.kind == TestKind::kLatency && op.latency == LatencyStyle::kPollMemory)) {
    access |= IBV_ACCESS_RELAXED_ORDERING;
  }
  return access;
}

uint32_t rx_depth_for(const RunSpec& spec, uint32_t tx_depth, uint32_t device_max_wr) noexcept {
  if (!op_info(spec.op).uses_receives) return 1;
  // perftest's 512 for streams (a receiver that runs dry costs an RNR NAK and a
  // min_rnr_timer wait); a ping-pong needs only a few batches.
  const uint32_t want = spec.kind == TestKind::kLatency ? 64 : std::max<uint32_t>(kMinStreamRxDepth, tx_depth);
  return device_max_wr > 0 ? std::min(want, device_max_wr) : want;
}

Result<std::unique_ptr<Endpoint>> Endpoint::open(const DeviceSpec& dev, const RunSpec& spec, const MemorySpec& mem,
                                                 const BufferFactory& buffers) {
  auto ctx = open_device(dev.device);
  if (!ctx) return std::unexpected(ctx.error());
  std::unique_ptr<Endpoint> ep(new Endpoint());
  ep->ctx_ = std::move(*ctx);
  ep->port_ = dev.port;
  if (int rc = ibv_query_device(ep->ctx_.get(), &ep->dev_attr_); rc != 0) {
    return fail_errno(fmt::format("ibv_query_device({})", dev.device), rc);
  }
  if (dev.port == 0 || dev.port > ep->dev_attr_.phys_port_cnt) {
    return fail(Errc::kInvalidArgument, fmt::format("port {} of {}", dev.port, dev.device),
                fmt::format("the device has {} port(s)", ep->dev_attr_.phys_port_cnt));
  }
  if (int rc = ibv_query_port(ep->ctx_.get(), dev.port, &ep->port_attr_); rc != 0) {
    return fail_errno(fmt::format("ibv_query_port({}, {})", dev.device, dev.port), rc);
  }
  if (ep->port_attr_.state != IBV_PORT_ACTIVE) {
    return fail(Errc::kUnsupported, fmt::format("{} port {} is {}", dev.device, dev.port, port_state_name(ep->port_attr_.state)),
                "the link must be ACTIVE: check the cable/switch port (rdma link) and the interface (ip link)");
  }
  if (auto ok = ep->choose_gid(dev); !ok) return std::unexpected(ok.error());
  if (op_info(spec.op).shape == WrShape::kAtomic && ep->dev_attr_.atomic_cap == IBV_ATOMIC_NONE) {
    return fail(Errc::kUnsupported, fmt::format("{} does not support atomic operations (atomic_cap NONE)", dev.device),
                "atomic tests need a device with IBV_ATOMIC_HCA or IBV_ATOMIC_GLOB (ibv_devinfo -v)");
  }

  ep->pd_.reset(ibv_alloc_pd(ep->ctx_.get()));
  if (!ep->pd_) return fail_errno(fmt::format("ibv_alloc_pd({})", dev.device), errno);

  ep->tx_depth_ = spec.kind == TestKind::kLatency ? 16 : spec.tx_depth;
  ep->rx_depth_ = rx_depth_for(spec, ep->tx_depth_, static_cast<uint32_t>(ep->dev_attr_.max_qp_wr));
  const int cqe = static_cast<int>(spec.qps * (ep->tx_depth_ + ep->rx_depth_) + 16);
  ep->cq_.reset(ibv_create_cq(ep->ctx_.get(), cqe, nullptr, nullptr, 0));
  if (!ep->cq_) {
    return fail_errno(fmt::format("ibv_create_cq({} entries)", cqe), errno,
                      fmt::format("the device allows {} CQ entries: lower --qps or --tx-depth", ep->dev_attr_.max_cqe));
  }

  const long page = sysconf(_SC_PAGESIZE);
  ep->region_bytes_ = (std::max<uint64_t>(spec.max_size_bytes(), 64) + page - 1) / page * page;
  if (!buffers) {
    return fail(Errc::kInvalidArgument, "no buffer factory given to the engine",
                "set ClientOptions/ServerOptions.buffers (gpudirect::buffer_factory())");
  }
  BufferRequest request{.pd = ep->pd_.get(),
                        .bytes = ep->region_bytes_ * 2 * spec.qps,
                        .access = mr_access(spec),
                        .rdma_device = dev.device,
                        .memory = mem,
                        .gpu_reg = spec.gpu_reg};
  auto buffer = buffers(request);
  if (!buffer && (request.access & IBV_ACCESS_RELAXED_ORDERING) != 0 && buffer.error().code == Errc::kSystem &&
      (buffer.error().sys_errno == EINVAL || buffer.error().sys_errno == EOPNOTSUPP)) {
    // An optional flag a kernel or provider too old to know it may refuse: register without.
    request.access &= ~static_cast<unsigned>(IBV_ACCESS_RELAXED_ORDERING);
    buffer = buffers(request);
  }
  if (!buffer) return std::unexpected(buffer.error());
  ep->relaxed_ordering_ = (request.access & IBV_ACCESS_RELAXED_ORDERING) != 0;
  ep->buffer_ = std::move(*buffer);
  ep->base_ = ep->buffer_->data();
  ep->lkey_ = ep->buffer_->mr()->lkey;

  if (auto ok = ep->create_qps(spec); !ok) return std::unexpected(ok.error());
  return ep;
}

Result<void> Endpoint::choose_gid(const DeviceSpec& dev) {
  const std::string name = ibv_get_device_name(ctx_->device);
  if (port_attr_.link_layer != IBV_LINK_LAYER_ETHERNET) {
    gid_index_ = dev.gid_index < 0 ? 0 : dev.gid_index;
    gid_type_ = GidType::kIb;
    if (port_attr_.lid == 0) {
      return fail(Errc::kUnsupported, fmt::format("{} port {} has no LID", name, port_),
                  "is a subnet manager running on this InfiniBand fabric?");
    }
    if (int rc = ibv_query_gid(ctx_.get(), port_, gid_index_, &gid_); rc != 0) {
      return fail_errno(fmt::format("ibv_query_gid({}, {})", name, gid_index_), rc);
    }
    return {};
  }
  std::vector<ibv_gid_entry> entries(static_cast<size_t>(std::max(port_attr_.gid_tbl_len, 1)) * dev_attr_.phys_port_cnt);
  const ssize_t n = ibv_query_gid_table(ctx_.get(), entries.data(), entries.size(), 0);
  if (n < 0) return fail_errno(fmt::format("ibv_query_gid_table({})", name), static_cast<int>(-n));
  entries.resize(static_cast<size_t>(n));
  std::erase_if(entries, [&](const ibv_gid_entry& e) { return e.port_num != port_; });

  const ibv_gid_entry* chosen = nullptr;
  if (dev.gid_index >= 0) {
    for (const auto& e : entries) {
      if (e.gid_index == static_cast<uint32_t>(dev.gid_index)) chosen = &e;
    }
    if (chosen == nullptr) {
      return fail(Errc::kNotFound, fmt::format("GID index {} on {} port {}", dev.gid_index, name, port_),
                  "that entry is empty: list the valid ones with `railcheck devices`");
    }
  } else {
    for (const auto& e : entries) {
      if (e.gid_type != IBV_GID_TYPE_ROCE_V2) continue;
      auto ip = gid_ipv4(e.gid);
      if (!ip) continue;
      if (dev.ipv4.empty() || *ip == dev.ipv4) {
        chosen = &e;
        break;
      }
    }
    if (chosen == nullptr) {
      return fail(Errc::kNotFound,
                  fmt::format("no RoCEv2 GID {}on {} port {}", dev.ipv4.empty() ? std::string("with an IPv4 address ")
                                                                               : "for " + dev.ipv4 + " ",
                              name, port_),
                  "give the interface an IPv4 address (ip addr), or choose a GID with --gid-index "
                  "(see `railcheck devices`)");
    }
  }
  gid_index_ = static_cast<int>(chosen->gid_index);
  gid_ = chosen->gid;
  gid_type_ = gid_type_from_verbs(chosen->gid_type).value_or(GidType::kRoceV2);
  return {};
}

Result<void> Endpoint::create_qps(const RunSpec& spec) {
  std::mt19937 rng(std::random_device{}());
  for (uint32_t i = 0; i < spec.qps; ++i) {
    ibv_qp_init_attr attr{};
    attr.send_cq = cq_.get();
    attr.recv_cq = cq_.get();
    attr.qp_type = IBV_QPT_RC;
    attr.cap.max_send_wr = tx_depth_ + 1;  // +1: the signaled message that drains a timed stream
    attr.cap.max_recv_wr = rx_depth_;
    attr.cap.max_send_sge = 1;
    attr.cap.max_recv_sge = 1;
    attr.cap.max_inline_data = 220;  // what common NICs and rxe offer; trimmed below if not
    QpPtr qp(ibv_create_qp(pd_.get(), &attr));
    if (!qp) {
      attr.cap.max_inline_data = 0;
      qp.reset(ibv_create_qp(pd_.get(), &attr));
    }
    if (!qp) {
      return fail_errno(fmt::format("ibv_create_qp(RC, {} send / {} recv WRs)", tx_depth_, rx_depth_), errno,
                        fmt::format("the device allows {} WRs per QP and {} QPs: lower --tx-depth or --qps",
                                    dev_attr_.max_qp_wr, dev_attr_.max_qp));
    }
    max_inline_ = buffer_->host_visible() ? attr.cap.max_inline_data : 0;
    ibv_qp_attr init{};
    init.qp_state = IBV_QPS_INIT;
    init.pkey_index = 0;
    init.port_num = port_;
    init.qp_access_flags = op_info(spec.op).remote_access;
    if (int rc = ibv_modify_qp(qp.get(), &init, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
        rc != 0) {
      return fail_errno("ibv_modify_qp(INIT)", rc);
    }
    qps_.push_back(std::move(qp));
    psns_.push_back(rng() & 0xffffff);
    posted_recvs_.push_back(0);
  }
  return {};
}

EndpointInfo Endpoint::info() const {
  EndpointInfo info{.device = ibv_get_device_name(ctx_->device),
                    .link_layer = std::string(link_layer_name(port_attr_.link_layer)),
                    .lid = port_attr_.lid,
                    .gid = gid_to_string(gid_),
                    .gid_index = gid_index_,
                    .gid_type = std::string(to_string(gid_type_)),
                    .mtu_bytes = mtu_bytes(port_attr_.active_mtu),
                    .rkey = buffer_->mr()->rkey,
                    .rx_addr = reinterpret_cast<uint64_t>(rx(0)),
                    .region_bytes = region_bytes_,
                    .qps = {},
                    .memory = buffer_->info()};
  for (size_t i = 0; i < qps_.size(); ++i) info.qps.push_back({qps_[i]->qp_num, psns_[i]});
  return info;
}

Result<void> Endpoint::connect(const EndpointInfo& remote) {
  if (remote.qps.size() != qps_.size()) {
    return fail(Errc::kPeer, fmt::format("peer has {} QPs, this side {}", remote.qps.size(), qps_.size()));
  }
  if (remote.link_layer != link_layer_name(port_attr_.link_layer)) {
    return fail(Errc::kPeer, fmt::format("link layers differ: {} here, {} on the peer",
                                         link_layer_name(port_attr_.link_layer), remote.link_layer),
                "both ends of a rail must be RoCE or both InfiniBand");
  }
  if (remote.gid_type != to_string(gid_type_)) {
    return fail(Errc::kPeer, fmt::format("GID types differ: {} here (index {}), {} on the peer (index {})",
                                         to_string(gid_type_), gid_index_, remote.gid_type, remote.gid_index),
                "use the same RoCE version on both sides (--gid-index)");
  }
  ibv_gid remote_gid{};
  if (inet_pton(AF_INET6, remote.gid.c_str(), remote_gid.raw) != 1) {
    return fail(Errc::kProtocol, fmt::format("peer sent GID \"{}\"", remote.gid));
  }
  auto mtu = mtu_from_bytes(std::min(remote.mtu_bytes, mtu_bytes(port_attr_.active_mtu)));
  if (!mtu) return fail(Errc::kPeer, fmt::format("peer sent MTU {}", remote.mtu_bytes), "MTU must be 256..4096");
  path_mtu_bytes_ = mtu_bytes(*mtu);
  remote_ = remote;
  const bool roce = port_attr_.link_layer == IBV_LINK_LAYER_ETHERNET;
  const uint8_t rd_atomic = static_cast<uint8_t>(std::clamp(dev_attr_.max_qp_rd_atom, 1, 16));
  for (size_t i = 0; i < qps_.size(); ++i) {
    ibv_qp_attr rtr{};
    rtr.qp_state = IBV_QPS_RTR;
    rtr.path_mtu = *mtu;
    rtr.dest_qp_num = remote.qps[i].qpn;
    rtr.rq_psn = remote.qps[i].psn;
    rtr.max_dest_rd_atomic = rd_atomic;
    rtr.min_rnr_timer = 12;  // 0.64 ms
    rtr.ah_attr.port_num = port_;
    rtr.ah_attr.dlid = remote.lid;
    if (roce) {
      rtr.ah_attr.is_global = 1;
      rtr.ah_attr.grh.dgid = remote_gid;
      rtr.ah_attr.grh.sgid_index = static_cast<uint8_t>(gid_index_);
      rtr.ah_attr.grh.hop_limit = 64;
    }
    if (int rc = ibv_modify_qp(qps_[i].get(), &rtr,
                               IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                                   IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
        rc != 0) {
      return fail_errno("ibv_modify_qp(RTR)", rc,
                        roce ? "check the GIDs of both sides (railcheck devices) and the route to the peer"
                             : "check the peer's LID and the subnet manager");
    }
    ibv_qp_attr rts{};
    rts.qp_state = IBV_QPS_RTS;
    rts.timeout = 14;    // 4.096 us * 2^14 = 67 ms per try
    rts.retry_cnt = 7;
    rts.rnr_retry = 7;   // infinite: a slow receiver is waited for, not failed
    rts.sq_psn = psns_[i];
    rts.max_rd_atomic = rd_atomic;
    if (int rc = ibv_modify_qp(qps_[i].get(), &rts,
                               IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
                                   IBV_QP_MAX_QP_RD_ATOMIC);
        rc != 0) {
      return fail_errno("ibv_modify_qp(RTS)", rc);
    }
  }
  return {};
}

nlohmann::json to_json(const EndpointInfo& info) {
  nlohmann::json qps = nlohmann::json::array();
  for (const QpAddress& q : info.qps) qps.push_back({{"qpn", q.qpn}, {"psn", q.psn}});
  return {{"device", info.device},   {"link_layer", info.link_layer},     {"lid", info.lid},
          {"gid", info.gid},         {"gid_index", info.gid_index},       {"gid_type", info.gid_type},
          {"mtu", info.mtu_bytes},   {"rkey", info.rkey},                 {"rx_addr", info.rx_addr},
          {"region_bytes", info.region_bytes}, {"qps", std::move(qps)}, {"memory", to_json(info.memory)}};
}

Result<EndpointInfo> endpoint_from_json(const nlohmann::json& j) {
  try {
    EndpointInfo info{.device = j.at("device"),
                      .link_layer = j.at("link_layer"),
                      .lid = j.at("lid"),
                      .gid = j.at("gid"),
                      .gid_index = j.at("gid_index"),
                      .gid_type = j.at("gid_type"),
                      .mtu_bytes = j.at("mtu"),
                      .rkey = j.at("rkey"),
                      .rx_addr = j.at("rx_addr"),
                      .region_bytes = j.at("region_bytes"),
                      .qps = {},
                      .memory = {}};
    for (const auto& q : j.at("qps")) info.qps.push_back({q.at("qpn"), q.at("psn")});
    auto memory = memory_info_from_json(j.at("memory"));
    if (!memory) return std::unexpected(memory.error());
    info.memory = std::move(*memory);
    return info;
  } catch (const nlohmann::json::exception& e) {
    return fail(Errc::kProtocol, fmt::format("peer's endpoint description: {}", e.what()),
                "is the peer a railcheck of the same version?");
  }
}

}  // namespace railcheck::verbs
