// The streaming bandwidth loop: every QP keeps `tx_depth` messages in flight, one signaled
// completion covers a batch of them, and the figures are taken when the count (or the
// duration) is reached. The initiator measures; with --bidir the responder streams too and
// sends its figures in its "done", which the initiator adds to its own.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

#include "verbs/loop_parts.hpp"

namespace railcheck::verbs::detail {
namespace {

constexpr uint64_t kMaxUnsignaledBytes = 1u << 20;  // data covered by one signaled completion
constexpr int kPeakWindows = 50;                    // peak bandwidth = best of this many slices

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

// When a stream started and stopped, and how many messages completed in between.
struct Span {
  uint64_t start = 0, end = 0, msgs = 0;
};

// One size's streams over every QP of the endpoint. A send request's wr_id is its 64-bit
// sequence number within its QP (the QP is known from the completion's qp_num): no count
// wraps however long a duration-mode run lasts.
template <Op kOp>
class Streamer {
 public:
  Streamer(LoopContext& c, uint64_t bytes)
      : c_(c), ep_(c.ep), bytes_(bytes), nq_(ep_.qp_count()), depth_(ep_.tx_depth()),
        // One signaled completion per batch, a batch at most half the queue, 64 messages, and
        // kMaxUnsignaledBytes: on a slow link a batch of large messages must not take longer
        // than the progress timeout.
        signal_every_(static_cast<uint32_t>(
            std::max<uint64_t>(1, std::min<uint64_t>({depth_ / 2, 64, kMaxUnsignaledBytes / bytes})))),
        flags_(base_send_flags<kOp>(ep_, bytes)), refill_(ep_), progress_(c.clock, c.progress_timeout),
        posted_(nq_), completed_(nq_), target_(nq_) {
    for (size_t q = 0; q < nq_; ++q) {
      work_.push_back(make_work<kOp>(ep_, q, bytes));
      qp_nums_.push_back(ep_.qp(q)->qp_num);
    }
  }

  [[nodiscard]] uint32_t signal_every() const noexcept { return signal_every_; }

  // Streams `per_qp` messages on every QP (or, when `timed`, until the duration is up). With
  // a meter, the peak is tracked, and the end time and count are those at the moment the time
  // was up (messages drained afterwards are not counted).
  Result<Span> stream(uint64_t per_qp, bool timed, PeakMeter* meter) {
    std::ranges::fill(posted_, 0);
    std::ranges::fill(completed_, 0);
    std::ranges::fill(target_, timed ? UINT64_MAX : per_qp);
    total_done_ = 0;
    Span span{.start = c_.clock.now(), .end = 0, .msgs = 0};
    if (meter) meter->start(span.start, 0);
    const double duration_ns = c_.spec.duration_s * 1e9;
    bool stopping = false;
    while (!all_done()) {
      if (auto ok = post_window(); !ok) return std::unexpected(ok.error());
      auto n = poll_batch();
      if (!n) return std::unexpected(n.error());
      if (*n == 0) {
        if (++idle_ % kCqSpinCheck == 0 && progress_.stalled(c_.clock.now())) {
          return std::unexpected(progress_.error("completion"));
        }
        continue;
      }
      const uint64_t now = c_.clock.now();  // once per completion batch, not per poll
      progress_.mark(now);
      if (meter && !stopping) meter->update(now, total_done_);
      if (timed && !stopping && static_cast<double>(c_.clock.elapsed_ns(span.start, now)) >= duration_ns) {
        stopping = true;
        span.end = now, span.msgs = total_done_;
        if (auto ok = stop_posting(); !ok) return std::unexpected(ok.error());
      }
    }
    if (!stopping) span.end = c_.clock.now(), span.msgs = total_done_;
    return span;
  }

  // Until the peer says done, keeps its receives flowing (send tests) and reaps completions.
  Result<void> keep_receiving(PeerWatch& watch) {
    while (!watch.done()) {
      auto n = poll_batch();
      if (!n) return std::unexpected(n.error());
      if (*n > 0 || ++idle_ % kCqSpinCheck != 0) continue;
      if (auto checked = watch.check(); !checked) return std::unexpected(checked.error());
    }
    return {};
  }

