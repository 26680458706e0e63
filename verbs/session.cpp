#include "verbs/session.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "verbs/cm.hpp"
#include "verbs/placement.hpp"
#include "verbs/port_attrs.hpp"

namespace railcheck::verbs {
namespace {

// Reads the next message and checks its type; a "refuse" or "error" becomes a peer error.
Result<nlohmann::json> expect(OobSocket& oob, std::string_view type, Millis timeout) {
  auto msg = oob.receive(timeout);
  if (!msg) return msg;
  const std::string got = msg->value("type", "");
  if (got == type) return msg;
  if (got == "refuse" || got == "error") {
    // A capability the peer lacks (no GPU there) stays kUnsupported: the run is waived.
    const Errc code = msg->value("code", "") == to_string(Errc::kUnsupported) ? Errc::kUnsupported : Errc::kPeer;
    return fail(code, fmt::format("{} {}: {}", oob.peer_name(), got == "refuse" ? "refused" : "failed",
                                  msg->value("reason", "no reason given")));
  }
  return fail(Errc::kProtocol, fmt::format("expected \"{}\" from {}, got \"{}\"", type, oob.peer_name(), got));
}

// Tells the peer why this side gives up, best effort, and returns the error.
std::unexpected<Error> give_up(OobSocket& oob, const char* type, Error e) {
  (void)oob.send({{"type", type}, {"reason", e.message()}, {"code", to_string(e.code)}}, Millis(1000));
  return std::unexpected(std::move(e));
}

// The server's counter deltas of one size, as the "counters" message carries them.
nlohmann::json counters_message(const std::optional<std::vector<CounterDelta>>& deltas, const std::string& note) {
  nlohmann::json msg{{"type", "counters"}};
  if (deltas) msg["counters"] = counters_json(deltas);
  else msg["note"] = note;
  return msg;
}

// The same read back by the client; the meanings come from this side's table.
Result<void> read_counters_message(const nlohmann::json& msg, SizeOutcome& out) {
  auto it = msg.find("counters");
  if (it == msg.end()) {
    out.counters.note = "peer: " + msg.value("note", std::string("counters not read"));
    return {};
  }
  if (!it->is_object()) return fail(Errc::kProtocol, "\"counters\" from the server is not an object");
  std::vector<CounterDelta> deltas;
  for (const auto& [name, value] : it->items()) {
    if (!value.is_number_unsigned()) {
      return fail(Errc::kProtocol, fmt::format("counter {} from the server is not a count: {}", name, value.dump()));
    }
    deltas.push_back({name, value.get<uint64_t>(), counter_meaning(name)});
  }
  out.counters.remote = std::move(deltas);
  return {};
}

// Every size runs between two readings of each end's port counters; the server sends its
// deltas after the size (and after the data check), so the client records both ends.
Result<void> run_sizes(LoopContext& ctx, bool initiator, PortCounterWatch& counters, RunRecord& rec,
                       const SizeCallback& on_size) {
  for (uint64_t bytes : ctx.spec.sizes_bytes) {
    counters.start();
    if (initiator) {
      if (auto ok = prepare_size(ctx, bytes, true); !ok) return give_up(ctx.oob, "error", ok.error());
      if (auto ok = ctx.oob.send({{"type", "size"}, {"bytes", bytes}}, ctx.progress_timeout); !ok) return ok;
      if (auto ok = expect(ctx.oob, "ready", ctx.progress_timeout); !ok) return std::unexpected(ok.error());
    } else {
      auto msg = ctx.oob.receive(ctx.progress_timeout);
      if (!msg) return std::unexpected(msg.error());
      if (msg->value("type", "") != "size" || msg->value("bytes", uint64_t{0}) != bytes) {
        return fail(Errc::kProtocol, fmt::format("expected size {} from the client, got {}", bytes, msg->dump()));
      }
      if (auto ok = prepare_size(ctx, bytes, false); !ok) return give_up(ctx.oob, "error", ok.error());
      if (auto ok = ctx.oob.send({{"type", "ready"}}, ctx.progress_timeout); !ok) return ok;
    }
    auto outcome = run_size(ctx, bytes, initiator);
    if (!outcome) {
      Error e = outcome.error();
      e.what = fmt::format("{} {} {} at {}: {}", to_string(ctx.spec.kind), to_string(ctx.spec.op),
                           initiator ? "client" : "server", format_size(bytes), e.what);
      return std::unexpected(e);
    }
    // Bandwidth: both sides check what they received; the server's verdict comes back so
    // that the client never reports figures for data that did not arrive intact.
    if (ctx.spec.kind == TestKind::kBandwidth) {
      auto checked = check_data(ctx, bytes, initiator);
      if (initiator) {
        if (!checked) return give_up(ctx.oob, "error", checked.error());
        auto verdict = expect(ctx.oob, "checked", ctx.progress_timeout);
        if (!verdict) return std::unexpected(verdict.error());
        if (!verdict->value("ok", false)) {
          return fail(Errc::kPeer, "server: " + verdict->value("reason", std::string("data check failed")));
        }
      } else {
        nlohmann::json verdict{{"type", "checked"}, {"ok", checked.has_value()}};
        if (!checked) verdict["reason"] = checked.error().message();
        if (auto ok = ctx.oob.send(verdict, ctx.progress_timeout); !ok) return ok;
        if (!checked) return std::unexpected(checked.error());
      }
    }
    outcome->counters.local = counters.stop();
    if (!outcome->counters.local) outcome->counters.note = counters.note();
    if (initiator) {
      auto msg = expect(ctx.oob, "counters", ctx.progress_timeout);
      if (!msg) return std::unexpected(msg.error());
      std::string local_note = std::move(outcome->counters.note);
      if (auto ok = read_counters_message(*msg, *outcome); !ok) return ok;
      if (!local_note.empty()) {
        outcome->counters.note = outcome->counters.note.empty() ? local_note : local_note + "; " + outcome->counters.note;
      }
    } else if (auto ok = ctx.oob.send(counters_message(outcome->counters.local, outcome->counters.note),
                                      ctx.progress_timeout);
               !ok) {
      return ok;
    }
    if (on_size) on_size(rec, *outcome);
    rec.sizes.push_back(std::move(*outcome));
  }
  return {};
}

// The IP address of an endpoint's RoCE GID (what rdma_cm binds or resolves): IPv4-mapped or IPv6.
Result<std::string> endpoint_ip(const EndpointInfo& e) {
  if (e.gid.starts_with("::ffff:") && e.gid.find('.') != std::string::npos) return e.gid.substr(7);
  if (e.gid_type == "RoCEv2" && !e.gid.starts_with("fe80:")) return e.gid;
  return fail(Errc::kUnsupported, fmt::format("{} has no routable RoCEv2 GID (gid {})", e.device, e.gid),
              "--rdma-cm needs an IP address on the RDMA interface; connect without --rdma-cm");
}


}  // namespace

Result<RunRecord> run_client(const ClientOptions& opt, const SizeCallback& on_size) {
  if (auto ok = validate(opt.spec); !ok) return std::unexpected(ok.error());
  Clock clock;
  auto oob = OobSocket::connect(opt.peer, opt.port, opt.connect_timeout);
  if (!oob) return std::unexpected(oob.error());
  auto dev = opt.device_for(oob->local_address());
  if (!dev) return give_up(*oob, "error", dev.error());
  // Placed before the buffers are allocated: host memory comes from the NIC's node.
  Placement placement = place_this_thread(dev->device);
  auto ep = Endpoint::open(*dev, opt.spec, opt.spec.mem, opt.buffers);
  if (!ep) return give_up(*oob, "error", ep.error());
  (*ep)->set_placement(placement.cpu(), placement.numa_node(), placement.note());

  RunRecord rec{.spec = opt.spec, .peer = oob->peer_name(), .local = (*ep)->info(), .remote = {},
                .path_mtu_bytes = 0, .clock = clock.description(), .rdma_cm = false, .sizes = {}};
  rec.rdma_cm = opt.rdma_cm;
  nlohmann::json hello{{"type", "hello"},          {"proto", "railcheck"}, {"version", kProtocolVersion},
                       {"spec", to_json(opt.spec)}, {"endpoint", to_json(rec.local)}, {"rdma_cm", opt.rdma_cm}};
  if (auto ok = oob->send(hello, opt.progress_timeout); !ok) return std::unexpected(ok.error());
  auto accept = expect(*oob, "accept", opt.progress_timeout);
  if (!accept) return std::unexpected(accept.error());
  auto remote = endpoint_from_json(accept->value("endpoint", nlohmann::json::object()));
  if (!remote) return std::unexpected(remote.error());
  CmConnections cm;  // lives as long as the run: its ids hold the connections
  if (opt.rdma_cm) {
    auto src = endpoint_ip(rec.local);
    if (!src) return give_up(*oob, "error", src.error());
    auto conns = cm_connect(**ep, *src, accept->value("cm_addr", ""), accept->value("cm_port", uint16_t{0}),
                            opt.spec.path, *remote, opt.progress_timeout);
    if (!conns) return give_up(*oob, "error", conns.error());
    cm = std::move(*conns);
    (*ep)->set_remote(*remote);
  } else if (auto ok = (*ep)->connect(*remote, opt.spec.path); !ok) {
    return give_up(*oob, "error", ok.error());
  }
  rec.remote = *remote;
  rec.path_mtu_bytes = (*ep)->path_mtu_bytes();

  LoopContext ctx{.ep = **ep, .oob = *oob, .clock = clock, .spec = opt.spec, .progress_timeout = opt.progress_timeout};
  PortCounterWatch counters(dev->device, dev->port, opt.hw_counters);
  if (auto ok = run_sizes(ctx, true, counters, rec, on_size); !ok) return std::unexpected(ok.error());
  (void)oob->send({{"type", "bye"}}, Millis(1000));
  return rec;
}

Result<RunRecord> serve_client(OobSocket& oob, const ServerOptions& opt) {
  auto hello = expect(oob, "hello", opt.hello_timeout);
  if (!hello) return std::unexpected(hello.error());
  if (hello->value("proto", "") != "railcheck" || hello->value("version", 0) != kProtocolVersion) {
    return give_up(oob, "refuse",
                   Error::make(Errc::kPeer, fmt::format("protocol {} version {}; this server speaks railcheck version {}",
                                                        hello->value("proto", "?"), hello->value("version", 0),
                                                        kProtocolVersion),
                               "run the same railcheck version on both sides"));
  }
  auto spec = spec_from_json(hello->value("spec", nlohmann::json::object()));
  if (!spec) return give_up(oob, "refuse", spec.error());
  if (opt.only_kind && *opt.only_kind != spec->kind) {
    return give_up(oob, "refuse", Error::make(Errc::kPeer, fmt::format("this server runs only {} tests, the client asked for {}",
                                                                      to_string(*opt.only_kind), to_string(spec->kind))));
  }
  if (opt.only_op && *opt.only_op != spec->op) {
    return give_up(oob, "refuse", Error::make(Errc::kPeer, fmt::format("this server runs only {} tests, the client asked for {}",
                                                                      to_string(*opt.only_op), to_string(spec->op))));
  }
  if (spec->max_size_bytes() > opt.max_size_bytes) {
    return give_up(oob, "refuse",
                   Error::make(Errc::kPeer, fmt::format("size {} exceeds this server's limit of {}",
                                                        format_size(spec->max_size_bytes()), format_size(opt.max_size_bytes)),
                               "ask for smaller messages, or start the server with a larger --max-size"));
  }
  auto remote = endpoint_from_json(hello->value("endpoint", nlohmann::json::object()));
  if (!remote) return give_up(oob, "refuse", remote.error());
  auto dev = opt.device_for(oob.local_address());
  if (!dev) return give_up(oob, "refuse", dev.error());
  Placement placement = place_this_thread(dev->device);
  auto ep = Endpoint::open(*dev, *spec, spec->peer_mem, opt.buffers);
  if (!ep) return give_up(oob, "refuse", ep.error());
  (*ep)->set_placement(placement.cpu(), placement.numa_node(), placement.note());
  const bool use_cm = hello->value("rdma_cm", false);
  nlohmann::json accept{{"type", "accept"}, {"endpoint", to_json((*ep)->info())}};
  CmConnections cm;  // lives as long as the run: its ids hold the connections
  if (use_cm) {
    auto ip = endpoint_ip((*ep)->info());
    if (!ip) return give_up(oob, "refuse", ip.error());
    auto listener = cm_listen(*ip, spec->path);
    if (!listener) return give_up(oob, "refuse", listener.error());
    cm = std::move(*listener);
    accept["cm_addr"] = *ip;
    accept["cm_port"] = cm_port(cm);
  } else if (auto ok = (*ep)->connect(*remote, spec->path); !ok) {
    return give_up(oob, "refuse", ok.error());
  }
  if (auto ok = oob.send(accept, opt.progress_timeout); !ok) return std::unexpected(ok.error());
  if (use_cm) {
    if (auto ok = cm_accept(cm, **ep, *remote, opt.progress_timeout); !ok) return give_up(oob, "error", ok.error());
    (*ep)->set_remote(*remote);
  }

  Clock clock;
  RunRecord rec{.spec = *spec, .peer = oob.peer_name(), .local = (*ep)->info(), .remote = *remote,
                .path_mtu_bytes = (*ep)->path_mtu_bytes(), .clock = clock.description(), .rdma_cm = use_cm,
                .sizes = {}};
  LoopContext ctx{.ep = **ep, .oob = oob, .clock = clock, .spec = *spec, .progress_timeout = opt.progress_timeout};
  PortCounterWatch counters(dev->device, dev->port, opt.hw_counters);
  if (auto ok = run_sizes(ctx, false, counters, rec, {}); !ok) return std::unexpected(ok.error());
  auto bye = expect(oob, "bye", opt.progress_timeout);
  if (!bye) return std::unexpected(bye.error());
  return rec;
}

}  // namespace railcheck::verbs
