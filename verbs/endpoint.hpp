#pragma once
// One side of a test: the device context, PD, CQ, the registered buffer and the RC queue
// pairs, plus what the peer needs to reach them (EndpointInfo, sent over the OOB channel).
// Members are declared in creation order, so destruction runs in exact reverse order.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/error.hpp"
#include "verbs/addressing.hpp"
#include "verbs/handles.hpp"
#include "verbs/memory.hpp"
#include "verbs/port_attrs.hpp"
#include "verbs/spec.hpp"

namespace railcheck::verbs {

// Which local device, port, GID and pkey to use.
struct DeviceSpec {
  std::string device;       // RDMA device name, e.g. "mlx5_3"
  uint8_t port = 1;
  int gid_index = -1;       // -1: RoCE: the RoCEv2 GID of `ip` (else the first IPv4, else global IPv6 one); IB: 0
  std::string ip;           // the rail's address (IPv4 or IPv6) whose RoCEv2 GID to use; may be empty
  std::optional<uint16_t> pkey;  // IB: the network's pkey (--pkey, the annotation's cni-args); none: a full member
};

struct QpAddress {
  uint32_t qpn = 0;
  uint32_t psn = 0;
};

// What the peer needs to connect to this side and address its memory, and what this side's
// endpoint turned out to be (recorded with the results).
struct EndpointInfo {
  std::string device;
  std::string link_layer;   // "Ethernet" or "InfiniBand"
  uint16_t lid = 0;
  std::string gid;          // text form
  int gid_index = 0;
  std::string gid_type;     // "RoCEv2", "RoCEv1", "IB"
  uint32_t mtu_bytes = 0;   // active MTU of the port
  uint32_t rkey = 0;
  uint64_t rx_addr = 0;     // remote address of QP 0's receive region
  uint64_t region_bytes = 0;  // size of each region; QP i's are at i * 2 * region_bytes
  std::vector<QpAddress> qps;
  MemoryInfo memory;        // where the buffer lives and how it was registered
  int max_qp_rd_atom = 0;       // reads/atomics this side serves (its peer's initiator depth is bounded by it)
  int max_qp_init_rd_atom = 0;  // reads/atomics this side may have outstanding
  uint16_t pkey_index = 0;
  uint32_t inline_bytes = 0;    // the inline size the QPs were created with (0: none)
  bool relaxed_ordering = false;  // the MR has IBV_ACCESS_RELAXED_ORDERING
  std::string scatter_to_cqe;   // mlx5: "off" for device memory; "default" otherwise
  int cpu = -1;                 // the CPU the test ran on; -1: not pinned
  int numa_node = -1;           // the NIC's NUMA node, where host buffers were placed; -1: unknown
  std::string placement_note;   // why the CPU is shared or not NIC-local; empty: it is
};

nlohmann::json to_json(const EndpointInfo& info);
Result<EndpointInfo> endpoint_from_json(const nlohmann::json& j);

// The access flags both ends register their buffer with: local write, the remote access the op
// needs (verbs/ops.hpp) and no more, and relaxed ordering except on the buffer a write
// ping-pong polls (its last byte must arrive last).
unsigned mr_access(const RunSpec& spec) noexcept;

// Receive queue depth: 1 for an op that posts no receives; a stream's at least
// kMinStreamRxDepth; within what the device allows (max_qp_wr; 0: unknown).
inline constexpr uint32_t kMinStreamRxDepth = 512;
uint32_t rx_depth_for(const RunSpec& spec, uint32_t tx_depth, uint32_t device_max_wr) noexcept;

// A registered buffer (host or GPU memory, from a BufferFactory) split into a tx and an rx
// region per QP, each `region_bytes`.
class Endpoint {
 public:
  // Opens the device and creates PD, CQ, the buffer of kind `mem` (through `buffers`) and
  // `spec.qps` RC QPs in INIT.
  static Result<std::unique_ptr<Endpoint>> open(const DeviceSpec& dev, const RunSpec& spec, const MemorySpec& mem,
                                                const BufferFactory& buffers);

  [[nodiscard]] EndpointInfo info() const;
  // Moves every QP to RTR then RTS against the peer's QPs (verbs/addressing.hpp decides the
  // attributes); path MTU = min of both ports.
  Result<void> connect(const EndpointInfo& remote, const PathSpec& path);
  // This side's port as the addressing functions take it.
  [[nodiscard]] LocalPort local_port() const;
  // Where the test runs (set by the session once it placed its thread): recorded in info().
  void set_placement(int cpu, int numa_node, std::string note) {
    cpu_ = cpu, numa_node_ = numa_node, placement_note_ = std::move(note);
  }

  // The rdma_cm path (verbs/cm.hpp) moves the QPs itself, then records what connect() would.
  void set_remote(const EndpointInfo& remote) { remote_ = remote; }
  void set_path_mtu(uint32_t bytes) noexcept { path_mtu_bytes_ = bytes; }

