#include "pods/agent.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/build_info.hpp"
#include "gpudirect/memory.hpp"
#include "pods/api.hpp"
#include "pods/run_records.hpp"
#include "reports/outputs.hpp"
#include "reports/pair_ends.hpp"
#include "reports/topo_json.hpp"
#include "topology/ib_checks.hpp"
#include "topology/netlink.hpp"
#include "verbs/session.hpp"

namespace railcheck::pods {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

void reply_error(httplib::Response& res, const RequestError& e) { reply(res, e.status, error_body(e)); }

}  // namespace

std::vector<InterfaceAddress> interface_addresses() {
  std::vector<InterfaceAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN] = {};
    const auto* sin = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    ::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
    uint32_t prefix = 0;
    if (a->ifa_netmask != nullptr) {
      prefix = static_cast<uint32_t>(
          std::popcount(ntohl(reinterpret_cast<const sockaddr_in*>(a->ifa_netmask)->sin_addr.s_addr)));
    }
    out.push_back({.interface = a->ifa_name, .ipv4 = buf, .prefix_len = prefix});
  }
  ::freeifaddrs(list);
  return out;
}

std::string primary_ipv4() {
  // The kernel's choice of source address toward a public address: the default route's. A UDP
  // connect sends nothing.
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(53);
    ::inet_pton(AF_INET, "192.0.2.1", &dst.sin_addr);  // TEST-NET-1: never really contacted
    sockaddr_in src{};
    socklen_t len = sizeof src;
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&src), &len) == 0;
    ::close(fd);
    if (ok && src.sin_addr.s_addr != 0) {
      char buf[INET_ADDRSTRLEN] = {};
      ::inet_ntop(AF_INET, &src.sin_addr, buf, sizeof buf);
      return buf;
    }
  }
  for (const auto& a : interface_addresses()) {
    if (a.interface == "eth0") return a.ipv4;
  }
  return {};
}

std::vector<InterfaceFacts> interface_facts(const topology::RailMap& map,
                                            const std::vector<InterfaceAddress>& addresses) {
  std::vector<InterfaceFacts> out;
  for (const auto& p : map.ports) {
    InterfaceFacts f{.interface = p.interface, .network = p.network, .ipv4 = topology::first_ipv4(p).value_or(""),
                     .prefix_len = 0, .rdma_device = p.rdma_device.value_or("")};
    for (const auto& a : addresses) {
      if (a.interface == p.interface && (f.ipv4.empty() || a.ipv4 == f.ipv4)) {
        f.ipv4 = a.ipv4;
        f.prefix_len = a.prefix_len;
        break;
      }
    }
    out.push_back(std::move(f));
  }
  return out;
}

struct Agent::Impl {
  AgentOptions opt;
  httplib::Server http;
  std::string listen_address;
  int bound = 0;  // the HTTP port

  std::mutex map_mutex;
  topology::RailMap map;

  std::mutex busy_mutex;
  std::set<std::string> busy;  // interfaces with a test running

  // Server-side tests run in threads of their own; they are joined on stop.
  std::mutex threads_mutex;
  struct Worker {
    std::shared_ptr<std::atomic<bool>> finished = std::make_shared<std::atomic<bool>>(false);
    std::jthread thread;
  };
  std::vector<Worker> threads;
  std::atomic<uint64_t> next_id{1};
  std::atomic<bool> stopping{false};

  // Metrics.
  std::mutex metrics_mutex;
  std::map<std::string, uint64_t> tests_total;  // "role,outcome" -> count
  std::atomic<int> in_flight{0};
  std::atomic<uint64_t> unauthorized_total{0};
  std::map<std::string, std::vector<reports::Record>> last;  // interface -> last client records

  explicit Impl(AgentOptions o) : opt(std::move(o)) {}

  Result<topology::RailMap> refresh_map() {
    auto m = topology::build_rail_map(opt.map_inputs);
    if (!m) return m;
    std::lock_guard lock(map_mutex);
    map = *m;
    return m;
  }

