#include "reports/single_results.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <ctime>
#include <iterator>
#include <utility>

#include "common/build_info.hpp"
#include "reports/pair_ends.hpp"
#include "verbs/spec.hpp"

namespace railcheck::reports {
namespace {

std::string hostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

// The peer's address without the port the engine's record carries ("10.233.0.11:18515",
// "fe80::1:18515": the port is always last).
std::string peer_host(const std::string& peer) {
  const size_t colon = peer.rfind(':');
  if (colon == std::string::npos || colon + 1 == peer.size()) return peer;
  const bool port = std::ranges::all_of(peer.substr(colon + 1), [](char c) { return c >= '0' && c <= '9'; });
  return port ? peer.substr(0, colon) : peer;
}

template <typename T>
void add_unique(std::vector<T>& to, const T& v) {
  if (std::ranges::find(to, v) == to.end()) to.push_back(v);
}

}  // namespace

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

RunMeta single_run_meta(const verbs::RunSpec& spec, std::string started, std::string finished) {
  RunMeta m;
  m.mode = "single";
  m.started = std::move(started);
  m.finished = finished.empty() ? utc_now() : std::move(finished);
  m.railcheck_version = std::string(build_info().version);
  m.git_commit = std::string(build_info().git_commit);
  m.tests = {spec.test().name()};
  m.spec = verbs::to_json(spec);
  return m;
}

Results results_from_run(const verbs::RunRecord& run, const SingleRunContext& context) {
  Results out;
  out.meta = single_run_meta(run.spec, context.started, context.finished);
  out.meta.connection = run.rdma_cm ? "rdma_cm" : "oob";
  out.meta.clock = run.clock;

  const std::string node = context.node.empty() ? hostname() : context.node;
  PairEnd src, dst;
  if (context.src) {
    src = *context.src;
  } else {
    src.node = node;
    src.interface = context.interface;
  }
  if (context.dst) dst = *context.dst;
  else dst.node = peer_host(run.peer);
  add_measured(src, run.local);
  add_measured(dst, run.remote);
  const std::string rail =
      !context.rail.empty() ? context.rail : (!context.interface.empty() ? context.interface : run.local.device);
  for (const PairEnd* e : {&src, &dst}) {
    NodeInfo n;
    n.node = e->node;
    out.nodes.push_back(std::move(n));
  }
  RailInfo info;
  info.name = rail;
  info.grouped_by = context.rail.empty() && context.interface.empty() ? "device" : "interface";
  info.members = {{src.node, src.interface, src.ip}, {dst.node, dst.interface, dst.ip}};
  out.rails.push_back(std::move(info));
  if (run.path_mtu_bytes > 0) out.notes.push_back(fmt::format("path MTU {} bytes", run.path_mtu_bytes));
  for (const verbs::SizeOutcome& s : run.sizes) {
    Record r;
    r.rail = rail;
    r.src = src;
    r.dst = dst;
    r.test = run.spec.test();
    r.size_bytes = s.msg_bytes;
    r.bidir = run.spec.bidir;
    r.qps = run.spec.qps;
    r.iters = s.iters;
    r.elapsed_s = s.elapsed_s;
    if (s.latency) {
      const auto& l = *s.latency;
      r.latency_us = LatencyUs{.count = l.count, .min = l.min_ns / 1e3, .p50 = l.p50_ns / 1e3, .p90 = l.p90_ns / 1e3,
                               .p99 = l.p99_ns / 1e3, .p99_9 = l.p999_ns / 1e3, .max = l.max_ns / 1e3,
                               .mean = l.mean_ns / 1e3, .stdev = l.stdev_ns / 1e3};
    }
    if (s.bandwidth) {
      const auto& b = *s.bandwidth;
      r.bandwidth = Bandwidth{.messages = b.messages, .avg_gbps = b.avg_gbps, .peak_gbps = b.peak_gbps,
                              .msg_rate_mpps = b.msg_rate_mpps};
    }
    if (!s.latency && !s.bandwidth) r.error = "this side measured no figures for this size";
    r.counters = RecordCounters{.src = s.counters.local, .dst = s.counters.remote, .note = s.counters.note};
    out.records.push_back(std::move(r));
  }
  return out;
}

std::vector<Record> unrun_records(const verbs::RunSpec& spec, const std::string& rail, PairEnd src, PairEnd dst,
                                  bool waived, const std::string& why) {
  src.mem = verbs::to_string(spec.mem);
  dst.mem = verbs::to_string(spec.peer_mem);
  std::vector<Record> out;
  for (uint64_t size : spec.sizes_bytes) {
    Record r;
    r.rail = rail;
    r.src = src;
    r.dst = dst;
    r.test = spec.test();
    r.size_bytes = size;
    r.bidir = spec.bidir;
    r.qps = spec.qps;
    if (waived) {
      r.verdict = Verdict::kWaived;
      r.cause = why;
    } else {
      r.error = why.empty() ? "the test did not run" : why;
    }
    out.push_back(std::move(r));
  }
  return out;
}

Results merge_results(std::vector<Results> parts) {
  if (parts.empty()) return {};
  Results out = std::move(parts.front());
  for (size_t i = 1; i < parts.size(); ++i) {
    Results& p = parts[i];
    auto& m = out.meta;
    if (!p.meta.started.empty() && (m.started.empty() || p.meta.started < m.started)) m.started = p.meta.started;
    if (p.meta.finished > m.finished) m.finished = p.meta.finished;
    for (const auto& t : p.meta.tests) add_unique(m.tests, t);
    for (NodeInfo& n : p.nodes) {
      auto it = std::ranges::find(out.nodes, n.node, &NodeInfo::node);
      if (it == out.nodes.end()) out.nodes.push_back(std::move(n));
    }
    for (RailInfo& rail : p.rails) {
      auto it = std::ranges::find(out.rails, rail.name, &RailInfo::name);
      if (it == out.rails.end()) {
        out.rails.push_back(std::move(rail));
        continue;
      }
      for (const RailMember& mem : rail.members) {
        const bool known = std::ranges::any_of(it->members, [&](const RailMember& k) {
          return k.node == mem.node && k.interface == mem.interface;
        });
        if (!known) it->members.push_back(mem);
      }
      for (const auto& n : rail.missing_nodes) add_unique(it->missing_nodes, n);
    }
    std::ranges::move(p.records, std::back_inserter(out.records));
    for (const auto& n : p.notes) add_unique(out.notes, n);
  }
  return out;
}

}  // namespace railcheck::reports
