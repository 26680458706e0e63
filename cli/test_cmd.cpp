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
#include "cli/spec_options.hpp"
#include "gpudirect/memory.hpp"
#include "reports/outputs.hpp"
#include "reports/run_table.hpp"
#include "reports/single_results.hpp"
#include "topology/netlink.hpp"
#include "verbs/session.hpp"

namespace railcheck::cli {
namespace {

struct TestOptions {
  std::string peer;
  int port = verbs::kDefaultPort;
  DeviceChoice device;
  std::string op = "write";
  SpecOptions spec;
  std::string format = "table";
  std::string output;
  double timeout_s = 10;
  double connect_timeout_s = 5;
  bool rdma_cm = false;
};

SpecScope scope_of(verbs::TestKind kind) {
  return SpecScope{.latency = kind == verbs::TestKind::kLatency, .bandwidth = kind == verbs::TestKind::kBandwidth,
                   .peer_mem_follows_mem = false};
}

Result<verbs::RunSpec> build_test_spec(const TestOptions& o, verbs::TestKind kind) {
  auto op = verbs::parse_op(o.op);
  if (!op) return std::unexpected(op.error());
  return build_spec(o.spec, scope_of(kind), verbs::TestId{.kind = kind, .op = *op});
}

// The rail the ad hoc run is on, as its records name it.
std::string rail_of(const DeviceChoice& d) {
  return !d.rail.empty() ? d.rail : (!d.netdev.empty() ? d.netdev : d.device);
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
    reports::PairEnd src, dst;
    src.node = "local";
    src.interface = !o.device.rail.empty() ? o.device.rail : o.device.netdev;
    dst.node = o.peer;
    res.records = reports::unrun_records(spec, rail_of(o.device), src, dst, /*waived=*/true, cause.message());
    out << reports::render(res, "json");
  }
  return kExitWaived;
}

int run_test(const TestOptions& o, verbs::TestKind kind, const char* name) {
  auto spec = build_test_spec(o, kind);
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
      .hw_counters = topology::read_rdma_port_stats,
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
    out << reports::render(reports::results_from_run(*rec, where), "json");
  }
  return kExitOk;
}

void add_test_options(CLI::App& sub, TestOptions& o, verbs::TestKind kind) {
  sub.add_option("peer", o.peer, "The server's address for the out-of-band exchange (where `railcheck serve` runs)")
      ->required();
  sub.add_option("-p,--port", o.port, "The server's TCP port")->check(CLI::Range(1, 65535))->default_val(verbs::kDefaultPort);
  add_device_options(sub, o.device);
  add_op_option(sub, o.op);
  add_spec_options(sub, o.spec, scope_of(kind));
  sub.add_flag("-R,--rdma-cm", o.rdma_cm,
               "Connect the QPs through rdma_cm (address and route resolved by the CM) instead of the OOB exchange");
  sub.add_option("--format", o.format, "table (default) or json (schema railcheck.results/v1.1, one record per size)")
      ->check(CLI::IsMember({"table", "json"}));
  sub.add_option("-o,--output", o.output, "Write the result to FILE instead of stdout");
  add_progress_timeout_option(sub, o.timeout_s, "the peer is declared gone");
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
