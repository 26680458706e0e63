#include "cli/spec_options.hpp"

#include <fmt/format.h>

#include "gpudirect/memory.hpp"

namespace railcheck::cli {
namespace {

std::string default_size_text(const SpecScope& scope) {
  const auto lat = verbs::default_spec(verbs::TestKind::kLatency, verbs::Op::kWrite);
  const auto bw = verbs::default_spec(verbs::TestKind::kBandwidth, verbs::Op::kWrite);
  const std::string l = verbs::format_size(lat.sizes_bytes.front()), b = verbs::format_size(bw.sizes_bytes.front());
  if (scope.latency && scope.bandwidth) return fmt::format("lat {}, bw {}; atomics 8 B", l, b);
  return scope.latency ? fmt::format("{}; atomics 8 B", l) : fmt::format("{}; atomics 8 B", b);
}

template <typename Field>
std::string kind_defaults(const SpecScope& scope, Field field) {
  const auto lat = verbs::default_spec(verbs::TestKind::kLatency, verbs::Op::kWrite);
  const auto bw = verbs::default_spec(verbs::TestKind::kBandwidth, verbs::Op::kWrite);
  if (scope.latency && scope.bandwidth) return fmt::format("lat {}, bw {}", field(lat), field(bw));
  return fmt::format("{}", scope.latency ? field(lat) : field(bw));
}

}  // namespace

void add_op_option(CLI::App& sub, std::string& op) {
  sub.add_option("--op", op, "Verb:\n" + verbs::ops_help())
      ->check(CLI::IsMember(verbs::op_names()))
      ->default_val("write");
}

void add_progress_timeout_option(CLI::App& sub, double& timeout_s, std::string_view what) {
  sub.add_option("--timeout", timeout_s, fmt::format("Seconds without progress before {}", what))
      ->check(CLI::Range(0.1, 3600.0))
      ->default_val(10);
}

void add_spec_options(CLI::App& sub, SpecOptions& o, const SpecScope& scope) {
  auto* size = sub.add_option("-s,--size", o.sizes,
                              fmt::format("Message size(s): bytes or K/M/G, repeat or comma-separate (default {})",
                                          default_size_text(scope)))
                   ->delimiter(',');
  sub.add_flag("-a,--sweep", o.sweep, "Every power of two from 2 B to 8 MiB (like perftest -a)")->excludes(size);
  auto* iters = sub.add_option(
      "-n,--iters", o.iters,
      fmt::format("Iterations per size (bandwidth: messages per QP), after the warm-up (default {})",
                  kind_defaults(scope, [](const verbs::RunSpec& s) {
                    return s.duration_mode() ? std::string("none: timed, see -D") : fmt::format("{}", s.iters);
                  })));
  sub.add_option("-D,--duration", o.duration_s,
                 fmt::format("Seconds per size instead of a fixed count (percentiles are kept) (default {})",
                             kind_defaults(scope, [](const verbs::RunSpec& s) {
                               return s.duration_mode() ? fmt::format("{:g} s", s.duration_s) : std::string("a count");
                             })))
      ->check(CLI::Range(0.01, verbs::kMaxDurationS))
      ->excludes(iters);
  sub.add_option("--warmup", o.warmup,
                 fmt::format("Warm-up iterations per size, not counted (default {})",
                             kind_defaults(scope, [](const verbs::RunSpec& s) { return s.warmup_iters; })))
      ->check(CLI::Range(int64_t{0}, static_cast<int64_t>(verbs::kMaxIters)));
  if (scope.bandwidth) {
    const auto bw = verbs::default_spec(verbs::TestKind::kBandwidth, verbs::Op::kWrite);
    const std::string prefix = scope.latency ? "Bandwidth: " : "";
    sub.add_option("-q,--qps", o.qps, fmt::format("{}queue pairs, used round-robin (default {})", prefix, bw.qps))
        ->check(CLI::Range(1u, verbs::kMaxQps));
    sub.add_option("-t,--tx-depth", o.tx_depth,
                   fmt::format("{}outstanding sends per QP (default {})", prefix, bw.tx_depth))
        ->check(CLI::Range(1u, verbs::kMaxTxDepth));
    sub.add_flag("-b,--bidir", o.bidir,
                 prefix + "both sides send at once; the figures are the sum of both directions");
    sub.add_flag("--verify", o.verify,
                 prefix + "check the data in GPU memory too: the pattern is copied in before and read back after "
                          "(host memory is always checked)");
  }
  sub.add_option("--tclass", o.path.tclass,
                 "Traffic class of the QPs' GRH (RoCEv2: the IP DSCP/ECN byte; on lossless RoCE the class the "
                 "switches give PFC, e.g. 106 = DSCP 26 + ECT) (default 0)")
      ->check(CLI::Range(0, 255))
      ->group("Path");
  sub.add_option("--sl", o.path.sl, "Service level (InfiniBand SL; on RoCE the priority some NICs map it to) (default 0)")
      ->check(CLI::Range(0, 15))
      ->group("Path");
  sub.add_option("--flow-label", o.path.flow_label, "IPv6 flow label of the GRH, 20 bits (default 0)")
      ->check(CLI::Range(0u, 0xfffffu))
      ->group("Path");
  sub.add_flag("--ipv6", o.path.ipv6,
               "RoCE: both ends use the RoCEv2 GID of their interface's global IPv6 address (default: the IPv4 "
               "one where the interface has it)")
      ->group("Path");
  sub.add_option("--mem", o.mem,
                 fmt::format("This side's buffer: {} (cuda: the GPU nearest the NIC, or the one named by CUDA "
                             "ordinal or PCI bus id)",
                             gpudirect::memory_kinds_usage()))
      ->default_val("host")
      ->group("Memory");
  sub.add_option("--peer-mem", o.peer_mem,
                 scope.peer_mem_follows_mem ? "The server's buffer, same forms as --mem (default: as --mem)"
                                            : "The server's buffer, same forms as --mem (default host)")
      ->group("Memory");
  sub.add_option("--gpu-reg", o.gpu_reg, "How GPU memory is registered: auto (dma-buf, then peermem), dmabuf, peermem")
      ->check(CLI::IsMember({"auto", "dmabuf", "peermem"}))
      ->default_val("auto")
      ->group("Memory");
}

Result<verbs::RunSpec> build_spec(const SpecOptions& o, const SpecScope& scope, verbs::TestId test,
                                  const verbs::BandwidthDefaults& bw) {
  verbs::RunSpec spec = verbs::default_spec(test.kind, test.op, bw);
  if (o.sweep) {
    spec.sizes_bytes = verbs::sweep_sizes();
  } else if (!o.sizes.empty()) {
    auto sizes = verbs::parse_sizes(o.sizes);
    if (!sizes) return std::unexpected(sizes.error());
    spec.sizes_bytes = std::move(*sizes);
  }
  if (o.iters != 0) {
    spec.iters = o.iters;
    spec.duration_s = 0;  // a count asked for is a counted run, whatever the kind's default
  }
  if (o.duration_s > 0) spec.duration_s = o.duration_s;
  if (o.warmup >= 0) spec.warmup_iters = static_cast<uint64_t>(o.warmup);
  if (scope.bandwidth && test.kind == verbs::TestKind::kBandwidth) {
    if (o.qps != 0) spec.qps = o.qps;
    if (o.tx_depth != 0) spec.tx_depth = o.tx_depth;
    spec.bidir = o.bidir;
    spec.verify = o.verify;
  }
  auto mem = verbs::parse_memory_spec(o.mem);
  if (!mem) return std::unexpected(mem.error());
  const std::string peer = !o.peer_mem.empty() ? o.peer_mem : scope.peer_mem_follows_mem ? o.mem : "host";
  auto peer_mem = verbs::parse_memory_spec(peer);
  if (!peer_mem) return std::unexpected(peer_mem.error());
  auto reg = verbs::parse_gpu_reg(o.gpu_reg);
  if (!reg) return std::unexpected(reg.error());
  spec.mem = *mem;
  spec.peer_mem = *peer_mem;
  spec.gpu_reg = *reg;
  spec.path = o.path;
  for (const verbs::MemorySpec* m : {&spec.mem, &spec.peer_mem}) {
    if (auto ok = gpudirect::check_memory_spec(*m); !ok) return std::unexpected(ok.error());
  }
  if (auto ok = verbs::validate(spec); !ok) return std::unexpected(ok.error());
  return spec;
}

}  // namespace railcheck::cli