  std::optional<topology::RailPort> find_port(const std::string& interface, std::string& known) {
    std::lock_guard lock(map_mutex);
    for (const auto& p : map.ports) {
      known += (known.empty() ? "" : ", ") + p.interface;
      if (p.interface == interface) return p;
    }
    return std::nullopt;
  }

  bool claim(const std::string& interface) {
    std::lock_guard lock(busy_mutex);
    return busy.insert(interface).second;
  }
  void release(const std::string& interface) {
    std::lock_guard lock(busy_mutex);
    busy.erase(interface);
  }

  void count(std::string_view role, std::string_view outcome) {
    std::lock_guard lock(metrics_mutex);
    ++tests_total[fmt::format("{},{}", role, outcome)];
  }

  json health() const {
    return {{"ok", true}, {"node", opt.node}, {"pod", opt.pod}, {"version", std::string(build_info().version)}};
  }

  void handle_inventory(httplib::Response& res) {
    auto m = refresh_map();
    Inventory inv{.node = opt.node,
                  .pod = opt.pod,
                  .version = std::string(build_info().version),
                  .git_commit = std::string(build_info().git_commit),
                  .error = {},
                  .interfaces = {},
                  .rail_map = std::nullopt,
                  .rail_map_json = nullptr,
                  .checks = nullptr};
    if (!m) {
      inv.error = m.error().message();
    } else {
      inv.interfaces = interface_facts(*m, interface_addresses());
      inv.rail_map_json = reports::topo_to_json(*m);
      if (opt.checks) inv.checks = opt.checks(*m);
    }
    reply(res, 200, to_json(inv));
  }

  // How the records name this node: as the coordinator asked, else the node.
  std::string name_of(const TestRequest& t) const { return t.name.empty() ? opt.node : t.name; }

  verbs::DeviceSpec device_for(const topology::RailPort& p) const {
    // The rail's IPv4 address, else its first address (IPv6); the network's pkey from the
    // pod's networks annotation (ib-kubernetes' cni-args), when it names one.
    std::string ip = topology::first_ipv4(p).value_or("");
    if (ip.empty() && !p.ips.empty()) ip = p.ips.front().substr(0, p.ips.front().find('/'));
    std::optional<uint16_t> pkey;
    if (p.requested_pkey) {
      if (auto k = topology::parse_pkey(*p.requested_pkey)) pkey = *k;
    }
    return verbs::DeviceSpec{.device = p.rdma_device.value_or(""),
                             .port = static_cast<uint8_t>(p.port.value_or(1)),
                             .gid_index = -1,
                             .ip = std::move(ip),
                             .pkey = pkey};
  }

  void handle_test(const httplib::Request& req, httplib::Response& res) {
    auto parsed = parse_test_request(req.body);
    if (!parsed) {
      spdlog::info("agent: refused test request from {}: {}", req.remote_addr, parsed.error().message);
      return reply_error(res, parsed.error());
    }
    TestRequest& t = *parsed;
    std::string known;
    auto port = find_port(t.interface, known);
    if (!port) {
      (void)refresh_map();  // interfaces can appear after start (a late CNI attach)
      known.clear();
      port = find_port(t.interface, known);
    }
    if (!port) {
      return reply_error(res, {400, "interface",
                               fmt::format("this pod has no interface \"{}\" (its interfaces: {})", t.interface,
                                           known.empty() ? "none" : known)});
    }
    if (!port->rdma_device) {
      return reply_error(res, {400, "interface",
                               fmt::format("interface {} has no RDMA device in this pod's rail map", t.interface)});
    }
    if (stopping) return reply_error(res, {503, "", "the agent is shutting down"});
    if (!claim(t.interface)) {
      return reply_error(res, {409, "interface",
                               fmt::format("interface {} is busy with another test; one test per interface at a time",
                                           t.interface)});
    }
    if (t.role == Role::kServer) return start_server(t, *port, res);
    run_client_test(t, *port, res);
  }

