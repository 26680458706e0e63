#include "verbs/loops.hpp"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <thread>
#include <vector>

#include "verbs/work.hpp"

namespace railcheck::verbs {
namespace {

// Spins between deadline / OOB checks. A check reads the clock (a syscall where the vDSO
// cannot be used, as under qemu TCG) or polls the socket, so it must stay rare inside a
// round trip: about a millisecond of spinning on real hardware either way.
constexpr uint32_t kMemSpinCheck = 1u << 20;  // polling a byte in memory: ~1 ns a spin
constexpr uint32_t kCqSpinCheck = 1u << 14;   // polling the CQ: ~50 ns a poll
constexpr uint32_t kLatSignalEvery = 8;      // latency: one signaled send in 8 (SQ depth 16)
constexpr int kPollBatch = 16;
constexpr uint64_t kMaxUnsignaledBytes = 1u << 20;  // data covered by one signaled completion
constexpr int kPeakWindows = 50;             // peak bandwidth = best of this many slices

// Notices when nothing has happened for too long: a peer that vanished, a dead path.
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
  [[nodiscard]] Error error(std::string_view waiting_for) const {
    return Error::make(Errc::kTimeout, fmt::format("no {} for {:.0f} ms", waiting_for, limit_ns_ / 1e6),
                       "the peer vanished, or the path drops RDMA traffic (check rdma link, routes, GIDs, MTU)");
  }

