#pragma once
// The pieces the latency loops (loops.cpp) and the bandwidth loop (bandwidth.cpp) share:
// the progress watchdog, completion waits, and the receive queues, kept full and reposted a
// batch at a time. Internal to verbs.

#include <infiniband/verbs.h>

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "verbs/clock.hpp"
#include "verbs/loops.hpp"
#include "verbs/work.hpp"

namespace railcheck::verbs::detail {

// Spins between deadline / OOB checks. A check reads the clock (a syscall where the vDSO
// cannot be used, as under qemu TCG) or polls the socket, so it must stay rare inside a
// round trip: about a millisecond of spinning on real hardware either way.
inline constexpr uint32_t kMemSpinCheck = 1u << 20;  // polling a byte in memory: ~1 ns a spin
inline constexpr uint32_t kCqSpinCheck = 1u << 14;   // polling the CQ: ~50 ns a poll
inline constexpr int kPollBatch = 16;
// Receives are reposted this many at a time, in one ibv_post_recv call (a chained list).
inline constexpr uint32_t kRecvBatch = 16;

// Notices when nothing has happened for too long: a peer that vanished, a dead path. The
// clock starts at the first check, not at construction: a wait that ends before its first
// check never reads the clock (a syscall under qemu TCG, where it cost a read-latency
// ping-pong ~10 us).
class Progress {
 public:
  Progress(const Clock& clock, Millis limit) : clock_(clock), limit_ns_(static_cast<double>(limit.count()) * 1e6) {}
  void mark(uint64_t now) noexcept { last_ = now; }
  // Progress was made, but no timestamp is at hand: the window restarts at the next check.
  void restart() noexcept { last_ = 0; }
  [[nodiscard]] bool stalled(uint64_t now) noexcept {
    if (last_ == 0) {
      last_ = now;
      return false;
    }
    return static_cast<double>(clock_.elapsed_ns(last_, now)) > limit_ns_;
  }
  [[nodiscard]] Error error(std::string_view waiting_for) const;

 private:
  const Clock& clock_;
  double limit_ns_;
  uint64_t last_ = 0;  // 0: not started
};

// Posts `n` receives on QP `qp`, each covering its whole rx region, kRecvBatch per call.
Result<void> post_receives(Endpoint& ep, size_t qp, uint32_t n);

// Tops every QP's receive queue up to its depth (before a size starts).
Result<void> fill_receives(Endpoint& ep);

// Counts consumed receives per QP and reposts them kRecvBatch at a time, so the queue never
// runs more than a batch below its depth and a completion costs no ibv_post_recv of its own.
class ReceiveRefill {
 public:
  explicit ReceiveRefill(Endpoint& ep) : ep_(ep), used_(ep.qp_count(), 0) {}
  Result<void> consumed(size_t qp) {
    --ep_.posted_recvs()[qp];
    if (++used_[qp] < kRecvBatch) return {};
    used_[qp] = 0;
    return post_receives(ep_, qp, kRecvBatch);
  }

 private:
  Endpoint& ep_;
  std::vector<uint32_t> used_;
};

// Polls until one completion arrives; a failed one is an error. Send-side completions of
// signaled sends seen while waiting for a receive are counted in `sends_reaped`. With a
// watch, the OOB socket is checked between spins: its "done" ends the wait (the returned
// completion is then empty; the caller checks watch->done()).
Result<ibv_wc> wait_completion(LoopContext& c, bool want_recv, uint64_t& sends_reaped, PeerWatch* watch);

// Reaps send completions until `reaped` reaches `signaled`.
Result<void> drain_sends(LoopContext& c, uint64_t signaled, uint64_t& reaped);

// Waits on the OOB socket alone until the initiator says done (a passive responder).
Result<void> wait_for_done(PeerWatch& watch);

// Streaming bandwidth of one size for the spec's op (bandwidth.cpp).
Result<SizeOutcome> run_bandwidth(LoopContext& c, uint64_t bytes, bool initiator);

}  // namespace railcheck::verbs::detail
