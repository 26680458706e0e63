// Cost of the coordinator's own work at cluster scale, without any network: planning (rails
// grouped from every node's interfaces, each rail's round-robin schedule) and aggregation (one
// record per pair and test, judged with the default profile: medians, outliers, causes).
// Results and conclusions: docs/benchmarks.md, "Cluster planning and aggregation".
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <sys/resource.h>

#include <vector>

#include "pods/rails.hpp"
#include "pods/schedule.hpp"
#include "reports/judge.hpp"
#include "reports/results.hpp"

namespace {

using railcheck::pods::group_rails;
using railcheck::pods::InterfaceFacts;
using railcheck::pods::make_schedule;
using railcheck::pods::NodeFacts;
using railcheck::pods::Pattern;
using railcheck::pods::Schedule;
namespace reports = railcheck::reports;

double max_rss_mib() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // KiB -> MiB
}

std::vector<NodeFacts> cluster(int nodes, int rails) {
  std::vector<NodeFacts> out;
  out.reserve(static_cast<size_t>(nodes));
  for (int n = 0; n < nodes; ++n) {
    NodeFacts f{.node = fmt::format("gpu-node-{:04}", n), .interfaces = {}};
    for (int r = 0; r < rails; ++r) {
      f.interfaces.push_back({.interface = fmt::format("net{}", r + 1),
                              .network = fmt::format("spiderpool/gpu{}-sriov", r + 1),
                              .ipv4 = fmt::format("172.{}.{}.{}", 16 + r, n / 250, n % 250 + 2),
                              .prefix_len = 16,
                              .rdma_device = fmt::format("mlx5_{}", r)});
    }
    out.push_back(std::move(f));
  }
  return out;
}

// Rails from 1024 nodes x 8 interfaces, and every rail's all-pairs schedule.
void BM_Plan(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  const int rails = static_cast<int>(state.range(1));
  const auto facts = cluster(nodes, rails);
  size_t pairs = 0;
  for (auto _ : state) {
    auto grouping = group_rails(facts);
    std::vector<Schedule> schedules;
    for (const auto& rail : grouping.rails) {
      schedules.push_back(make_schedule(Pattern::kAllPairs, static_cast<uint32_t>(rail.members.size())));
    }
    pairs = 0;
    for (const auto& s : schedules) pairs += s.pair_count();
    benchmark::DoNotOptimize(schedules);
  }
  state.counters["pairs"] = static_cast<double>(pairs);
  state.counters["max_rss_MiB"] = max_rss_mib();
}
BENCHMARK(BM_Plan)->Args({1024, 8})->Unit(benchmark::kMillisecond);

reports::PairEnd end_of(int node, int rail) {
  reports::PairEnd e;
  e.node = fmt::format("gpu-node-{:04}", node);
  e.pod = fmt::format("rdma-tools-{:04}", node);
  e.interface = fmt::format("net{}", rail + 1);
  e.device = fmt::format("mlx5_{}", rail);
  e.link_layer = "Ethernet";
  e.active_mtu = 4096;
  e.rate_gbps = 400;
  return e;
}

// One record per pair (write_bw, one size) on every rail, judged with the default profile.
void BM_Aggregate(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  const int rails = static_cast<int>(state.range(1));
  const auto profile = reports::load_profile("default");
  size_t records = 0;
  for (auto _ : state) {
    reports::Results res;
    for (int r = 0; r < rails; ++r) {
      const Schedule s = make_schedule(Pattern::kAllPairs, static_cast<uint32_t>(nodes));
      for (size_t round = 0; round < s.rounds.size(); ++round) {
        for (const auto& p : s.rounds[round]) {
          reports::Record rec;
          rec.rail = fmt::format("spiderpool/gpu{}-sriov", r + 1);
          rec.src = end_of(static_cast<int>(p.client), r);
          rec.dst = end_of(static_cast<int>(p.server), r);
          rec.test = "write_bw";
          rec.size_bytes = 1 << 20;
          rec.round = static_cast<uint32_t>(round + 1);
          const double slow = p.client == 7 || p.server == 7 ? 0.5 : 1.0;  // one slow node
          rec.bandwidth = reports::Bandwidth{.messages = 5000, .avg_gbps = 380 * slow, .peak_gbps = 390 * slow,
                                             .msg_rate_mpps = 0.045};
          res.records.push_back(std::move(rec));
        }
      }
    }
    reports::judge(res, *profile);
    records = res.records.size();
    benchmark::DoNotOptimize(res);
  }
  state.counters["records"] = static_cast<double>(records);
  state.counters["max_rss_MiB"] = max_rss_mib();
}
BENCHMARK(BM_Aggregate)->Args({64, 8})->Args({128, 8})->Args({256, 8})->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