  [[nodiscard]] ibv_cq* cq() const noexcept { return cq_.get(); }
  [[nodiscard]] ibv_qp* qp(size_t i) const noexcept { return qps_[i].get(); }
  [[nodiscard]] size_t qp_count() const noexcept { return qps_.size(); }
  // Addresses of QP `qp`'s regions as the NIC sees them (device pointers in GPU memory: the
  // CPU may dereference them only when buffer().host_visible()).
  [[nodiscard]] uint8_t* tx(size_t qp) const noexcept { return base_ + tx_offset(qp); }
  [[nodiscard]] uint8_t* rx(size_t qp) const noexcept { return base_ + rx_offset(qp); }
  [[nodiscard]] uint64_t tx_offset(size_t qp) const noexcept { return qp * 2 * region_bytes_; }
  [[nodiscard]] uint64_t rx_offset(size_t qp) const noexcept { return tx_offset(qp) + region_bytes_; }
  [[nodiscard]] Buffer& buffer() const noexcept { return *buffer_; }
  [[nodiscard]] uint32_t lkey() const noexcept { return lkey_; }
  [[nodiscard]] uint64_t remote_tx(size_t qp) const noexcept { return remote_.rx_addr - remote_.region_bytes + qp * 2 * remote_.region_bytes; }
  [[nodiscard]] uint64_t remote_rx(size_t qp) const noexcept { return remote_.rx_addr + qp * 2 * remote_.region_bytes; }
  [[nodiscard]] uint32_t remote_rkey() const noexcept { return remote_.rkey; }
  // 0 when the buffer is not host memory: an inline send makes the CPU copy the payload.
  [[nodiscard]] uint32_t max_inline_bytes() const noexcept { return max_inline_; }
  [[nodiscard]] uint32_t path_mtu_bytes() const noexcept { return path_mtu_bytes_; }
  [[nodiscard]] uint32_t rx_depth() const noexcept { return rx_depth_; }
  // The QPs' remote access (the op's, verbs/ops.hpp).
  [[nodiscard]] unsigned qp_access() const noexcept { return qp_access_; }
  [[nodiscard]] uint32_t tx_depth() const noexcept { return tx_depth_; }
  [[nodiscard]] const EndpointInfo& remote() const noexcept { return remote_; }
  [[nodiscard]] uint64_t region_bytes() const noexcept { return region_bytes_; }
  // Receives posted and not yet consumed, per QP; they stay valid across message sizes
  // because every receive covers the whole rx region.
  [[nodiscard]] std::vector<uint32_t>& posted_recvs() noexcept { return posted_recvs_; }

 private:
  Endpoint() = default;
  Result<void> query_port(const DeviceSpec& dev, const RunSpec& spec);
  Result<void> make_buffer(const DeviceSpec& dev, const RunSpec& spec, const MemorySpec& mem, const BufferFactory& buffers);
  Result<void> choose_gid(const DeviceSpec& dev, bool ipv6);
  Result<void> choose_pkey(const DeviceSpec& dev);
  Result<void> create_qps(const RunSpec& spec);
  Result<QpPtr> create_qp(bool device_memory);

  // Creation order; destroyed in reverse (the buffer deregisters its MR before the PD goes).
  ContextPtr ctx_;
  PdPtr pd_;
  CqPtr cq_;
  std::unique_ptr<Buffer> buffer_;
  std::vector<QpPtr> qps_;

  uint8_t* base_ = nullptr;  // buffer_->data() and its lkey, read once (no virtual call per use)
  uint32_t lkey_ = 0;
  uint8_t port_ = 1;
  ibv_port_attr port_attr_{};
  ibv_device_attr dev_attr_{};
  int gid_index_ = 0;
  ibv_gid gid_{};
  GidType gid_type_ = GidType::kIb;
  uint64_t region_bytes_ = 0;
  uint32_t max_inline_ = 0;
  uint32_t tx_depth_ = 0;
  uint32_t rx_depth_ = 0;
  std::vector<uint32_t> psns_;
  std::vector<uint32_t> posted_recvs_;
  EndpointInfo remote_;
  uint32_t path_mtu_bytes_ = 0;
  bool relaxed_ordering_ = false;  // the MR was registered with IBV_ACCESS_RELAXED_ORDERING
  bool gid_index_given_ = false;
  unsigned qp_access_ = 0;
  uint16_t pkey_index_ = 0;
  uint32_t inline_asked_ = 0;      // what the QPs were created with (max_inline_ is 0 for device memory)
  std::string scatter_to_cqe_ = "default";
  int cpu_ = -1, numa_node_ = -1;
  std::string placement_note_;
};

// The inline sizes tried when creating a QP, largest first (what mlx5, bnxt_re, irdma and EFA
// accept lies among them; perftest picks per device, this steps down until one is accepted).
inline constexpr uint32_t kInlineSteps[] = {220, 128, 96, 64, 32, 0};

// Calls `create(inline_bytes)` for each of kInlineSteps, largest first, until one returns
// non-null: that result and the inline size it was created with ({nullptr, 0}: none was).
// The QP creation's stepping, as a function of what the device accepts (unit-tested).
template <typename Create>
auto create_stepping_inline(Create&& create) -> std::pair<decltype(create(0u)), uint32_t> {
  for (uint32_t inline_bytes : kInlineSteps) {
    if (auto made = create(inline_bytes)) return {std::move(made), inline_bytes};
  }
  return {nullptr, 0};
}

}  // namespace railcheck::verbs
