#include "reports/run_json.hpp"

namespace railcheck::reports {
namespace {

nlohmann::json endpoint_json(const verbs::EndpointInfo& e) {
  return {{"device", e.device},       {"link_layer", e.link_layer}, {"gid", e.gid},
          {"gid_index", e.gid_index}, {"gid_type", e.gid_type},     {"lid", e.lid},
          {"mtu", e.mtu_bytes},       {"qps", e.qps.size()},       {"memory", verbs::to_json(e.memory)}};
}

nlohmann::json size_json(const verbs::SizeOutcome& s) {
  nlohmann::json j{{"bytes", s.msg_bytes}, {"iters", s.iters}, {"elapsed_s", s.elapsed_s}};
  if (s.latency) {
    const auto& l = *s.latency;
    j["latency_us"] = {{"count", l.count},         {"min", l.min_ns / 1e3},   {"p50", l.p50_ns / 1e3},
                       {"p90", l.p90_ns / 1e3},    {"p99", l.p99_ns / 1e3},   {"p99_9", l.p999_ns / 1e3},
                       {"max", l.max_ns / 1e3},    {"mean", l.mean_ns / 1e3}, {"stdev", l.stdev_ns / 1e3}};
  }
  if (s.bandwidth) {
    const auto& b = *s.bandwidth;
    j["bandwidth"] = {{"messages", b.messages},
                      {"avg_gbps", b.avg_gbps},
                      {"peak_gbps", b.peak_gbps},
                      {"msg_rate_mpps", b.msg_rate_mpps}};
  }
  j["counters"] = {{"local", verbs::counters_json(s.counters.local)}, {"remote", verbs::counters_json(s.counters.remote)}};
  if (!s.counters.note.empty()) j["counters"]["note"] = s.counters.note;
  return j;
}

}  // namespace

nlohmann::json run_to_json(const verbs::RunRecord& run) {
  nlohmann::json sizes = nlohmann::json::array();
  for (const auto& s : run.sizes) sizes.push_back(size_json(s));
  return {{"schema", kRunSchema},
          {"test", verbs::to_string(run.spec.kind)},
          {"op", verbs::to_string(run.spec.op)},
          {"spec", verbs::to_json(run.spec)},
          {"peer", run.peer},
          {"local", endpoint_json(run.local)},
          {"remote", endpoint_json(run.remote)},
          {"path_mtu", run.path_mtu_bytes},
          {"connection", run.rdma_cm ? "rdma_cm" : "oob"},
          {"clock", run.clock},
          {"results", std::move(sizes)}};
}

}  // namespace railcheck::reports
