#include "verbs/endpoint.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <infiniband/mlx5dv.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <span>

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
  if (auto ok = ep->query_port(dev, spec); !ok) return std::unexpected(ok.error());

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
  if (auto ok = ep->make_buffer(dev, spec, mem, buffers); !ok) return std::unexpected(ok.error());
  if (auto ok = ep->create_qps(spec); !ok) return std::unexpected(ok.error());
  return ep;
}

Result<void> Endpoint::query_port(const DeviceSpec& dev, const RunSpec& spec) {
  port_ = dev.port;
  if (int rc = ibv_query_device(ctx_.get(), &dev_attr_); rc != 0) {
    return fail_errno(fmt::format("ibv_query_device({})", dev.device), rc);
  }
  if (dev.port == 0 || dev.port > dev_attr_.phys_port_cnt) {
    return fail(Errc::kInvalidArgument, fmt::format("port {} of {}", dev.port, dev.device),
                fmt::format("the device has {} port(s)", dev_attr_.phys_port_cnt));
  }
  if (int rc = ibv_query_port(ctx_.get(), dev.port, &port_attr_); rc != 0) {
    return fail_errno(fmt::format("ibv_query_port({}, {})", dev.device, dev.port), rc);
  }
  if (port_attr_.state != IBV_PORT_ACTIVE) {
    return fail(Errc::kSystem, fmt::format("{} port {} is {}", dev.device, dev.port, port_state_name(port_attr_.state)),
                "the link must be ACTIVE: check the cable/switch port (rdma link) and the interface (ip link)");
  }
  if (auto ok = choose_gid(dev, spec.path.ipv6); !ok) return ok;
  if (auto ok = choose_pkey(dev); !ok) return ok;
  if (op_info(spec.op).shape == WrShape::kAtomic && dev_attr_.atomic_cap == IBV_ATOMIC_NONE) {
    return fail(Errc::kUnsupported, fmt::format("{} does not support atomic operations (atomic_cap NONE)", dev.device),
                "atomic tests need a device with IBV_ATOMIC_HCA or IBV_ATOMIC_GLOB (ibv_devinfo -v)");
  }
  return {};
}