  void start_server(const TestRequest& t, const topology::RailPort& port, httplib::Response& res) {
    auto listener = verbs::OobListener::listen(listen_address, 0);
    if (!listener) {
      release(t.interface);
      return reply_error(res, {500, "", "cannot open a test port: " + listener.error().message()});
    }
    const uint16_t test_port = listener->port();
    const uint64_t id = next_id++;
    const verbs::DeviceSpec dev = device_for(port);
    spdlog::info("agent: test {}: serving {} {} on {} ({}), port {}", id, verbs::to_string(t.spec.kind),
                 verbs::to_string(t.spec.op), t.interface, dev.device, test_port);
    std::lock_guard lock(threads_mutex);
    std::erase_if(threads, [](const Worker& w) { return w.finished->load(); });  // joins the finished
    in_flight++;
    Worker& w = threads.emplace_back();
    w.thread = std::jthread([this, t, dev, id, l = std::move(*listener), finished = w.finished]() mutable {
      serve_one(t, dev, id, l);
      in_flight--;
      release(t.interface);
      *finished = true;
    });
    // This side's end of the pair, as the client's records will name it (it adds what the run
    // measures here from the endpoint this server sends it).
    const reports::PairEnd end = reports::interface_end(port, name_of(t), opt.pod);
    reply(res, 200, {{"ok", true}, {"id", id}, {"port", test_port}, {"interface", t.interface}, {"device", dev.device},
                     {"end", reports::to_json(end)}});
  }

  void serve_one(const TestRequest& t, const verbs::DeviceSpec& dev, uint64_t id, verbs::OobListener& listener) {
    auto sock = listener.accept(verbs::Millis(static_cast<int64_t>(t.accept_timeout_s * 1000)));
    if (!sock) {
      spdlog::warn("agent: test {} on {}: no client came: {}", id, t.interface, sock.error().message());
      count("server", "no_client");
      return;
    }
    // A hard limit on the whole test: past it, cut the connection, which ends the loops.
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    const int fd = sock->fd();
    std::jthread watchdog([&] {
      std::unique_lock lk(m);
      const auto limit = std::chrono::duration<double>(opt.max_test_seconds);
      if (!cv.wait_for(lk, limit, [&] { return done || stopping.load(); })) {
        spdlog::warn("agent: test {} on {} ran past --max-test-seconds {}: cutting it off", id, t.interface,
                     opt.max_test_seconds);
      }
      if (!done) ::shutdown(fd, SHUT_RDWR);
    });
    verbs::ServerOptions sopt{.device_for = [dev](const std::string&) -> Result<verbs::DeviceSpec> { return dev; },
                              .buffers = gpudirect::buffer_factory({.rail_map = opt.map_inputs}),
                              .only_kind = t.spec.kind,
                              .only_op = t.spec.op,
                              .max_size_bytes = t.spec.max_size_bytes(),
                              .hw_counters = topology::read_rdma_port_stats,
                              .hello_timeout = verbs::Millis(10000),
                              .progress_timeout = verbs::Millis(static_cast<int64_t>(t.timeout_s * 1000))};
    auto run = verbs::serve_client(*sock, sopt);
    {
      std::lock_guard lk(m);
      done = true;
    }
    cv.notify_all();
    if (run) {
      spdlog::info("agent: test {} on {} served {} size(s) for {}", id, t.interface, run->sizes.size(), run->peer);
      count("server", "ok");
    } else {
      spdlog::warn("agent: test {} on {} failed: {}", id, t.interface, run.error().message());
      count("server", "error");
    }
  }

