#pragma once
// The pieces every test loop shares: prebuilt work requests (posting changes two fields, no
// allocation), completion checks that turn a failed work completion into an Error naming
// the status and its likely cause, and the watch on the out-of-band socket that tells a
// responder when the initiator is done. The verb is a template parameter: the hot loop
// never branches on it.

#include <arpa/inet.h>
#include <infiniband/verbs.h>

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "verbs/endpoint.hpp"
#include "verbs/oob.hpp"
#include "verbs/spec.hpp"

namespace railcheck::verbs {

inline constexpr unsigned kSignaled = IBV_SEND_SIGNALED;
inline constexpr unsigned kInline = IBV_SEND_INLINE;

// One QP's send and receive work requests, built once per message size.
// The work requests point at their own scatter/gather entries, so a copy must re-point them
// (a copied request pointing into the original would send whatever memory is there now).
struct QpWork {
  ibv_sge send_sge{};
  ibv_send_wr send_wr{};
  ibv_sge recv_sge{};
  ibv_recv_wr recv_wr{};

  QpWork() = default;
  QpWork(const QpWork& o) noexcept : send_sge(o.send_sge), send_wr(o.send_wr), recv_sge(o.recv_sge), recv_wr(o.recv_wr) {
    repoint();
  }
  QpWork& operator=(const QpWork& o) noexcept {
    send_sge = o.send_sge, send_wr = o.send_wr, recv_sge = o.recv_sge, recv_wr = o.recv_wr;
    repoint();
    return *this;
  }
  void repoint() noexcept {
    send_wr.sg_list = &send_sge;
    recv_wr.sg_list = &recv_sge;
  }
};

// The data pattern (verbs/pattern.hpp) over host memory: what a sender puts in QP `qp`'s tx
// region for messages of `bytes`, so the receiver can check that what arrived is what was sent.
void fill_pattern(uint8_t* data, uint64_t bytes, size_t qp) noexcept;
// The offset of the first byte that differs from the pattern; nullopt when all match.
std::optional<uint64_t> find_pattern_mismatch(const uint8_t* data, uint64_t bytes, size_t qp) noexcept;

// Builds QP `qp`'s requests for messages of `bytes`, in the op's shape (verbs/ops.hpp): an
// RDMA op goes from the tx region to the peer's rx region (write, write_imm), or from the
// peer's tx region into the rx region (read); a send goes from the tx region into whatever
// receive the peer posted; an atomic works on the first 8-byte word of the peer's rx region
// and returns the old value into the rx region. A receive covers the whole rx region, so
// receives posted for one size serve the next.
template <Op kOp>
QpWork make_work(const Endpoint& ep, size_t qp, uint64_t bytes) {
  constexpr OpInfo kInfo = op_info(kOp);
  QpWork w;
  w.send_sge = {.addr = reinterpret_cast<uint64_t>(kInfo.data_from_initiator ? ep.tx(qp) : ep.rx(qp)),
                .length = static_cast<uint32_t>(bytes),
                .lkey = ep.lkey()};
  w.send_wr.wr_id = 0;
  w.send_wr.sg_list = &w.send_sge;
  w.send_wr.num_sge = 1;
  w.send_wr.opcode = kInfo.opcode;
  if constexpr (kInfo.shape == WrShape::kRdma) {
    w.send_wr.wr.rdma.remote_addr = kInfo.data_from_initiator ? ep.remote_rx(qp) : ep.remote_tx(qp);
    w.send_wr.wr.rdma.rkey = ep.remote_rkey();
  } else if constexpr (kInfo.shape == WrShape::kAtomic) {
    w.send_wr.wr.atomic.remote_addr = ep.remote_rx(qp);
    w.send_wr.wr.atomic.rkey = ep.remote_rkey();
    w.send_wr.wr.atomic.compare_add = kOp == Op::kFetchAdd ? 1 : 0;  // cmp_swap: 0 -> 0, always equal
    w.send_wr.wr.atomic.swap = 0;
  }
  if constexpr (kOp == Op::kWriteImm) w.send_wr.imm_data = htonl(static_cast<uint32_t>(qp));
  w.recv_sge = {.addr = reinterpret_cast<uint64_t>(ep.rx(qp)),
                .length = static_cast<uint32_t>(ep.region_bytes()),
                .lkey = ep.lkey()};
  w.recv_wr.wr_id = qp;
  w.recv_wr.sg_list = &w.recv_sge;
  w.recv_wr.num_sge = 1;
  return w;
}

// Send flags for a message of `bytes`: inline when the op allows it and it fits.
template <Op kOp>
unsigned base_send_flags(const Endpoint& ep, uint64_t bytes) {
  return (op_info(kOp).inline_ok && bytes <= ep.max_inline_bytes()) ? kInline : 0u;
}

// A failed completion as an Error: the status, the opcode, and what usually causes it.
Error completion_error(const ibv_wc& wc);

// Posts one send-queue request; the error names the call and errno.
inline Result<void> post_send(ibv_qp* qp, ibv_send_wr& wr) {
  ibv_send_wr* bad = nullptr;
  if (int rc = ibv_post_send(qp, &wr, &bad); rc != 0) return std::unexpected(Error::system("ibv_post_send", rc));
  return {};
}

inline Result<void> post_recv(ibv_qp* qp, ibv_recv_wr& wr) {
  ibv_recv_wr* bad = nullptr;
  if (int rc = ibv_post_recv(qp, &wr, &bad); rc != 0) return std::unexpected(Error::system("ibv_post_recv", rc));
  return {};
}

// Watches the OOB socket from inside a loop: the initiator's {"type":"done"} ends the
// responder's loop; EOF or garbage is an error ("peer vanished").
class PeerWatch {
 public:
  explicit PeerWatch(OobSocket& oob) : oob_(oob) {}
  // Cheap when nothing arrived (one poll() with zero timeout). Returns true once done.
  Result<bool> check();
  [[nodiscard]] bool done() const noexcept { return done_.has_value(); }
  [[nodiscard]] const nlohmann::json& done_message() const { return *done_; }

 private:
  OobSocket& oob_;
  std::optional<nlohmann::json> done_;
};

}  // namespace railcheck::verbs