Result<void> Endpoint::make_buffer(const DeviceSpec& dev, const RunSpec& spec, const MemorySpec& mem,
                                   const BufferFactory& buffers) {
  const long page = sysconf(_SC_PAGESIZE);
  region_bytes_ = (std::max<uint64_t>(spec.max_size_bytes(), 64) + page - 1) / page * page;
  if (!buffers) {
    return fail(Errc::kInvalidArgument, "no buffer factory given to the engine",
                "set ClientOptions/ServerOptions.buffers (gpudirect::buffer_factory())");
  }
  BufferRequest request{.pd = pd_.get(),
                        .bytes = region_bytes_ * 2 * spec.qps,
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
  relaxed_ordering_ = (request.access & IBV_ACCESS_RELAXED_ORDERING) != 0;
  buffer_ = std::move(*buffer);
  base_ = buffer_->data();
  lkey_ = buffer_->mr()->lkey;
  return {};
}

Result<void> Endpoint::choose_gid(const DeviceSpec& dev, bool ipv6) {
  const std::string name = ibv_get_device_name(ctx_->device);
  gid_index_given_ = dev.gid_index >= 0;
  if (dev.gid_index >= port_attr_.gid_tbl_len) {
    return fail(Errc::kInvalidArgument, fmt::format("GID index {} on {} port {}", dev.gid_index, name, port_),
                fmt::format("the GID table has {} entries (0..{}): list the valid ones with `railcheck devices`",
                            port_attr_.gid_tbl_len, port_attr_.gid_tbl_len - 1));
  }
  if (port_attr_.link_layer != IBV_LINK_LAYER_ETHERNET) {
    gid_index_ = std::max(dev.gid_index, 0);
    gid_type_ = GidType::kIb;
    if (port_attr_.lid == 0 && (port_attr_.flags & IBV_QPF_GRH_REQUIRED) == 0) {
      return fail(Errc::kUnsupported, fmt::format("{} port {} has no LID", name, port_),
                  "is a subnet manager running on this InfiniBand fabric?");
    }
    if (int rc = ibv_query_gid(ctx_.get(), port_, gid_index_, &gid_); rc != 0) {
      return fail_errno(fmt::format("ibv_query_gid({}, {})", name, gid_index_), rc);
    }
    return {};
  }
  std::vector<ibv_gid_entry> raw(static_cast<size_t>(std::max(port_attr_.gid_tbl_len, 1)) * dev_attr_.phys_port_cnt);
  const ssize_t n = ibv_query_gid_table(ctx_.get(), raw.data(), raw.size(), 0);
  if (n < 0) return fail_errno(fmt::format("ibv_query_gid_table({})", name), static_cast<int>(-n));
  std::vector<GidEntry> entries;
  for (const ibv_gid_entry& e : std::span(raw).first(static_cast<size_t>(n))) {
    auto type = gid_type_from_verbs(e.gid_type);
    if (e.port_num == port_ && type) entries.push_back({.index = e.gid_index, .type = *type, .gid = e.gid});
  }
  Result<GidEntry> chosen = fail(Errc::kNotFound, "");
  if (gid_index_given_) {
    const auto it = std::ranges::find(entries, static_cast<uint32_t>(dev.gid_index), &GidEntry::index);
    chosen = it != entries.end() ? Result<GidEntry>(*it)
                                 : fail(Errc::kNotFound, fmt::format("GID index {} on {} port {}", dev.gid_index, name, port_),
                                        "that entry is empty: list the valid ones with `railcheck devices`");
  } else {
    chosen = choose_roce_gid(entries, dev.ip, ipv6);
    if (!chosen) chosen.error().what = fmt::format("{} on {} port {}", chosen.error().what, name, port_);
  }
  if (!chosen) return std::unexpected(chosen.error());
  gid_index_ = static_cast<int>(chosen->index);
  gid_ = chosen->gid;
  gid_type_ = chosen->type;
  return {};
}

Result<void> Endpoint::choose_pkey(const DeviceSpec& dev) {
  if (port_attr_.link_layer == IBV_LINK_LAYER_ETHERNET) return {};  // RoCE: index 0, the default pkey
  std::vector<uint16_t> table;
  for (int i = 0; i < port_attr_.pkey_tbl_len; ++i) {
    __be16 pkey = 0;
    if (ibv_query_pkey(ctx_.get(), port_, i, &pkey) != 0) break;
    table.push_back(be16toh(pkey));
  }
  auto index = choose_pkey_index(table, dev.pkey);
  if (!index) {
    Error e = index.error();
    e.what = fmt::format("{} port {}: {}", ibv_get_device_name(ctx_->device), port_, e.what);
    return std::unexpected(std::move(e));
  }
  pkey_index_ = *index;
  return {};
}

Result<QpPtr> Endpoint::create_qp(bool device_memory) {
  ibv_qp_init_attr_ex attr{};
  attr.send_cq = cq_.get();
  attr.recv_cq = cq_.get();
  attr.qp_type = IBV_QPT_RC;
  attr.cap.max_send_wr = tx_depth_ + 1;  // +1: the signaled message that drains a timed stream
  attr.cap.max_recv_wr = rx_depth_;
  attr.cap.max_send_sge = 1;
  attr.cap.max_recv_sge = 1;
  attr.comp_mask = IBV_QP_INIT_ATTR_PD;
  attr.pd = pd_.get();
  // mlx5 copies small receives (and read responses) out of the CQE with the CPU: into device
  // memory that faults. perftest sets MLX5_SCATTER_TO_CQE=0 for CUDA; here the QP says so.
  const bool dv = device_memory && mlx5dv_is_supported(ctx_->device);
  int err = 0;
  auto [qp, inline_bytes] = create_stepping_inline([&](uint32_t bytes) -> ibv_qp* {
    attr.cap.max_inline_data = bytes;
    ibv_qp* made = nullptr;
    if (dv) {
      mlx5dv_qp_init_attr mlx{};
      mlx.comp_mask = MLX5DV_QP_INIT_ATTR_MASK_QP_CREATE_FLAGS;
      mlx.create_flags = MLX5DV_QP_CREATE_DISABLE_SCATTER_TO_CQE;
      made = mlx5dv_create_qp(ctx_.get(), &attr, &mlx);
    } else {
      made = ibv_create_qp_ex(ctx_.get(), &attr);
    }
    if (made == nullptr) err = errno;
    return made;
  });
  if (qp != nullptr) {
    inline_asked_ = inline_bytes;
    scatter_to_cqe_ = dv ? "off" : "default";
    return QpPtr(qp);
  }
  return fail_errno(fmt::format("ibv_create_qp(RC, {} send / {} recv WRs)", tx_depth_, rx_depth_), err,
                    fmt::format("the device allows {} WRs per QP and {} QPs: lower --tx-depth or --qps",
                                dev_attr_.max_qp_wr, dev_attr_.max_qp));
}

Result<void> Endpoint::create_qps(const RunSpec& spec) {
  std::mt19937 rng(std::random_device{}());
  for (uint32_t i = 0; i < spec.qps; ++i) {
    auto qp = create_qp(!buffer_->host_visible());
    if (!qp) return std::unexpected(qp.error());
    max_inline_ = buffer_->host_visible() ? inline_asked_ : 0;
    ibv_qp_attr init{};
    init.qp_state = IBV_QPS_INIT;
    init.pkey_index = pkey_index_;
    init.port_num = port_;
    qp_access_ = op_info(spec.op).remote_access;
    init.qp_access_flags = qp_access_;
    if (int rc = ibv_modify_qp(qp->get(), &init, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
        rc != 0) {
      return fail_errno("ibv_modify_qp(INIT)", rc);
    }
    qps_.push_back(std::move(*qp));
    psns_.push_back(rng() & 0xffffff);
    posted_recvs_.push_back(0);
  }
  return {};
}

LocalPort Endpoint::local_port() const {
  return LocalPort{.port_num = port_,
                   .roce = port_attr_.link_layer == IBV_LINK_LAYER_ETHERNET,
                   .grh_required = (port_attr_.flags & IBV_QPF_GRH_REQUIRED) != 0,
                   .lid = port_attr_.lid,
                   .gid = gid_,
                   .gid_index = gid_index_,
                   .gid_index_given = gid_index_given_,
                   .active_mtu_bytes = mtu_bytes(port_attr_.active_mtu),
                   .max_qp_rd_atom = dev_attr_.max_qp_rd_atom,
                   .max_qp_init_rd_atom = dev_attr_.max_qp_init_rd_atom};
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
                    .memory = buffer_->info(),
                    .max_qp_rd_atom = dev_attr_.max_qp_rd_atom,
                    .max_qp_init_rd_atom = dev_attr_.max_qp_init_rd_atom,
                    .pkey_index = pkey_index_,
                    .inline_bytes = max_inline_,
                    .relaxed_ordering = relaxed_ordering_,
                    .scatter_to_cqe = scatter_to_cqe_,
                    .cpu = cpu_,
                    .numa_node = numa_node_,
                    .placement_note = placement_note_};
  for (size_t i = 0; i < qps_.size(); ++i) info.qps.push_back({qps_[i]->qp_num, psns_[i]});
  return info;
}

Result<void> Endpoint::connect(const EndpointInfo& remote, const PathSpec& path) {
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
  RemotePort peer{.lid = remote.lid, .gid = {}, .active_mtu_bytes = remote.mtu_bytes, .max_qp_rd_atom = remote.max_qp_rd_atom};
  if (inet_pton(AF_INET6, remote.gid.c_str(), peer.gid.raw) != 1) {
    return fail(Errc::kProtocol, fmt::format("peer sent GID \"{}\"", remote.gid));
  }
  const LocalPort local = local_port();
  const bool roce = local.roce;
  if (roce) {
    if (auto same = check_gid_families(gid_, peer.gid); !same) return same;
  }
  for (size_t i = 0; i < qps_.size(); ++i) {
    auto rtr = rtr_transition(local, peer, path, remote.qps[i].qpn, remote.qps[i].psn);
    if (!rtr) return std::unexpected(rtr.error());
    path_mtu_bytes_ = mtu_bytes(rtr->attr.path_mtu);
    if (int rc = ibv_modify_qp(qps_[i].get(), &rtr->attr, rtr->mask); rc != 0) {
      return fail_errno("ibv_modify_qp(RTR)", rc,
                        roce ? "check the GIDs of both sides (railcheck devices) and the route to the peer"
                             : "check the peer's LID and GID, the pkey and the subnet manager");
    }
    QpTransition rts = rts_transition(local, peer, psns_[i]);
    if (int rc = ibv_modify_qp(qps_[i].get(), &rts.attr, rts.mask); rc != 0) return fail_errno("ibv_modify_qp(RTS)", rc);
  }
  remote_ = remote;
  return {};
}

}  // namespace railcheck::verbs
