// `railcheck serve`: the other end of `lat` and `bw`. Unlike perftest it keeps answering
// clients one after another until stopped, and prints one line per finished run.

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>

#include "cli/command.hpp"
#include "cli/device_choice.hpp"
#include "cli/map_inputs.hpp"
#include "cli/spec_options.hpp"
#include "gpudirect/memory.hpp"
#include "topology/netlink.hpp"
#include "verbs/session.hpp"

namespace railcheck::cli {
namespace {

std::atomic<bool> g_stop{false};
// The first Ctrl-C stops after the current client; a second one stops at once.
extern "C" void on_signal(int) {
  if (g_stop.exchange(true)) std::_Exit(130);
}

struct ServeOptions {
  DeviceChoice device;
  int port = verbs::kDefaultPort;
  std::string bind;
  std::string only_test;
  std::string only_op;
  bool once = false;
  std::string max_size;
  double timeout_s = 10;
};

// What `railcheck serve --help` says first.
constexpr const char* kDescription =
    "Answer `railcheck lat` and `railcheck bw` clients, one after another, until stopped; one line per run.\n"
    "The device is chosen per client: --device/--netdev/--rail, else the RDMA device that owns the address "
    "the client connected to. The buffers are in the memory the client asks for with --peer-mem (host, or "
    "the GPU nearest that device); a GPU this node lacks makes the run waived.\nExample: railcheck serve --rail net2";

std::string now_text() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  return fmt::format("{:%H:%M:%S}", tm);
}

std::string sizes_text(const verbs::RunSpec& spec) {
  if (spec.sizes_bytes.size() == 1) return verbs::format_size(spec.sizes_bytes[0]);
  return fmt::format("{} sizes {}..{}", spec.sizes_bytes.size(), verbs::format_size(spec.sizes_bytes.front()),
                     verbs::format_size(spec.sizes_bytes.back()));
}

int run_serve(const ServeOptions& o) {
  verbs::ServerOptions sopt;
  sopt.device_for = [&](const std::string& ip) { return resolve_device(o.device, ip); };
  // The memory each client asks for (--peer-mem on its side), on the GPU nearest our NIC.
  sopt.buffers = gpudirect::buffer_factory({.rail_map = live_map_inputs(o.device.podinfo_dir)});
  sopt.hw_counters = topology::read_rdma_port_stats;
  sopt.progress_timeout = verbs::Millis(static_cast<int64_t>(o.timeout_s * 1000));
  if (!o.only_test.empty()) sopt.only_kind = verbs::parse_test_kind(o.only_test).value();
  if (!o.only_op.empty()) sopt.only_op = verbs::parse_op(o.only_op).value();
  if (!o.max_size.empty()) {
    auto limit = verbs::parse_size(o.max_size);
    if (!limit) {
      std::cerr << "railcheck serve: --max-size: " << limit.error().message() << "\n";
      return kExitUsage;
    }
    sopt.max_size_bytes = *limit;
  }

  auto listener = verbs::OobListener::listen(o.bind, static_cast<uint16_t>(o.port));
  if (!listener) {
    std::cerr << "railcheck serve: " << listener.error().message() << "\n";
    return kExitFailed;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  std::cout << fmt::format("railcheck serve: listening on {}:{}{}\n", o.bind.empty() ? "0.0.0.0" : o.bind,
                           listener->port(), o.once ? " for one client" : ", Ctrl-C to stop")
            << std::flush;
  int failures = 0;
  while (!g_stop.load()) {
    auto client = listener->accept(verbs::Millis(500));
    if (!client) {
      if (client.error().code == Errc::kTimeout) continue;
      std::cerr << "railcheck serve: " << client.error().message() << "\n";
      return kExitFailed;
    }
    const std::string peer = client->peer_name();
    auto rec = verbs::serve_client(*client, sopt);
    if (rec) {
      std::cout << fmt::format("{} {} {} {} {} on {} -> {}: ok\n", now_text(), peer, verbs::to_string(rec->spec.kind),
                               verbs::to_string(rec->spec.op), sizes_text(rec->spec), rec->local.device,
                               rec->remote.device)
                << std::flush;
    } else if (rec.error().code == Errc::kUnsupported) {
      // What the client asked for cannot apply here (no GPU): the client reports it waived.
      std::cout << fmt::format("{} {} waived: {}\n", now_text(), peer, rec.error().message()) << std::flush;
    } else {
      ++failures;
      std::cout << fmt::format("{} {} failed: {}\n", now_text(), peer, rec.error().message()) << std::flush;
    }
    if (o.once) return rec ? kExitOk : rec.error().code == Errc::kUnsupported ? kExitWaived : kExitFailed;
  }
  std::cout << "railcheck serve: stopped\n";
  return kExitOk;
}

void add_options(CLI::App& sub, ServeOptions& opt) {
  add_device_options(sub, opt.device);
  sub.add_option("-p,--port", opt.port, "TCP port for the out-of-band exchange")
      ->check(CLI::Range(1, 65535))
      ->default_val(verbs::kDefaultPort);
  sub.add_option("--bind", opt.bind, "Listen on this IPv4 address only (default: all)");
  sub.add_option("--test", opt.only_test, "Refuse clients that ask for another test (lat or bw)")
      ->check(CLI::IsMember({"lat", "bw"}));
  sub.add_option("--op", opt.only_op, "Refuse clients that ask for another verb (write, read, send, write_imm)")
      ->check(CLI::IsMember({"write", "read", "send", "write_imm"}));
  sub.add_option("--max-size", opt.max_size, "Refuse clients asking for larger messages (e.g. 1M; default 1G)");
  sub.add_flag("--once", opt.once, "Serve one client, then exit with its status");
  add_progress_timeout_option(sub, opt.timeout_s, "a client is declared gone");
}

}  // namespace

Command add_serve_command(CLI::App& parent) {
  return add_command(parent, "serve", kDescription, add_options, run_serve);
}

}  // namespace railcheck::cli