 private:
  // Tops every QP up to `depth` messages in flight; the last of a batch (and of the target)
  // is signaled.
  Result<void> post_window() {
    for (size_t q = 0; q < nq_; ++q) {
      QpWork& w = work_[q];
      while (posted_[q] < target_[q] && posted_[q] - completed_[q] < depth_) {
        const uint64_t n = ++posted_[q];
        const bool signal = n % signal_every_ == 0 || n == target_[q];
        w.send_wr.wr_id = n;
        w.send_wr.send_flags = flags_ | (signal ? kSignaled : 0u);
        if (auto ok = post_send(ep_.qp(q), w.send_wr); !ok) return ok;
      }
    }
    return {};
  }

  // One poll of the CQ: a receive is reposted (in batches), a signaled send completes every
  // earlier message of its QP (RC completes in order). Returns how many completions there were.
  Result<int> poll_batch() {
    const int n = ibv_poll_cq(ep_.cq(), kPollBatch, wcs_.data());
    if (n < 0) return fail(Errc::kSystem, "ibv_poll_cq failed");
    for (int k = 0; k < n; ++k) {
      const ibv_wc& wc = wcs_[static_cast<size_t>(k)];
      if (wc.status != IBV_WC_SUCCESS) return std::unexpected(completion_error(wc));
      const size_t q = qp_index(wc.qp_num);
      if ((wc.opcode & IBV_WC_RECV) != 0) {  // a send's or a write_imm's arrival
        if (auto ok = refill_.consumed(q); !ok) return std::unexpected(ok.error());
        continue;
      }
      total_done_ += wc.wr_id - completed_[q];
      completed_[q] = wc.wr_id;
    }
    return n;
  }

  // Time is up: post nothing more; a QP whose last message went out unsignaled gets one more,
  // signaled, so that its completions drain.
  Result<void> stop_posting() {
    for (size_t q = 0; q < nq_; ++q) {
      target_[q] = posted_[q];
      if (posted_[q] == completed_[q]) continue;
      target_[q] = ++posted_[q];
      QpWork& w = work_[q];
      w.send_wr.wr_id = posted_[q];
      w.send_wr.send_flags = flags_ | kSignaled;
      if (auto ok = post_send(ep_.qp(q), w.send_wr); !ok) return ok;
    }
    return {};
  }

  [[nodiscard]] bool all_done() const noexcept {
    for (size_t q = 0; q < nq_; ++q) {
      if (completed_[q] < target_[q]) return false;
    }
    return true;
  }
  [[nodiscard]] size_t qp_index(uint32_t qp_num) const noexcept {
    for (size_t q = 0; q < nq_; ++q) {
      if (qp_nums_[q] == qp_num) return q;
    }
    return 0;  // not ours: cannot happen on a CQ of our own
  }

