// The latency loops (ping-pong), the per-size preparation and data check, and run_size(), the
// one dispatch from the run's op to the loops' template parameter. The streaming bandwidth loop
// is in bandwidth.cpp.
#include "verbs/loops.hpp"

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "verbs/loop_parts.hpp"
#include "verbs/work.hpp"

namespace railcheck::verbs {
namespace detail {

Error Progress::error(std::string_view waiting_for) const {
  return Error::make(Errc::kTimeout, fmt::format("no {} for {:.0f} ms", waiting_for, limit_ns_ / 1e6),
                     "the peer vanished, or the path drops RDMA traffic (check rdma link, routes, GIDs, MTU)");
}

Result<void> post_receives(Endpoint& ep, size_t qp, uint32_t n) {
  ibv_sge sge{.addr = reinterpret_cast<uint64_t>(ep.rx(qp)), .length = static_cast<uint32_t>(ep.region_bytes()),
              .lkey = ep.lkey()};
  std::array<ibv_recv_wr, kRecvBatch> wrs{};
  while (n > 0) {
    const uint32_t k = std::min(n, kRecvBatch);
    for (uint32_t i = 0; i < k; ++i) {
      wrs[i] = ibv_recv_wr{.wr_id = qp, .next = i + 1 < k ? &wrs[i + 1] : nullptr, .sg_list = &sge, .num_sge = 1};
    }
    ibv_recv_wr* bad = nullptr;
    if (int rc = ibv_post_recv(ep.qp(qp), wrs.data(), &bad); rc != 0) {
      return std::unexpected(Error::system(fmt::format("ibv_post_recv({} receives)", k), rc));
    }
    ep.posted_recvs()[qp] += k;
    n -= k;
  }
  return {};
}

Result<void> fill_receives(Endpoint& ep) {
  for (size_t q = 0; q < ep.qp_count(); ++q) {
    const uint32_t posted = ep.posted_recvs()[q];
    if (posted >= ep.rx_depth()) continue;
    if (auto ok = post_receives(ep, q, ep.rx_depth() - posted); !ok) return ok;
  }
  return {};
}

Result<ibv_wc> wait_completion(LoopContext& c, bool want_recv, uint64_t& sends_reaped, PeerWatch* watch) {
  Progress progress(c.clock, c.progress_timeout);
  ibv_wc wc{};
  for (uint32_t spins = 1;; ++spins) {
    const int n = ibv_poll_cq(c.ep.cq(), 1, &wc);
    if (n < 0) return fail(Errc::kSystem, "ibv_poll_cq failed");
    if (n == 1) {
      if (wc.status != IBV_WC_SUCCESS) return std::unexpected(completion_error(wc));
      const bool is_recv = (wc.opcode & IBV_WC_RECV) != 0;  // a send's or a write_imm's arrival
      if (is_recv == want_recv) return wc;
      ++sends_reaped;
      continue;
    }
    if (spins % kCqSpinCheck == 0) {
      if (watch != nullptr) {
        auto done = watch->check();
        if (!done) return std::unexpected(done.error());
        if (*done) return ibv_wc{};
      }
      if (progress.stalled(c.clock.now())) return std::unexpected(progress.error("completion"));
    }
  }
}

Result<void> drain_sends(LoopContext& c, uint64_t signaled, uint64_t& reaped) {
  while (reaped < signaled) {
    auto wc = wait_completion(c, /*want_recv=*/false, reaped, nullptr);
    if (!wc) return std::unexpected(wc.error());
    ++reaped;
  }
  return {};
}

Result<void> wait_for_done(PeerWatch& watch) {
  while (!watch.done()) {
    auto done = watch.check();
    if (!done) return std::unexpected(done.error());
    if (!*done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {};
}

}  // namespace detail

namespace {

using detail::drain_sends;
using detail::kMemSpinCheck;
using detail::Progress;
using detail::ReceiveRefill;
using detail::wait_completion;

constexpr uint32_t kLatSignalEvery = 8;  // latency: one signaled send in 8 (SQ depth 16)

uint8_t next_mark(uint8_t v) noexcept { return v == 255 ? 1 : static_cast<uint8_t>(v + 1); }

// The initiator's side of one round trip: post, then wait for the answer as the op's latency
// style says (the peer's mark in memory, a receive completion, or this side's own completion).
template <Op kOp>
Result<void> initiator_round(LoopContext& c, ReceiveRefill& refill, volatile uint8_t* poll_byte,
                             uint8_t value, Progress& progress, uint64_t& reaped) {
  constexpr LatencyStyle kStyle = op_info(kOp).latency;
  if constexpr (kStyle == LatencyStyle::kPollMemory) {
    for (uint32_t spins = 1; *poll_byte != value; ++spins) {
      if (spins % kMemSpinCheck == 0 && progress.stalled(c.clock.now())) return std::unexpected(progress.error("reply"));
    }
    return {};
  } else {
    auto wc = wait_completion(c, /*want_recv=*/kStyle == LatencyStyle::kRecvCompletion, reaped, nullptr);
    if (!wc) return std::unexpected(wc.error());
    if constexpr (kStyle == LatencyStyle::kOwnCompletion) {
      ++reaped;
      return {};
    } else {
      return refill.consumed(0);
    }
  }
}

template <Op kOp>
Result<SizeOutcome> latency_initiator(LoopContext& c, uint64_t bytes) {
  constexpr OpInfo kInfo = op_info(kOp);
  Endpoint& ep = c.ep;
  QpWork w = make_work<kOp>(ep, 0, bytes);
  ReceiveRefill refill(ep);
  const unsigned flags = base_send_flags<kOp>(ep, bytes);
  volatile uint8_t* poll_byte = ep.rx(0) + bytes - 1;
  uint8_t* mark = ep.tx(0) + bytes - 1;
  const uint64_t warmup = c.spec.warmup_iters;
  const uint64_t total = c.spec.duration_mode() ? UINT64_MAX : warmup + c.spec.iters;
  const double duration_ns = c.spec.duration_s * 1e9;

  LatencyHistogram hist;
  Progress progress(c.clock, c.progress_timeout);
  uint64_t signaled = 0, reaped = 0, start = c.clock.now(), last = start;
  uint8_t value = 0;
  uint64_t i = 0;
  for (; i < total; ++i) {
    if (i == warmup) start = last;
    if (c.spec.duration_mode() && i > warmup && c.clock.to_ns(last - start) >= duration_ns) break;
    value = next_mark(value);
    const bool signal = kInfo.latency == LatencyStyle::kOwnCompletion || i % kLatSignalEvery == 0;
    w.send_wr.send_flags = flags | (signal ? kSignaled : 0u);
    if constexpr (kInfo.latency == LatencyStyle::kPollMemory) *mark = value;
    if (auto ok = post_send(ep.qp(0), w.send_wr); !ok) return std::unexpected(ok.error());
    signaled += signal;
    if (auto ok = initiator_round<kOp>(c, refill, poll_byte, value, progress, reaped); !ok) {
      return std::unexpected(ok.error());
    }
    // One timestamp per iteration: the sample is the time since the previous one (as perftest
    // does), so the bookkeeping below is inside the sample once and no second clock read is paid.
    const uint64_t t1 = c.clock.now();
    if (i >= warmup) hist.record(c.clock.elapsed_ns(last, t1) / kInfo.latency_divisor);
    last = t1;
    progress.mark(t1);
    if constexpr (kInfo.latency == LatencyStyle::kPollMemory) {
      if (auto ok = drain_sends(c, signaled, reaped); !ok) return std::unexpected(ok.error());
    }
  }
  if (auto ok = drain_sends(c, signaled, reaped); !ok) return std::unexpected(ok.error());
  const uint64_t counted = i > warmup ? i - warmup : 0;
  if (auto ok = c.oob.send({{"type", "done"}, {"iters", counted}}, c.progress_timeout); !ok) {
    return std::unexpected(ok.error());
  }
  return SizeOutcome{.msg_bytes = bytes,
                     .iters = counted,
                     .elapsed_s = c.clock.to_ns(last - start) / 1e9,
                     .latency = hist.summary(),
                     .bandwidth = std::nullopt,
                     .counters = {}};
}

// The responder's wait for the next ping: its mark in memory, or a receive completion. Returns
// false once the initiator said done.
template <Op kOp>
Result<bool> responder_wait(LoopContext& c, PeerWatch& watch, ReceiveRefill& refill, volatile uint8_t* poll_byte,
                            uint8_t value, Progress& progress, uint64_t& reaped) {
  if constexpr (op_info(kOp).latency == LatencyStyle::kPollMemory) {
    for (uint32_t spins = 1; *poll_byte != value; ++spins) {
      if (spins % kMemSpinCheck != 0) continue;
      auto done = watch.check();
      if (!done) return std::unexpected(done.error());
      if (*done) return false;
      if (progress.stalled(c.clock.now())) return std::unexpected(progress.error("ping"));
    }
    return true;
  } else {
    auto wc = wait_completion(c, /*want_recv=*/true, reaped, &watch);
    if (!wc) return std::unexpected(wc.error());
    if (watch.done()) return false;
    if (auto ok = refill.consumed(0); !ok) return std::unexpected(ok.error());
    return true;
  }
}

template <Op kOp>
Result<SizeOutcome> latency_responder(LoopContext& c, uint64_t bytes) {
  constexpr OpInfo kInfo = op_info(kOp);
  Endpoint& ep = c.ep;
  PeerWatch watch(c.oob);
  SizeOutcome out{.msg_bytes = bytes, .iters = 0, .elapsed_s = 0, .latency = std::nullopt, .bandwidth = std::nullopt, .counters = {}};
  if constexpr (kInfo.latency == LatencyStyle::kOwnCompletion) {
    if (auto ok = detail::wait_for_done(watch); !ok) return std::unexpected(ok.error());
    return out;
  } else {
    QpWork w = make_work<kOp>(ep, 0, bytes);
    ReceiveRefill refill(ep);
    const unsigned flags = base_send_flags<kOp>(ep, bytes);
    volatile uint8_t* poll_byte = ep.rx(0) + bytes - 1;
    uint8_t* mark = ep.tx(0) + bytes - 1;
    Progress progress(c.clock, c.progress_timeout);
    uint64_t signaled = 0, reaped = 0;
    uint8_t value = 0;
    for (uint64_t i = 0;; ++i) {
      value = next_mark(value);
      auto more = responder_wait<kOp>(c, watch, refill, poll_byte, value, progress, reaped);
      if (!more) return std::unexpected(more.error());
      if (!*more) break;
      if constexpr (kInfo.latency == LatencyStyle::kPollMemory) *mark = value;
      progress.restart();
      const bool signal = i % kLatSignalEvery == 0;
      w.send_wr.send_flags = flags | (signal ? kSignaled : 0u);
      if (auto ok = post_send(ep.qp(0), w.send_wr); !ok) return std::unexpected(ok.error());
      signaled += signal;
      if constexpr (kInfo.latency == LatencyStyle::kPollMemory) {
        if (auto ok = drain_sends(c, signaled, reaped); !ok) return std::unexpected(ok.error());
      }
      ++out.iters;
    }
    if (auto ok = drain_sends(c, signaled, reaped); !ok) return std::unexpected(ok.error());
    return out;
  }
}

}  // namespace

Result<void> prepare_size(LoopContext& c, uint64_t bytes, bool initiator) {
  Endpoint& ep = c.ep;
  Buffer& buf = ep.buffer();
  const OpInfo& op = op_info(c.spec.op);
  if (c.spec.kind == TestKind::kLatency && op.latency == LatencyStyle::kPollMemory) {
    // The ping-pong byte of this size starts at 0 on both sides (values run 1..255). The CPU
    // polls it, so validate() admits this style on host memory only.
    if (!buf.host_visible()) {
      return fail(Errc::kInvalidArgument, fmt::format("{} latency needs host memory", op.name), "use --op write_imm or send");
    }
    ep.rx(0)[bytes - 1] = 0;
    ep.tx(0)[bytes - 1] = 0;
  }
  if (c.spec.checks_data()) {
    // Every sender's region holds the pattern and every receiver's starts zeroed, so
    // check_data() can prove the bytes arrived (not just that completions did). In GPU
    // memory the buffer does this where the memory is.
    for (size_t q = 0; q < ep.qp_count(); ++q) {
      if (auto ok = buf.fill_pattern(ep.tx_offset(q), bytes, q); !ok) return ok;
      if (auto ok = buf.zero(ep.rx_offset(q), bytes); !ok) return ok;
    }
  }
  const bool receives = op.uses_receives && (c.spec.kind == TestKind::kLatency || !initiator || c.spec.bidir);
  if (!receives) return {};
  return detail::fill_receives(ep);
}

bool receives_data(const RunSpec& spec, bool initiator) noexcept {
  if (spec.kind != TestKind::kBandwidth) return false;
  if (spec.bidir) return true;
  return op_info(spec.op).data_from_initiator ? !initiator : initiator;
}

Result<void> check_data(LoopContext& c, uint64_t bytes, bool initiator) {
  if (!c.spec.checks_data() || !receives_data(c.spec, initiator)) return {};
  for (size_t q = 0; q < c.ep.qp_count(); ++q) {
    auto at = c.ep.buffer().find_pattern_mismatch(c.ep.rx_offset(q), bytes, q);
    if (!at) return std::unexpected(at.error());
    if (*at) {
      return fail(Errc::kPeer,
                  fmt::format("data check failed: QP {} received {} messages whose byte {} differs from what was sent{}",
                              q, format_size(bytes), **at,
                              c.ep.buffer().host_visible() ? "" : fmt::format(" (in {} memory)", c.ep.buffer().info().kind)),
                  "the NIC or the path corrupts or drops data: check the link (rdma statistic, ethtool -S)");
    }
  }
  return {};
}

Result<SizeOutcome> run_size(LoopContext& c, uint64_t bytes, bool initiator) {
  if (c.spec.kind == TestKind::kBandwidth) return detail::run_bandwidth(c, bytes, initiator);
  return with_op(c.spec.op, [&]<Op kOp>() {
    return initiator ? latency_initiator<kOp>(c, bytes) : latency_responder<kOp>(c, bytes);
  });
}

}  // namespace railcheck::verbs