 private:
  const Clock& clock_;
  double limit_ns_;
  uint64_t last_ = 0;  // 0: not started
};

uint8_t next_mark(uint8_t v) noexcept { return v == 255 ? 1 : static_cast<uint8_t>(v + 1); }

// Polls until one completion arrives; a failed one is an error. Send-side completions of
// signaled sends seen while waiting for a receive are counted in `sends_reaped`.
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
        if (*done) return ibv_wc{};  // wr_id/opcode unused: the caller checks watch->done()
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

Result<void> repost_recv(Endpoint& ep, QpWork& w, size_t qp) {
  auto ok = post_recv(ep.qp(qp), w.recv_wr);
  if (ok) ++ep.posted_recvs()[qp];
  return ok;
}

// ---- latency: ping-pong ---------------------------------------------------------------

template <Op kOp>
Result<SizeOutcome> latency_initiator(LoopContext& c, uint64_t bytes) {
  Endpoint& ep = c.ep;
  QpWork w = make_work<kOp>(ep, 0, bytes);
  const unsigned flags = base_send_flags<kOp>(ep, bytes);
  volatile uint8_t* poll_byte = ep.rx(0) + bytes - 1;
  uint8_t* mark = ep.tx(0) + bytes - 1;
  const uint64_t warmup = c.spec.warmup_iters;
  const uint64_t total = c.spec.duration_mode() ? UINT64_MAX : warmup + c.spec.iters;
  const double duration_ns = c.spec.duration_s * 1e9;
  // Write, write_imm and send report half the round trip (one way), read the full round trip.
  const uint64_t divisor = kOp == Op::kRead ? 1 : 2;

  LatencyHistogram hist;
  Progress progress(c.clock, c.progress_timeout);
  uint64_t signaled = 0, reaped = 0, start = c.clock.now(), last = start;
  uint8_t value = 0;
  uint64_t i = 0;
  for (; i < total; ++i) {
    if (i == warmup) start = last;
    if (c.spec.duration_mode() && i > warmup && c.clock.to_ns(last - start) >= duration_ns) break;
    value = next_mark(value);
    const bool signal = kOp == Op::kRead || i % kLatSignalEvery == 0;
    w.send_wr.send_flags = flags | (signal ? kSignaled : 0u);
    if constexpr (kOp == Op::kWrite) *mark = value;
    if (auto ok = post_send(ep.qp(0), w.send_wr); !ok) return std::unexpected(ok.error());
    signaled += signal;
    if constexpr (kOp == Op::kWrite) {
      for (uint32_t spins = 1; *poll_byte != value; ++spins) {
        if (spins % kMemSpinCheck == 0 && progress.stalled(c.clock.now())) return std::unexpected(progress.error("reply"));
      }
    } else {
      auto wc = wait_completion(c, /*want_recv=*/uses_receives(kOp), reaped, nullptr);
      if (!wc) return std::unexpected(wc.error());
      if constexpr (kOp == Op::kRead) ++reaped;
    }
    // One timestamp per iteration: the sample is the time since the previous one (as perftest
    // does), so the bookkeeping below is inside the sample once and no second clock read is paid.
    const uint64_t t1 = c.clock.now();
    if (i >= warmup) hist.record(c.clock.elapsed_ns(last, t1) / divisor);
    last = t1;
    progress.mark(t1);
    if constexpr (uses_receives(kOp)) {
      --ep.posted_recvs()[0];
      if (auto ok = repost_recv(ep, w, 0); !ok) return std::unexpected(ok.error());
    }
    if constexpr (kOp == Op::kWrite) {
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
                     .bandwidth = std::nullopt};
}

// Waits on the OOB socket alone until the initiator says done (read latency, one-sided bw).
Result<void> wait_for_done(PeerWatch& watch) {
  while (!watch.done()) {
    auto done = watch.check();
    if (!done) return std::unexpected(done.error());
    if (!*done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {};
}

template <Op kOp>
Result<SizeOutcome> latency_responder(LoopContext& c, uint64_t bytes) {
  Endpoint& ep = c.ep;
  PeerWatch watch(c.oob);
  SizeOutcome out{.msg_bytes = bytes, .iters = 0, .elapsed_s = 0, .latency = std::nullopt, .bandwidth = std::nullopt};
  if constexpr (kOp == Op::kRead) {
    if (auto ok = wait_for_done(watch); !ok) return std::unexpected(ok.error());
    return out;
  }
  QpWork w = make_work<kOp>(ep, 0, bytes);
  const unsigned flags = base_send_flags<kOp>(ep, bytes);
  volatile uint8_t* poll_byte = ep.rx(0) + bytes - 1;
  uint8_t* mark = ep.tx(0) + bytes - 1;
  Progress progress(c.clock, c.progress_timeout);
  uint64_t signaled = 0, reaped = 0;
  uint8_t value = 0;
  for (uint64_t i = 0;; ++i) {
    value = next_mark(value);
    if constexpr (kOp == Op::kWrite) {
      for (uint32_t spins = 1; *poll_byte != value; ++spins) {
        if (spins % kMemSpinCheck != 0) continue;
        auto done = watch.check();
        if (!done) return std::unexpected(done.error());
        if (*done) break;
        if (progress.stalled(c.clock.now())) return std::unexpected(progress.error("ping"));
      }
      if (watch.done()) break;
      *mark = value;
    } else {
      auto wc = wait_completion(c, /*want_recv=*/true, reaped, &watch);
      if (!wc) return std::unexpected(wc.error());
      if (watch.done()) break;
      --ep.posted_recvs()[0];
      if (auto ok = repost_recv(ep, w, 0); !ok) return std::unexpected(ok.error());
    }
    progress.restart();
    const bool signal = i % kLatSignalEvery == 0;
    w.send_wr.send_flags = flags | (signal ? kSignaled : 0u);
    if (auto ok = post_send(ep.qp(0), w.send_wr); !ok) return std::unexpected(ok.error());
    signaled += signal;
    if constexpr (kOp == Op::kWrite) {
      if (auto ok = drain_sends(c, signaled, reaped); !ok) return std::unexpected(ok.error());
    }
    ++out.iters;
  }
  if (auto ok = drain_sends(c, signaled, reaped); !ok) return std::unexpected(ok.error());
  return out;
}

// ---- bandwidth: streaming ---------------------------------------------------------------

// Best throughput over slices of the run, in Gb/s: a slice closes once it holds at least
// `slice_msgs` messages and lasts at least `slice_ns`.
class PeakMeter {
 public:
  PeakMeter(const Clock& clock, uint64_t bytes, uint64_t slice_msgs, double slice_ns)
      : clock_(clock), bytes_(bytes), slice_msgs_(slice_msgs), slice_ns_(slice_ns) {}
  void start(uint64_t now, uint64_t msgs) noexcept { t_ = now, msgs_ = msgs; }
  void update(uint64_t now, uint64_t msgs) noexcept {
    const uint64_t dm = msgs - msgs_;
    if (dm == 0) return;
    const double dt_ns = clock_.to_ns(now - t_);
    if (dm >= slice_msgs_ && dt_ns >= slice_ns_) {
      if (dt_ns > 0) peak_gbps_ = std::max(peak_gbps_, static_cast<double>(dm * bytes_) * 8 / dt_ns);
      start(now, msgs);
    }
  }
  [[nodiscard]] double peak_gbps() const noexcept { return peak_gbps_; }

 private:
  const Clock& clock_;
  uint64_t bytes_, slice_msgs_;
  double slice_ns_;
  uint64_t t_ = 0, msgs_ = 0;
  double peak_gbps_ = 0;
};

template <Op kOp>
Result<SizeOutcome> bandwidth(LoopContext& c, uint64_t bytes, bool initiator) {
  Endpoint& ep = c.ep;
  const RunSpec& spec = c.spec;
  const bool sender = initiator || spec.bidir;
  const bool receiver = uses_receives(kOp) && (!initiator || spec.bidir);
  const size_t nq = ep.qp_count();
  const uint32_t depth = ep.tx_depth();
  // One signaled completion per batch, a batch at most half the queue, 64 messages, and
  // kMaxUnsignaledBytes: on a slow link a batch of large messages must not take longer
  // than the progress timeout.
  const uint32_t signal_every = static_cast<uint32_t>(
      std::max<uint64_t>(1, std::min<uint64_t>({depth / 2, 64, kMaxUnsignaledBytes / bytes})));
  const unsigned flags = base_send_flags<kOp>(ep, bytes);
  const double duration_ns = spec.duration_s * 1e9;

  std::vector<QpWork> work;
  for (size_t q = 0; q < nq; ++q) work.push_back(make_work<kOp>(ep, q, bytes));
  // Per QP: messages posted and completed in the current phase, and the last one to post
  // (moved down to what was posted when the time is up).
  std::vector<uint64_t> posted(nq), completed(nq), target(nq);
  std::array<ibv_wc, kPollBatch> wcs{};
  uint64_t total_done = 0;
  uint32_t idle = 0;
  Progress progress(c.clock, c.progress_timeout);

  // Handles one batch of completions; returns how many there were.
  auto poll = [&]() -> Result<int> {
    const int n = ibv_poll_cq(ep.cq(), kPollBatch, wcs.data());
    if (n < 0) return fail(Errc::kSystem, "ibv_poll_cq failed");
    for (int k = 0; k < n; ++k) {
      const ibv_wc& wc = wcs[static_cast<size_t>(k)];
      if (wc.status != IBV_WC_SUCCESS) return std::unexpected(completion_error(wc));
      if ((wc.opcode & IBV_WC_RECV) != 0) {  // a send's or a write_imm's arrival
        const size_t q = wc.wr_id;
        --ep.posted_recvs()[q];
        if (auto ok = repost_recv(ep, work[q], q); !ok) return std::unexpected(ok.error());
        continue;
      }
      // A signaled completion covers every earlier message of its QP (RC completes in order).
      const size_t q = wc.wr_id >> 32;
      const uint64_t upto = wc.wr_id & 0xffffffffu;
      total_done += upto - completed[q];
      completed[q] = upto;
    }
    return n;
  };
  auto all_done = [&] {
    for (size_t q = 0; q < nq; ++q) {
      if (completed[q] < target[q]) return false;
    }
    return true;
  };
  // Streams `per_qp` messages on every QP (or, when `timed`, until the duration is up), keeping
  // `depth` in flight per QP. With a meter, the peak is tracked and the end time and count
  // are those at the moment the time was up (messages drained afterwards are not counted).
  struct Span {
    uint64_t start = 0, end = 0, msgs = 0;
  };
  auto stream = [&](uint64_t per_qp, bool timed, PeakMeter* meter) -> Result<Span> {
    std::ranges::fill(posted, 0);
    std::ranges::fill(completed, 0);
    std::ranges::fill(target, timed ? UINT64_MAX : per_qp);
    total_done = 0;
    Span span{.start = c.clock.now(), .end = 0, .msgs = 0};
    if (meter) meter->start(span.start, 0);
    bool stopping = false;
    while (!all_done()) {
      for (size_t q = 0; q < nq; ++q) {
        QpWork& w = work[q];
        while (posted[q] < target[q] && posted[q] - completed[q] < depth) {
          const uint64_t n = ++posted[q];
          const bool signal = n % signal_every == 0 || n == target[q];
          w.send_wr.wr_id = (static_cast<uint64_t>(q) << 32) | n;
          w.send_wr.send_flags = flags | (signal ? kSignaled : 0u);
          if (auto ok = post_send(ep.qp(q), w.send_wr); !ok) return std::unexpected(ok.error());
        }
      }
      auto n = poll();
      if (!n) return std::unexpected(n.error());
      if (*n == 0) {
        if (++idle % kCqSpinCheck == 0 && progress.stalled(c.clock.now())) {
          return std::unexpected(progress.error("completion"));
        }
        continue;
      }
      const uint64_t now = c.clock.now();  // once per completion batch, not per poll
      progress.mark(now);
      if (meter && !stopping) meter->update(now, total_done);
      if (timed && !stopping && static_cast<double>(c.clock.elapsed_ns(span.start, now)) >= duration_ns) {
        // Time is up: post nothing more; the last posted message of each QP signals.
        stopping = true;
        span.end = now, span.msgs = total_done;
        for (size_t q = 0; q < nq; ++q) {
          target[q] = posted[q];
          if (posted[q] > completed[q]) {
            // Its last message went out unsignaled: post one more, signaled, to drain the QP.
            target[q] = ++posted[q];
            QpWork& w = work[q];
            w.send_wr.wr_id = (static_cast<uint64_t>(q) << 32) | posted[q];
            w.send_wr.send_flags = flags | kSignaled;
            if (auto ok = post_send(ep.qp(q), w.send_wr); !ok) return std::unexpected(ok.error());
          }
        }
      }
    }
    if (!stopping) span.end = c.clock.now(), span.msgs = total_done;
    return span;
  };

  SizeOutcome out{.msg_bytes = bytes, .iters = 0, .elapsed_s = 0, .latency = std::nullopt, .bandwidth = std::nullopt};
  nlohmann::json done{{"type", "done"}};
  if (sender) {
    // Phase 0: the warm-up, a separate stream so the measured one counts exactly `iters`.
    if (spec.warmup_iters > 0) {
      if (auto w = stream(spec.warmup_iters, false, nullptr); !w) return std::unexpected(w.error());
    }
    // Phase 1: the measured stream. Peak = best of kPeakWindows slices, each at least four
    // completion batches long so the batch granularity cannot inflate it.
    const uint64_t min_slice = 4ull * signal_every * nq;
    PeakMeter meter(c.clock, bytes, spec.duration_mode() ? min_slice : std::max(min_slice, spec.iters * nq / kPeakWindows),
                    spec.duration_mode() ? duration_ns / kPeakWindows : 0);
    auto span = stream(spec.iters, spec.duration_mode(), &meter);
    if (!span) return std::unexpected(span.error());
    const double elapsed_ns = static_cast<double>(c.clock.elapsed_ns(span->start, span->end));
    BandwidthFigures bw{.messages = span->msgs,
                        .elapsed_s = elapsed_ns / 1e9,
                        .avg_gbps = elapsed_ns > 0 ? static_cast<double>(span->msgs * bytes) * 8 / elapsed_ns : 0,
                        .peak_gbps = 0,
                        .msg_rate_mpps = elapsed_ns > 0 ? static_cast<double>(span->msgs) * 1e3 / elapsed_ns : 0};
    bw.peak_gbps = std::max(meter.peak_gbps(), bw.avg_gbps);
    out.iters = span->msgs / nq;
    out.elapsed_s = bw.elapsed_s;
    out.bandwidth = bw;
    done["messages"] = bw.messages;
    done["elapsed_s"] = bw.elapsed_s;
    done["avg_gbps"] = bw.avg_gbps;
    done["peak_gbps"] = bw.peak_gbps;
    done["msg_rate_mpps"] = bw.msg_rate_mpps;
  }
  if (auto ok = c.oob.send(done, c.progress_timeout); !ok) return std::unexpected(ok.error());

  // Phase 2: until the peer is done too, keep its receives flowing (send tests).
  PeerWatch watch(c.oob);
  if (!receiver) {
    if (auto ok = wait_for_done(watch); !ok) return std::unexpected(ok.error());
  }
  while (!watch.done()) {
    auto n = poll();
    if (!n) return std::unexpected(n.error());
    if (*n > 0 || ++idle % kCqSpinCheck != 0) continue;
    auto checked = watch.check();
    if (!checked) return std::unexpected(checked.error());
  }
  if (spec.bidir && initiator) {
    // The responder's own figures travel in its "done"; the report adds both directions.
    const nlohmann::json& peer = watch.done_message();
    if (out.bandwidth && peer.contains("avg_gbps")) {
      BandwidthFigures& bw = *out.bandwidth;
      bw.messages += peer.value("messages", uint64_t{0});
      bw.avg_gbps += peer.value("avg_gbps", 0.0);
      bw.peak_gbps += peer.value("peak_gbps", 0.0);
      bw.msg_rate_mpps += peer.value("msg_rate_mpps", 0.0);
    }
  }
  return out;
}

template <Op kOp>
Result<SizeOutcome> run_size_op(LoopContext& c, uint64_t bytes, bool initiator) {
  if (c.spec.kind == TestKind::kLatency) {
    return initiator ? latency_initiator<kOp>(c, bytes) : latency_responder<kOp>(c, bytes);
  }
  return bandwidth<kOp>(c, bytes, initiator);
}

}  // namespace

Result<void> prepare_size(LoopContext& c, uint64_t bytes, bool initiator) {
  Endpoint& ep = c.ep;
  Buffer& buf = ep.buffer();
  if (c.spec.kind == TestKind::kLatency && c.spec.op == Op::kWrite) {
    // The ping-pong byte of this size starts at 0 on both sides (values run 1..255). The CPU
    // polls it, so validate() admits write latency on host memory only.
    if (!buf.host_visible()) {
      return fail(Errc::kInvalidArgument, "write latency needs host memory", "use --op write_imm or send");
    }
    ep.rx(0)[bytes - 1] = 0;
    ep.tx(0)[bytes - 1] = 0;
  }
  if (c.spec.checks_data()) {
    // Every sender's region holds the pattern and every receiver's starts zeroed, so
    // check_data() can prove the bytes arrived (not just that completions did). In GPU
    // memory the buffer does this with kernels.
    for (size_t q = 0; q < ep.qp_count(); ++q) {
      if (auto ok = buf.fill_pattern(ep.tx_offset(q), bytes, q); !ok) return ok;
      if (auto ok = buf.zero(ep.rx_offset(q), bytes); !ok) return ok;
    }
  }
  const bool receives = uses_receives(c.spec.op) &&
                        (c.spec.kind == TestKind::kLatency || !initiator || c.spec.bidir);
  if (!receives) return {};
  for (size_t q = 0; q < ep.qp_count(); ++q) {
    QpWork w = make_work<Op::kSend>(ep, q, bytes);
    while (ep.posted_recvs()[q] < ep.rx_depth()) {
      if (auto ok = repost_recv(ep, w, q); !ok) return ok;
    }
  }
  return {};
}

bool receives_data(const RunSpec& spec, bool initiator) noexcept {
  if (spec.kind != TestKind::kBandwidth) return false;
  if (spec.bidir) return true;
  return spec.op == Op::kRead ? initiator : !initiator;
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
  switch (c.spec.op) {
    case Op::kWrite: return run_size_op<Op::kWrite>(c, bytes, initiator);
    case Op::kRead: return run_size_op<Op::kRead>(c, bytes, initiator);
    case Op::kSend: return run_size_op<Op::kSend>(c, bytes, initiator);
    case Op::kWriteImm: return run_size_op<Op::kWriteImm>(c, bytes, initiator);
  }
  return fail(Errc::kInvalidArgument, "unknown op");
}

}  // namespace railcheck::verbs
