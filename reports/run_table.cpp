#include "reports/run_table.hpp"

#include <fmt/format.h>

namespace railcheck::reports {
namespace {

// "host", "host (huge pages)", "cuda GPU 0 0000:19:00.0 PIX, dmabuf".
std::string memory_text(const verbs::MemoryInfo& m) {
  if (!m.gpu) return m.huge_pages ? m.kind + " (huge pages)" : m.kind;
  return fmt::format("{} GPU {} {} {}, {}", m.kind, *m.gpu, m.gpu_pci_address,
                     m.gpu_distance.empty() ? "distance unknown" : m.gpu_distance, m.registration);
}

}  // namespace

std::string run_header(const verbs::RunRecord& run) {
  const auto& s = run.spec;
  std::string mode = s.duration_mode() ? fmt::format("{} s per size", s.duration_s) : fmt::format("{} iterations", s.iters);
  std::string shape = s.kind == verbs::TestKind::kBandwidth
                          ? fmt::format(", {} QP(s), tx depth {}{}", s.qps, s.tx_depth, s.bidir ? ", bidirectional" : "")
                          : "";
  return fmt::format(
      "railcheck {} {}: {}{}\n"
      "  local  {} gid[{}] {} {}, {} memory\n"
      "  remote {} gid[{}] {} {} via {}, {} memory\n"
      "  path MTU {}, clock {}{}\n",
      verbs::to_string(s.kind), verbs::to_string(s.op), mode, shape, run.local.device, run.local.gid_index,
      run.local.gid, run.local.gid_type, memory_text(run.local.memory), run.remote.device, run.remote.gid_index,
      run.remote.gid, run.remote.gid_type, run.peer, memory_text(run.remote.memory), run.path_mtu_bytes, run.clock,
      run.rdma_cm ? ", connected with rdma_cm" : "");
}

std::string size_columns(const verbs::RunSpec& spec) {
  if (spec.kind == verbs::TestKind::kLatency) {
    return fmt::format("{:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}   [us]\n", "bytes", "iters",
                       "min", "p50", "p90", "p99", "p99.9", "max", "mean", "stdev");
  }
  return fmt::format("{:>10} {:>10} {:>14} {:>14} {:>14}\n", "bytes", "iters", "peak[Gb/s]", "avg[Gb/s]",
                     "rate[Mpps]");
}

std::string size_row(const verbs::RunSpec& spec, const verbs::SizeOutcome& s) {
  if (spec.kind == verbs::TestKind::kLatency && s.latency) {
    const auto& l = *s.latency;
    return fmt::format("{:>10} {:>10} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f}\n",
                       s.msg_bytes, s.iters, l.min_ns / 1e3, l.p50_ns / 1e3, l.p90_ns / 1e3, l.p99_ns / 1e3,
                       l.p999_ns / 1e3, l.max_ns / 1e3, l.mean_ns / 1e3, l.stdev_ns / 1e3);
  }
  if (s.bandwidth) {
    const auto& b = *s.bandwidth;
    return fmt::format("{:>10} {:>10} {:>14.3f} {:>14.3f} {:>14.4f}\n", s.msg_bytes, s.iters, b.peak_gbps, b.avg_gbps,
                       b.msg_rate_mpps);
  }
  return fmt::format("{:>10} {:>10} (no figures on this side)\n", s.msg_bytes, s.iters);
}

}  // namespace railcheck::reports