  void run_client_test(const TestRequest& t, const topology::RailPort& port, httplib::Response& res) {
    const verbs::DeviceSpec dev = device_for(port);
    in_flight++;
    verbs::ClientOptions copt{.peer = t.peer,
                              .port = t.port,
                              .device_for = [dev](const std::string&) -> Result<verbs::DeviceSpec> { return dev; },
                              .buffers = gpudirect::buffer_factory({.rail_map = opt.map_inputs}),
                              .spec = t.spec,
                              .rdma_cm = false,
                              .hw_counters = topology::read_rdma_port_stats,
                              .connect_timeout = verbs::Millis(5000),
                              .progress_timeout = verbs::Millis(static_cast<int64_t>(t.timeout_s * 1000))};
    spdlog::info("agent: {} {} on {} ({}) to {}:{}", verbs::to_string(t.spec.kind), verbs::to_string(t.spec.op),
                 t.interface, dev.device, t.peer, t.port);
    auto run = verbs::run_client(copt);
    in_flight--;
    release(t.interface);
    if (!run) {
      spdlog::warn("agent: test on {} to {}:{} failed: {}", t.interface, t.peer, t.port, run.error().message());
      // Unsupported here (GPU memory on a node without a GPU or driver): waived, not failed.
      const bool waived = run.error().code == Errc::kUnsupported;
      count("client", waived ? "waived" : "error");
      return reply(res, 200, {{"ok", false}, {"waived", waived}, {"error", run.error().message()}});
    }
    std::vector<reports::Record> records =
        records_from_run(*run, RunEnds{.port = port, .name = name_of(t), .pod = opt.pod, .peer = t.peer_end});
    json out = json::array();
    for (const auto& r : records) out.push_back(reports::to_json(r));
    {
      std::lock_guard lock(metrics_mutex);
      last[t.interface] = std::move(records);
    }
    count("client", "ok");
    reply(res, 200, {{"ok", true}, {"records", std::move(out)}});
  }

  std::string metrics_text() {
    std::string out;
    out += "# HELP railcheck_agent_info The agent's identity (value 1).\n# TYPE railcheck_agent_info gauge\n";
    out += fmt::format("railcheck_agent_info{{node=\"{}\",pod=\"{}\",version=\"{}\"}} 1\n",
                       reports::prometheus_label_value(opt.node), reports::prometheus_label_value(opt.pod),
                       reports::prometheus_label_value(build_info().version));
    out += "# HELP railcheck_agent_tests_total Tests this agent took part in, by role and outcome.\n"
           "# TYPE railcheck_agent_tests_total counter\n";
    std::lock_guard lock(metrics_mutex);
    for (const char* role : {"client", "server"}) {
      for (const char* outcome : {"ok", "error", "waived", "no_client"}) {
        auto it = tests_total.find(fmt::format("{},{}", role, outcome));
        if (std::string_view(role) == "client" && std::string_view(outcome) == "no_client") continue;
        out += fmt::format("railcheck_agent_tests_total{{role=\"{}\",outcome=\"{}\"}} {}\n", role, outcome,
                           it == tests_total.end() ? 0 : it->second);
      }
    }
    out += "# HELP railcheck_agent_tests_in_flight Tests running now.\n# TYPE railcheck_agent_tests_in_flight gauge\n";
    out += fmt::format("railcheck_agent_tests_in_flight {}\n", in_flight.load());
    out += "# HELP railcheck_agent_unauthorized_total Requests refused for a missing or wrong token.\n"
           "# TYPE railcheck_agent_unauthorized_total counter\n";
    out += fmt::format("railcheck_agent_unauthorized_total {}\n", unauthorized_total.load());
    // The last client results per interface, as the reports' gauges.
    reports::Results last_results;
    for (const auto& [iface, recs] : last) {
      last_results.records.insert(last_results.records.end(), recs.begin(), recs.end());
    }
    if (!last_results.records.empty()) out += reports::render(last_results, "prometheus");
    return out;
  }