  LoopContext& c_;
  Endpoint& ep_;
  uint64_t bytes_;
  size_t nq_;
  uint32_t depth_, signal_every_;
  unsigned flags_;
  ReceiveRefill refill_;
  Progress progress_;
  std::vector<QpWork> work_;
  std::vector<uint32_t> qp_nums_;
  // Per QP: messages posted and completed in the current stream, and the last one to post
  // (moved down to what was posted when the time is up).
  std::vector<uint64_t> posted_, completed_, target_;
  std::array<ibv_wc, kPollBatch> wcs_{};
  uint64_t total_done_ = 0;
  uint32_t idle_ = 0;
};

// The warm-up stream, then the measured one; this side's figures.
template <Op kOp>
Result<BandwidthFigures> measure(LoopContext& c, Streamer<kOp>& s, uint64_t bytes) {
  const RunSpec& spec = c.spec;
  const size_t nq = c.ep.qp_count();
  if (spec.warmup_iters > 0) {  // a separate stream, so that the measured one counts exactly `iters`
    if (auto w = s.stream(spec.warmup_iters, false, nullptr); !w) return std::unexpected(w.error());
  }
  // Peak = best of kPeakWindows slices, each at least four completion batches long so the
  // batch granularity cannot inflate it.
  const uint64_t min_slice = 4ull * s.signal_every() * nq;
  PeakMeter meter(c.clock, bytes, spec.duration_mode() ? min_slice : std::max(min_slice, spec.iters * nq / kPeakWindows),
                  spec.duration_mode() ? spec.duration_s * 1e9 / kPeakWindows : 0);
  auto span = s.stream(spec.iters, spec.duration_mode(), &meter);
  if (!span) return std::unexpected(span.error());
  const double elapsed_ns = static_cast<double>(c.clock.elapsed_ns(span->start, span->end));
  BandwidthFigures bw{.messages = span->msgs,
                      .elapsed_s = elapsed_ns / 1e9,
                      .avg_gbps = elapsed_ns > 0 ? static_cast<double>(span->msgs * bytes) * 8 / elapsed_ns : 0,
                      .peak_gbps = 0,
                      .msg_rate_mpps = elapsed_ns > 0 ? static_cast<double>(span->msgs) * 1e3 / elapsed_ns : 0};
  bw.peak_gbps = std::max(meter.peak_gbps(), bw.avg_gbps);
  return bw;
}

void put_figures(nlohmann::json& msg, const BandwidthFigures& bw) {
  msg["messages"] = bw.messages;
  msg["elapsed_s"] = bw.elapsed_s;
  msg["avg_gbps"] = bw.avg_gbps;
  msg["peak_gbps"] = bw.peak_gbps;
  msg["msg_rate_mpps"] = bw.msg_rate_mpps;
}

// --bidir: the responder's figures (from its "done") added to the initiator's.
void add_peer_figures(BandwidthFigures& bw, const nlohmann::json& peer) {
  if (!peer.contains("avg_gbps")) return;
  bw.messages += peer.value("messages", uint64_t{0});
  bw.avg_gbps += peer.value("avg_gbps", 0.0);
  bw.peak_gbps += peer.value("peak_gbps", 0.0);
  bw.msg_rate_mpps += peer.value("msg_rate_mpps", 0.0);
}

template <Op kOp>
Result<SizeOutcome> bandwidth(LoopContext& c, uint64_t bytes, bool initiator) {
  const RunSpec& spec = c.spec;
  const bool sender = initiator || spec.bidir;
  const bool receiver = op_info(kOp).uses_receives && (!initiator || spec.bidir);
  Streamer<kOp> streamer(c, bytes);
  SizeOutcome out{.msg_bytes = bytes, .iters = 0, .elapsed_s = 0, .latency = std::nullopt, .bandwidth = std::nullopt, .counters = {}};
  nlohmann::json done{{"type", "done"}};
  if (sender) {
    auto bw = measure(c, streamer, bytes);
    if (!bw) return std::unexpected(bw.error());
    out.iters = bw->messages / c.ep.qp_count();
    out.elapsed_s = bw->elapsed_s;
    out.bandwidth = *bw;
    put_figures(done, *bw);
  }
  if (auto ok = c.oob.send(done, c.progress_timeout); !ok) return std::unexpected(ok.error());
  // Until the peer is done too, keep its receives flowing (send tests).
  PeerWatch watch(c.oob);
  auto waited = receiver ? streamer.keep_receiving(watch) : wait_for_done(watch);
  if (!waited) return std::unexpected(waited.error());
  if (spec.bidir && initiator && out.bandwidth) add_peer_figures(*out.bandwidth, watch.done_message());
  return out;
}

}  // namespace

Result<SizeOutcome> run_bandwidth(LoopContext& c, uint64_t bytes, bool initiator) {
  return with_op(c.spec.op, [&]<Op kOp>() { return bandwidth<kOp>(c, bytes, initiator); });
}

}  // namespace railcheck::verbs::detail
