// Cost of the coordinator's own work at cluster scale, without any network: planning (rails
// grouped from every node's interfaces, each rail's round-robin schedule) and aggregation (every
// pair's records into the compact table, judged with the default profile: medians, outliers,
// causes; then the per-rail summaries), as the coordinator does it. BM_AggregateRecords is the
// same with every record kept in full, as for the report files of a run that fits in memory.
// Peak RSS is the process's: run one benchmark per process (--benchmark_filter) to read it.
// Results and conclusions: docs/benchmarks.md, "Cluster planning and aggregation".
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

#include "pods/rails.hpp"
#include "pods/schedule.hpp"
#include "reports/judge.hpp"
#include "reports/outputs.hpp"
#include "reports/record_table.hpp"
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
    // Every round made once, as the coordinator does when it runs them.
    pairs = 0;
    for (const auto& s : schedules) {
      for (size_t r = 0; r < s.round_count(); ++r) pairs += s.round(r).size();
    }
    benchmark::DoNotOptimize(schedules);
  }
  state.counters["pairs"] = static_cast<double>(pairs);
  state.counters["max_rss_MiB"] = max_rss_mib();
}
BENCHMARK(BM_Plan)->Args({1024, 8})->Unit(benchmark::kMillisecond);

using Clock = std::chrono::steady_clock;
double ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

// A figure's deviation in [-1, 1], the same for the same pair every run (a hash, not a
// random number generator).
double jitter(size_t rail, uint32_t client, uint32_t server) {
  uint64_t x = (uint64_t{client} << 32 | server) ^ (uint64_t{rail} << 20);
  x *= 0x9e3779b97f4a7c15ULL;
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 32;
  return static_cast<double>(x >> 11) * 0x1p-52 - 1;
}

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

// Plan, then every pair's records (write_bw and, with 2 tests, write_lat; one size each) into
// the table by end id, judged, summarized. What the coordinator adds per arriving record to
// find its ends' ids (a comparison with the member's last end) is BM_InternEndHinted.
void BM_PlanAndAggregate(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  const int rails = static_cast<int>(state.range(1));
  const bool with_latency = state.range(2) == 2;
  const int bad_rails = static_cast<int>(state.range(3));  // rails whose every pair runs at half speed
  const auto facts = cluster(nodes, rails);
  const auto profile = reports::load_profile("default");
  // Each end as an agent reports it, made once: the coordinator's records arrive with them.
  std::vector<std::vector<reports::PairEnd>> ends(static_cast<size_t>(rails));
  for (int r = 0; r < rails; ++r) {
    for (int n = 0; n < nodes; ++n) ends[static_cast<size_t>(r)].push_back(end_of(n, r));
  }
  const std::vector<std::string> tests{"write_lat", "write_bw"};
  size_t rows = 0, table_bytes = 0;
  double fill_ms = 0, medians_ms = 0, judge_ms = 0, summary_ms = 0;  // where the time goes
  for (auto _ : state) {
    const auto t0 = Clock::now();
    auto grouping = group_rails(facts);
    std::vector<Schedule> schedules;
    size_t pairs = 0;
    for (const auto& rail : grouping.rails) {
      schedules.push_back(make_schedule(Pattern::kAllPairs, static_cast<uint32_t>(rail.members.size())));
      pairs += schedules.back().pair_count();
    }
    reports::RecordTable table;
    table.reserve(pairs * (with_latency ? 2 : 1));
    reports::Record bw, lat;
    bw.test = {.kind = railcheck::verbs::TestKind::kBandwidth, .op = railcheck::verbs::Op::kWrite};
    bw.size_bytes = 1 << 20;
    lat.test = {.kind = railcheck::verbs::TestKind::kLatency, .op = railcheck::verbs::Op::kWrite};
    lat.size_bytes = 2;
    for (size_t r = 0; r < schedules.size(); ++r) {
      bw.rail = lat.rail = grouping.rails[r].name;
      std::vector<uint32_t> id;
      for (const auto& e : ends[r]) id.push_back(table.intern_end(e).value());
      for (size_t k = 0; k < schedules[r].round_count(); ++k) {
        for (const auto& p : schedules[r].round(k)) {
          const uint32_t src = id[p.client];
          const uint32_t dst = id[p.server];
          const bool bad = p.client == 7 || p.server == 7 || static_cast<int>(r) < bad_rails;  // one slow node
          const double slow = bad ? 0.5 : 1.0, late = bad ? 2.0 : 1.0;
          const double j = jitter(r, p.client, p.server) * 0.01;  // +-1%: no two figures alike
          bw.bandwidth = reports::Bandwidth{.messages = 5000, .avg_gbps = 380 * slow * (1 + j),
                                            .peak_gbps = 390 * slow, .msg_rate_mpps = 0.045};
          table.add(bw, src, dst);
          if (with_latency) {
            lat.latency_us = reports::LatencyUs{.count = 1000, .min = 1.8, .p50 = 2.0 * late * (1 - j),
                                                .p90 = 2.1 * late, .p99 = 2.4 * late * (1 - 2 * j), .p99_9 = 3,
                                                .max = 9, .mean = 2.0, .stdev = 0.1};
            table.add(lat, src, dst);
          }
        }
      }
    }
    schedules.clear();  // as in the coordinator: each rail's schedule ends with the rail's run
    const auto t1 = Clock::now();
    (void)table.kind_stats();  // judge() would: timed on its own
    const auto t2 = Clock::now();
    reports::judge(table, *profile);
    const auto t3 = Clock::now();
    auto summaries = reports::summarize_rails(table, grouping.rails, tests);
    const auto t4 = Clock::now();
    fill_ms += ms(t0, t1);
    medians_ms += ms(t1, t2);
    judge_ms += ms(t2, t3);
    summary_ms += ms(t3, t4);
    rows = table.size();
    table_bytes = rows * sizeof(reports::RecordTable::Row) + (with_latency ? rows / 2 * sizeof(float) : 0);
    benchmark::DoNotOptimize(summaries);
  }
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["rows_MiB"] = static_cast<double>(table_bytes) / (1024.0 * 1024.0);
  const auto n = static_cast<double>(state.iterations());
  state.counters["plan_fill_ms"] = fill_ms / n;
  state.counters["medians_ms"] = medians_ms / n;
  state.counters["judge_ms"] = judge_ms / n;
  state.counters["summary_ms"] = summary_ms / n;
  state.counters["max_rss_MiB"] = max_rss_mib();
}
BENCHMARK(BM_PlanAndAggregate)
    ->ArgNames({"nodes", "rails", "tests", "bad_rails"})
    ->Args({1024, 8, 1, 0})
    ->Args({1024, 8, 2, 0})
    ->Args({1024, 8, 2, 1})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// The coordinator's per-record cost of finding an arriving record's end in the table: the