  void routes() {
    http.set_payload_max_length(kMaxRequestBytes * 16);  // beyond: 413 before any handler runs
    http.set_read_timeout(10, 0);
    http.set_write_timeout(10, 0);
    const uint32_t threads_n = opt.http_threads;
    http.new_task_queue = [threads_n] { return new httplib::ThreadPool(threads_n); };
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!req.path.starts_with("/v1/")) return httplib::Server::HandlerResponse::Unhandled;
      const std::string header = req.get_header_value("Authorization");
      const auto token = bearer_token(header);
      if (token && constant_time_equal(*token, opt.token)) return httplib::Server::HandlerResponse::Unhandled;
      unauthorized_total++;
      spdlog::warn("agent: 401 for {} {} from {}: {}", req.method, req.path, req.remote_addr,
                   token ? "wrong token" : "no bearer token");
      res.set_header("WWW-Authenticate", "Bearer");
      reply_error(res, {401, "", token ? "wrong token: use the token of this release's Secret"
                                       : "missing \"Authorization: Bearer <token>\" header"});
      return httplib::Server::HandlerResponse::Handled;
    });
    http.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) { reply(res, 200, health()); });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_text(), "text/plain; version=0.0.4");
    });
    http.Get("/v1/inventory", [this](const httplib::Request&, httplib::Response& res) { handle_inventory(res); });
    http.Post("/v1/tests", [this](const httplib::Request& req, httplib::Response& res) {
      try {
        handle_test(req, res);
      } catch (const std::exception& e) {
        spdlog::error("agent: test request failed: {}", e.what());
        reply_error(res, {500, "", fmt::format("internal error: {}", e.what())});
      }
    });
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 413) {
        return reply_error(res, {413, "", fmt::format("request body too large (limit {} bytes)", kMaxRequestBytes)});
      }
      if (res.status == 404) {
        return reply_error(res, {404, "", fmt::format("no such endpoint {} {} (see docs/cluster.md: /healthz, "
                                                      "/metrics, /v1/inventory, /v1/tests)",
                                                      req.method, req.path)});
      }
      reply_error(res, {res.status, "", fmt::format("HTTP {}", res.status)});
    });
  }
};

Agent::Agent(AgentOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Agent::~Agent() {
  stop();
  std::lock_guard lock(impl_->threads_mutex);
  impl_->threads.clear();  // joins
}

Result<void> Agent::start() {
  Impl& d = *impl_;
  auto m = d.refresh_map();
  if (!m) {
    return fail(m.error().code, "agent: cannot build this pod's rail map: " + m.error().message(),
                "check --podinfo (the downward-API annotations) or run `railcheck topo` here");
  }
  d.listen_address = d.opt.listen.empty() ? primary_ipv4() : d.opt.listen;
  if (d.listen_address.empty()) {
    spdlog::warn("agent: no primary IPv4 (no default route, no eth0): listening on every address");
    d.listen_address = "0.0.0.0";
  }
  d.routes();
  if (d.opt.port == 0) {
    d.bound = d.http.bind_to_any_port(d.listen_address);
  } else {
    d.bound = d.http.bind_to_port(d.listen_address, d.opt.port) ? d.opt.port : -1;
  }
  if (d.bound <= 0) {
    return fail_errno(fmt::format("agent: listen on {}:{}", d.listen_address, d.opt.port), errno,
                      "is another agent running, or the address not this pod's? (--listen, --port)");
  }
  spdlog::info("agent: node {}, pod {}: {} interface(s), listening on {}", d.opt.node, d.opt.pod, m->ports.size(),
               address());
  return {};
}

void Agent::serve() { impl_->http.listen_after_bind(); }

void Agent::stop() {
  impl_->stopping = true;
  impl_->http.stop();
}

std::string Agent::address() const { return fmt::format("{}:{}", impl_->listen_address, impl_->bound); }
uint16_t Agent::bound_port() const noexcept { return static_cast<uint16_t>(impl_->bound); }

}  // namespace railcheck::pods
