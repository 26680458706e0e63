// `railcheck lat PEER` and `railcheck bw PEER`: one test against `railcheck serve` on the
// peer, the ad hoc replacement for ib_{write,read,send}_{lat,bw}.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <memory>

#include "cli/command.hpp"
#include "cli/device_choice.hpp"
#include "cli/map_inputs.hpp"
#include "gpudirect/memory.hpp"
#include "reports/outputs.hpp"
#include "reports/run_table.hpp"
#include "reports/single_results.hpp"
#include "verbs/session.hpp"

namespace railcheck::cli {
namespace {

struct TestOptions {
  std::string peer;
  int port = verbs::kDefaultPort;
  DeviceChoice device;
  std::string op = "write";
  std::vector<std::string> sizes;
  bool sweep = false;
  uint64_t iters = 0;       // 0: the test kind's default
  double duration_s = 0;
  int64_t warmup = -1;      // -1: default
  uint32_t qps = 1;
  uint32_t tx_depth = 128;
  bool bidir = false;
  std::string mem = "host";
  std::string peer_mem = "host";
  std::string gpu_reg = "auto";
  bool verify = false;
  std::string format = "table";
  std::string output;
  double timeout_s = 10;
  double connect_timeout_s = 5;
  bool rdma_cm = false;
};

Result<verbs::RunSpec> build_spec(const TestOptions& o, verbs::TestKind kind) {
  auto op = verbs::parse_op(o.op);
  if (!op) return std::unexpected(op.error());
  verbs::RunSpec spec = verbs::default_spec(kind, *op);
  if (o.sweep) {
    spec.sizes_bytes = verbs::sweep_sizes();
  } else if (!o.sizes.empty()) {
    auto sizes = verbs::parse_sizes(o.sizes);
    if (!sizes) return std::unexpected(sizes.error());
    spec.sizes_bytes = std::move(*sizes);
  }
  if (o.iters != 0) spec.iters = o.iters;
  spec.duration_s = o.duration_s;
  if (o.warmup >= 0) spec.warmup_iters = static_cast<uint64_t>(o.warmup);
  spec.qps = o.qps;
  spec.tx_depth = o.tx_depth;
  spec.bidir = o.bidir;
  spec.verify = o.verify;
  auto mem = verbs::parse_memory_spec(o.mem);
  if (!mem) return std::unexpected(mem.error());
  auto peer_mem = verbs::parse_memory_spec(o.peer_mem);
  if (!peer_mem) return std::unexpected(peer_mem.error());
  auto reg = verbs::parse_gpu_reg(o.gpu_reg);
  if (!reg) return std::unexpected(reg.error());
  spec.mem = *mem;
  spec.peer_mem = *peer_mem;
  spec.gpu_reg = *reg;
  for (const verbs::MemorySpec* m : {&spec.mem, &spec.peer_mem}) {
    if (auto ok = gpudirect::check_memory_spec(*m); !ok) return std::unexpected(ok.error());
  }
  if (auto ok = verbs::validate(spec); !ok) return std::unexpected(ok.error());
  return spec;
}

// A test that cannot apply here (no GPU, no CUDA driver, on either side): one line on
// stderr; with --format json, a document saying so. Exit code 3, not a failure.
int report_waived(const TestOptions& o, const verbs::RunSpec& spec, const char* name, const Error& cause,
                  std::ostream& out) {
  std::cerr << "railcheck " << name << ": waived: " << cause.message() << "\n";
  if (o.format == "json") {
    // The results shape of a run, with one waived record per size: a pipeline reads a waived
    // test like any other (verdict and cause), and `railcheck report` re-renders it.
    reports::Results res;
    res.meta = reports::single_run_meta(spec);
    const std::string test = res.meta.tests.front();
    for (uint64_t size : spec.sizes_bytes) {
      reports::Record r;
      r.rail = !o.device.rail.empty() ? o.device.rail : (!o.device.netdev.empty() ? o.device.netdev : o.device.device);
      r.src.node = "local";
      r.src.interface = !o.device.rail.empty() ? o.device.rail : o.device.netdev;
      r.src.mem = verbs::to_string(spec.mem);
      r.dst.node = o.peer;
      r.dst.mem = verbs::to_string(spec.peer_mem);
      r.test = test;
      r.size_bytes = size;
      r.bidir = spec.bidir;
      r.qps = spec.qps;
      r.verdict = reports::Verdict::kWaived;
      r.cause = cause.message();
      res.records.push_back(std::move(r));
    }
    out << reports::render_json(res);
  }
  return kExitWaived;
}

int run_test(const TestOptions& o, verbs::TestKind kind, const char* name) {
  auto spec = build_spec(o, kind);
  if (!spec) {
    std::cerr << "railcheck " << name << ": " << spec.error().message() << "\n";
    return kExitUsage;
  }
  std::ofstream file;
  if (!o.output.empty()) {
    file.open(o.output);
    if (!file) {
      std::cerr << fmt::format("railcheck {}: cannot write {}\n", name, o.output);
      return kExitUsage;
    }
  }
  std::ostream& out = o.output.empty() ? std::cout : file;
  const bool table = o.format == "table";
  // No GPU or driver here: waived before any connection is made.
  if (auto ok = gpudirect::memory_available(spec->mem); !ok) {
    if (ok.error().code == Errc::kUnsupported) return report_waived(o, *spec, name, ok.error(), out);
    std::cerr << "railcheck " << name << ": " << ok.error().message() << "\n";
    return kExitFailed;
  }
  verbs::ClientOptions copt{
      .peer = o.peer,
      .port = static_cast<uint16_t>(o.port),
      .device_for = [&](const std::string& ip) { return resolve_device(o.device, ip); },
      .buffers = gpudirect::buffer_factory({.rail_map = live_map_inputs(o.device.podinfo_dir)}),
      .spec = *spec,
      .rdma_cm = o.rdma_cm,
      .connect_timeout = verbs::Millis(static_cast<int64_t>(o.connect_timeout_s * 1000)),
      .progress_timeout = verbs::Millis(static_cast<int64_t>(o.timeout_s * 1000))};
  bool header_done = false;
  // Rows appear as sizes finish: a sweep shows progress instead of silence.
  auto on_size = [&](const verbs::RunRecord& run, const verbs::SizeOutcome& s) {
    if (!table) return;
    if (!header_done) out << reports::run_header(run) << reports::size_columns(*spec), header_done = true;
    out << reports::size_row(*spec, s) << std::flush;
  };
  spdlog::debug("{} {} to {}:{}, {} size(s)", name, o.op, o.peer, o.port, spec->sizes_bytes.size());
  const std::string started = reports::utc_now();
  auto rec = verbs::run_client(copt, on_size);
  if (!rec && rec.error().code == Errc::kUnsupported) return report_waived(o, *spec, name, rec.error(), out);
  if (!rec) {
    std::cerr << "railcheck " << name << ": " << rec.error().message() << "\n";
    return kExitFailed;
  }
  if (!table) {
    reports::SingleRunContext where;
    where.interface = !o.device.rail.empty() ? o.device.rail : o.device.netdev;
    where.started = started;
    out << reports::render_json(reports::results_from_run(*rec, where));
  }
  return kExitOk;
}

void add_test_options(CLI::App& sub, TestOptions& o, verbs::TestKind kind) {
  sub.add_option("peer", o.peer, "The server's address for the out-of-band exchange (where `railcheck serve` runs)")
      ->required();
  sub.add_option("-p,--port", o.port, "The server's TCP port")->check(CLI::Range(1, 65535))->default_val(verbs::kDefaultPort);
  add_device_options(sub, o.device);
  sub.add_option("--op", o.op,
                 "Verb: write, read, send or write_imm (RDMA write with immediate: completion on the receiver's CQ)")
      ->check(CLI::IsMember({"write", "read", "send", "write_imm"}))
      ->default_val("write");
  auto* size = sub.add_option("-s,--size", o.sizes,
                              fmt::format("Message size(s): bytes or K/M/G, repeat or comma-separate (default {})",
                                          kind == verbs::TestKind::kLatency ? "2" : "64K"))
                   ->delimiter(',');
  sub.add_flag("-a,--sweep", o.sweep, "Every power of two from 2 B to 8 MiB (like perftest -a)")->excludes(size);
  auto* iters = sub.add_option("-n,--iters", o.iters,
                               fmt::format("Iterations per size, after the warm-up (default {})",
                                           kind == verbs::TestKind::kLatency ? 1000 : 5000));
  sub.add_option("-D,--duration", o.duration_s, "Seconds per size instead of a fixed count (percentiles are kept)")
      ->check(CLI::Range(0.01, verbs::kMaxDurationS))
      ->excludes(iters);
  sub.add_option("--warmup", o.warmup, "Warm-up iterations per size, not counted (default: lat 100, bw 16 per QP)")
      ->check(CLI::Range(int64_t{0}, static_cast<int64_t>(verbs::kMaxIters)));
  if (kind == verbs::TestKind::kBandwidth) {
    sub.add_option("-q,--qps", o.qps, "Queue pairs, used round-robin")->default_val(1);
    sub.add_option("-t,--tx-depth", o.tx_depth, "Outstanding sends per QP")->default_val(128);
    sub.add_flag("-b,--bidir", o.bidir, "Both sides send at once; the figures are the sum of both directions");
    sub.add_flag("--verify", o.verify,
                 "Check the data in GPU memory too: the pattern is copied in, what arrived is copied out and "
                 "compared (host memory is always checked)");
  }
  sub.add_option("--mem", o.mem,
                 fmt::format("This side's buffer: {} (cuda: the GPU nearest the NIC, or the one named by CUDA "
                             "ordinal or PCI bus id)",
                             gpudirect::memory_kinds_usage()))
      ->default_val("host")
      ->group("Memory");
  sub.add_option("--peer-mem", o.peer_mem, "The server's buffer, same forms as --mem")->default_val("host")->group("Memory");
  sub.add_option("--gpu-reg", o.gpu_reg, "How GPU memory is registered: auto (dma-buf, then peermem), dmabuf, peermem")
      ->check(CLI::IsMember({"auto", "dmabuf", "peermem"}))
      ->default_val("auto")
      ->group("Memory");
  sub.add_flag("-R,--rdma-cm", o.rdma_cm,
               "Connect the QPs through rdma_cm (address and route resolved by the CM) instead of the OOB exchange");
  sub.add_option("--format", o.format, "table (default) or json (schema railcheck.results/v1, one record per size)")
      ->check(CLI::IsMember({"table", "json"}));
  sub.add_option("-o,--output", o.output, "Write the result to FILE instead of stdout");
  sub.add_option("--timeout", o.timeout_s, "Seconds without progress before the peer is declared gone")
      ->check(CLI::Range(0.1, 3600.0))
      ->default_val(10);
  sub.add_option("--connect-timeout", o.connect_timeout_s, "Seconds to wait for the server to answer")
      ->check(CLI::Range(0.1, 600.0))
      ->default_val(5);
}

Command add_test_command(CLI::App& parent, verbs::TestKind kind) {
  const bool lat = kind == verbs::TestKind::kLatency;
  auto opt = std::make_shared<TestOptions>();
  CLI::App* sub = parent.add_subcommand(
      lat ? "lat" : "bw",
      lat ? "Latency against `railcheck serve` on PEER: ping-pong (write, send: half the round trip; read: the full "
            "round trip), min/p50/p90/p99/p99.9/max/mean/stdev per size, in every mode.\n"
            "Example: railcheck lat 172.16.12.11 --rail net2 --op read --sweep"
          : "Bandwidth against `railcheck serve` on PEER: streaming write, read or send over one or more QPs, peak "
            "and average Gb/s and message rate per size.\n"
            "Example: railcheck bw 172.16.12.11 --rail net2 -s 64K,1M --qps 4 --bidir");
  add_test_options(*sub, *opt, kind);
  return Command{sub, [opt, kind, lat] { return run_test(*opt, kind, lat ? "lat" : "bw"); }};
}

}  // namespace

Command add_lat_command(CLI::App& parent) { return add_test_command(parent, verbs::TestKind::kLatency); }
Command add_bw_command(CLI::App& parent) { return add_test_command(parent, verbs::TestKind::kBandwidth); }

}  // namespace railcheck::cli