// end is compared with the one its member had last (RecordTable::intern_end with a hint).
void BM_InternEndHinted(benchmark::State& state) {
  reports::RecordTable table;
  reports::PairEnd e = end_of(3, 1);
  e.ip = "172.17.0.5";
  e.gid = "::ffff:172.17.0.5";
  e.pci_address = "0000:3b:00.2";
  e.gpu = 2;
  e.gpu_pci_address = "0000:3a:00.0";
  e.gpu_class = "PIX";
  e.mem_registration = "ibv_reg_mr";
  const reports::PairEnd arriving = e;  // a copy, as a parsed record carries it
  uint32_t hint = table.intern_end(e).value();
  for (auto _ : state) {
    hint = *table.intern_end(arriving, hint);
    benchmark::DoNotOptimize(hint);
  }
}
BENCHMARK(BM_InternEndHinted);

// The coordinator's per-record cost of adding a record to the table, its ends already found:
// a pair's latency and bandwidth records, pair after pair of one rail (the table grows by
// 2 rows an iteration; page faults of the growing table included).
void BM_AddPairRecords(benchmark::State& state) {
  reports::RecordTable table;
  std::vector<uint32_t> id;
  for (int n = 0; n < 1024; ++n) id.push_back(table.intern_end(end_of(n, 0)).value());
  reports::Record bw, lat;
  bw.rail = lat.rail = "spiderpool/gpu1-sriov";
  bw.test = {.kind = railcheck::verbs::TestKind::kBandwidth, .op = railcheck::verbs::Op::kWrite};
  bw.size_bytes = 1 << 20;
  bw.bandwidth = reports::Bandwidth{.messages = 5000, .avg_gbps = 380, .peak_gbps = 390, .msg_rate_mpps = 0.045};
  lat.test = {.kind = railcheck::verbs::TestKind::kLatency, .op = railcheck::verbs::Op::kWrite};
  lat.size_bytes = 2;
  lat.latency_us = reports::LatencyUs{.count = 1000, .min = 1.8, .p50 = 2.0, .p90 = 2.1, .p99 = 2.4, .p99_9 = 3,
                                      .max = 9, .mean = 2.0, .stdev = 0.1};
  uint32_t a = 0, b = 1;
  for (auto _ : state) {
    table.add(lat, id[a], id[b]);
    table.add(bw, id[a], id[b]);
    if (++b == 1024) b = ++a + 1;
    if (a >= 1023) a = 0, b = 1;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 2);
}
BENCHMARK(BM_AddPairRecords);

// The last step of a run too large to keep in memory: results.json streamed from the records
// file, each record with its verdict and cause (the json format over a streamed RunView). Per record:
// one JSON parse and one dump. 100k records of a 317-node rail, every 50th pair slow.
void BM_StreamResults(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("railcheck-bench-{}", ::getpid());
  std::filesystem::create_directories(dir);
  const std::string records = (dir / "records.jsonl").string();
  reports::RecordTable table;
  {
    std::ofstream out(records);
    const Schedule s = make_schedule(Pattern::kAllPairs, 448);
    size_t n = 0;
    for (size_t k = 0; k < s.round_count() && n < 100'000; ++k) {
      for (const auto& p : s.round(k)) {
        reports::Record rec;
        rec.rail = "spiderpool/gpu1-sriov";
        rec.src = end_of(static_cast<int>(p.client), 0);
        rec.dst = end_of(static_cast<int>(p.server), 0);
        rec.test = {.kind = railcheck::verbs::TestKind::kBandwidth, .op = railcheck::verbs::Op::kWrite};
        rec.size_bytes = 1 << 20;
        rec.round = static_cast<uint32_t>(k + 1);
        const double gbps = n % 50 == 0 ? 190 : 380 * (1 + jitter(0, p.client, p.server) / 100);
        rec.bandwidth = reports::Bandwidth{.messages = 5000, .avg_gbps = gbps, .peak_gbps = gbps, .msg_rate_mpps = 0.045};
        out << reports::to_json(rec).dump() << "\n";
        table.add(rec);
        ++n;
      }
    }
  }
  reports::judge(table, *reports::load_profile("default"));
  reports::Results head;
  const reports::RunView view(head, table, records);
  const reports::Format json = *reports::parse_format("json");
  for (auto _ : state) {
    std::ofstream out(dir / "results.json", std::ios::binary | std::ios::trunc);
    auto ok = json->write(view, out);
    if (!ok) state.SkipWithError(ok.error().message().c_str());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * table.size()));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_StreamResults)->Unit(benchmark::kMillisecond);

// One record per pair (write_bw, one size) on every rail, kept in full and judged with the
// default profile: the path of a run small enough to keep its records for every report file.
void BM_AggregateRecords(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  const int rails = static_cast<int>(state.range(1));
  const auto profile = reports::load_profile("default");
  size_t records = 0;
  for (auto _ : state) {
    reports::Results res;
    for (int r = 0; r < rails; ++r) {
      const Schedule s = make_schedule(Pattern::kAllPairs, static_cast<uint32_t>(nodes));
      for (size_t round = 0; round < s.round_count(); ++round) {
        for (const auto& p : s.round(round)) {
          reports::Record rec;
          rec.rail = fmt::format("spiderpool/gpu{}-sriov", r + 1);
          rec.src = end_of(static_cast<int>(p.client), r);
          rec.dst = end_of(static_cast<int>(p.server), r);
          rec.test = {.kind = railcheck::verbs::TestKind::kBandwidth, .op = railcheck::verbs::Op::kWrite};
          rec.size_bytes = 1 << 20;
          rec.round = static_cast<uint32_t>(round + 1);
          const double slow = p.client == 7 || p.server == 7 ? 0.5 : 1.0;  // one slow node
          rec.bandwidth = reports::Bandwidth{.messages = 5000, .avg_gbps = 380 * slow, .peak_gbps = 390 * slow,
                                             .msg_rate_mpps = 0.045};
          res.records.push_back(std::move(rec));
        }
      }
    }
    if (auto judged = reports::judge(res, *profile); !judged) state.SkipWithError(judged.error().message().c_str());
    records = res.records.size();
    benchmark::DoNotOptimize(res);
  }
  state.counters["records"] = static_cast<double>(records);
  state.counters["max_rss_MiB"] = max_rss_mib();
}
BENCHMARK(BM_AggregateRecords)->Args({64, 8})->Args({128, 8})->Args({256, 8})->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
