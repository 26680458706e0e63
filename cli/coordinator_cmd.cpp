// `railcheck coordinator`: finds the agents, groups their interfaces into rails, runs every
// rail's test matrix, and writes the report (docs/cluster.md). Exit 0 all passed, 1 something
// failed, 2 could not run.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/command.hpp"
#include "gpudirect/memory.hpp"
#include "pods/api.hpp"
#include "pods/coordinator.hpp"
#include "reports/judge.hpp"
#include "reports/outputs.hpp"
#include "reports/results.hpp"

namespace railcheck::cli {
namespace {

constexpr reports::Format kAllFormats[] = {reports::Format::kTerminal, reports::Format::kJson, reports::Format::kJunit,
                                           reports::Format::kHtml, reports::Format::kPrometheus};

struct CoordinatorCliOptions {
  std::vector<std::string> agents;
  std::string discover;
  int agent_port = pods::kDefaultAgentPort;
  std::string token_file;
  std::vector<std::string> tests{"write_lat", "write_bw"};
  std::vector<std::string> sizes;
  uint64_t iters = 0;
  double duration_s = 0;
  int64_t warmup = -1;
  uint32_t qps = 1;
  uint32_t tx_depth = 128;
  bool bidir = false;
  std::string pattern = "all-pairs";
  uint32_t retries = 1;
  uint32_t expect_nodes = 0;
  double wait_s = 60;
  double timeout_s = 10;
  double pair_timeout_s = 600;
  uint32_t parallel = 64;
  std::string output_dir = "railcheck-report";
  size_t keep_records = 200'000;
  std::string profile = "default";
  std::string mem = "host";
  bool quiet = false;
};

Result<std::vector<pods::PairTest>> build_tests(const CoordinatorCliOptions& o) {
  std::vector<pods::PairTest> out;
  for (const std::string& name : o.tests) {
    auto kind_op = verbs::parse_test_name(name);
    if (!kind_op) return std::unexpected(kind_op.error());
    const auto [kind, op] = *kind_op;
    verbs::RunSpec spec = verbs::default_spec(kind, op);
    if (!o.sizes.empty()) {
      auto sizes = verbs::parse_sizes(o.sizes);
      if (!sizes) return std::unexpected(sizes.error());
      spec.sizes_bytes = std::move(*sizes);
    }
    if (o.iters != 0) spec.iters = o.iters;
    spec.duration_s = o.duration_s;
    if (o.warmup >= 0) spec.warmup_iters = static_cast<uint64_t>(o.warmup);
    if (kind == verbs::TestKind::kBandwidth) {
      spec.qps = o.qps;
      spec.tx_depth = o.tx_depth;
      spec.bidir = o.bidir;
    }
    auto mem = verbs::parse_memory_spec(o.mem);
    if (!mem) return std::unexpected(mem.error());
    if (auto ok = gpudirect::check_memory_spec(*mem); !ok) return std::unexpected(ok.error());
    spec.mem = *mem;       // GPUDirect end to end: both sides' buffers
    spec.peer_mem = *mem;
    if (auto ok = verbs::validate(spec); !ok) return std::unexpected(ok.error());
    if (std::ranges::find(out, name, &pods::PairTest::name) == out.end()) out.push_back({name, spec});
  }
  return out;
}

int run_coordinator_cmd(const CoordinatorCliOptions& o) {
  auto tests = build_tests(o);
  if (!tests) {
    std::cerr << "railcheck coordinator: " << tests.error().message() << "\n";
    return kExitUsage;
  }
  const char* env_token = std::getenv("RAILCHECK_TOKEN_FILE");
  const std::string token_file =
      !o.token_file.empty() ? o.token_file : (env_token && *env_token ? env_token : "/etc/railcheck/token/token");
  auto profile = reports::load_profile(o.profile);
  if (!profile) {
    std::cerr << "railcheck coordinator: " << profile.error().message() << "\n";
    return kExitUsage;
  }
  auto token = pods::read_token_file(token_file);
  if (!token) {
    std::cerr << "railcheck coordinator: " << token.error().message() << "\n";
    return kExitUsage;
  }
  pods::CoordinatorOptions copt{.agents = o.agents,
                                .discover = o.discover,
                                .agent_port = static_cast<uint16_t>(o.agent_port),
                                .token = *token,
                                .tests = *tests,
                                .pattern = *pods::parse_pattern(o.pattern),
                                .retries = o.retries,
                                .expect_nodes = o.expect_nodes,
                                .wait_s = o.wait_s,
                                .test_timeout_s = o.timeout_s,
                                .pair_timeout_s = o.pair_timeout_s,
                                .parallel = o.parallel,
                                .records_path = (std::filesystem::path(o.output_dir) / "records.jsonl").string(),
                                .keep_records = o.keep_records,
                                .progress = {}};
  if (!o.quiet) copt.progress = [](std::string_view line) { std::cerr << line << std::endl; };
  std::error_code ec;
  std::filesystem::create_directories(o.output_dir, ec);
  if (ec) {
    std::cerr << fmt::format("railcheck coordinator: create report folder {}: {}; give a writable folder (-o)\n",
                             o.output_dir, ec.message());
    return kExitUsage;
  }
  auto run = pods::run_coordinator(copt);
  if (!run) {
    std::cerr << "railcheck coordinator: could not run: " << run.error().message() << "\n";
    return kExitUsage;
  }
  reports::Results& results = run->results;
  bool failed = false;
  Result<std::vector<std::string>> written;
  if (run->complete) {
    reports::judge(results, *profile);
    std::cout << reports::render_terminal(results) << std::flush;
    written = reports::write_reports(results, o.output_dir, kAllFormats);
    failed = reports::any_failed(results);
  } else {
    // Too many records to hold: the verdicts from the table, results.json streamed from the
    // records file, the terminal report from the table; the per-record formats are left out.
    reports::judge(run->table, *profile);
    results.meta.profile = profile->name;
    std::cout << reports::render_terminal(results, run->table) << std::flush;
    written = reports::write_reports(results, run->table, copt.records_path, o.output_dir);
    failed = reports::any_failed(run->table);
  }
  if (!written) {
    std::cerr << "railcheck coordinator: " << written.error().message() << "\n";
    return kExitUsage;
  }
  std::cout << fmt::format("report: {}\n", fmt::join(*written, ", "));
  if (!run->complete) {
    std::cout << fmt::format(
        "{} records, more than --keep-records {}: junit.xml, report.html and metrics.prom are not written (they "
        "need every record in memory); `railcheck report {} --format junit,html,prometheus -o DIR` renders them where memory allows\n",
        run->table.size(), o.keep_records, written->back());
  }
  // Failed records, and what has no records: agents that never answered, nodes without a rail.
  failed |= std::ranges::any_of(results.nodes, [](const reports::NodeInfo& n) { return !n.reachable; });
  failed |= std::ranges::any_of(results.rails, [](const reports::RailInfo& r) { return !r.missing_nodes.empty(); });
  return failed ? kExitFailed : kExitOk;
}

}  // namespace

Command add_coordinator_command(CLI::App& parent) {
  auto o = std::make_shared<CoordinatorCliOptions>();
  CLI::App* sub = parent.add_subcommand(
      "coordinator",
      "Tests every rail across nodes: finds the agents (--agents or --discover), groups their interfaces into rails "
      "(by Multus network name, else subnet), runs each rail's pairs as a round-robin tournament (rails in "
      "parallel, every NIC in one test at a time), and writes the report.\n"
      "Exit: 0 all passed, 1 something failed, 2 could not run.\n"
      "Example: railcheck coordinator --discover rdma-tools-agents.default.svc --tests write_lat,write_bw -s 64K");
  auto* agents = sub->add_option("--agents", o->agents, "Agent addresses, HOST[:PORT], comma-separated")->delimiter(',');
  auto* discover = sub->add_option("--discover", o->discover,
                                   "DNS name whose A records are the agents (the chart's headless Service)");
  agents->excludes(discover);
  sub->add_option("--agent-port", o->agent_port, "Agent port for --discover and addresses without one")
      ->check(CLI::Range(1, 65535))
      ->default_val(pods::kDefaultAgentPort);
  sub->add_option("--token-file", o->token_file,
                  "File with the agents' bearer token (default $RAILCHECK_TOKEN_FILE, else /etc/railcheck/token/token)");
  sub->add_option("--tests", o->tests,
                  "Tests per pair: write_lat, read_lat, send_lat, write_imm_lat, write_bw, read_bw, send_bw, write_imm_bw (comma-separated)")
      ->delimiter(',')
      ->default_str("write_lat,write_bw");
  sub->add_option("-s,--size", o->sizes, "Message size(s) for every test (default: lat 2, bw 64K)")->delimiter(',');
  auto* iters = sub->add_option("-n,--iters", o->iters, "Iterations per size (default: lat 1000, bw 5000)");
  sub->add_option("-D,--duration", o->duration_s, "Seconds per size instead of a count")
      ->check(CLI::Range(0.01, verbs::kMaxDurationS))
      ->excludes(iters);
  sub->add_option("--warmup", o->warmup, "Warm-up iterations per size (default: lat 100, bw 16)")
      ->check(CLI::Range(int64_t{0}, static_cast<int64_t>(verbs::kMaxIters)));
  sub->add_option("-q,--qps", o->qps, "Bandwidth: queue pairs")->default_val(1);
  sub->add_option("-t,--tx-depth", o->tx_depth, "Bandwidth: outstanding sends per QP")->default_val(128);
  sub->add_flag("-b,--bidir", o->bidir, "Bandwidth: both directions at once");
  sub->add_option("--pattern", o->pattern, "Which pairs: all-pairs (round-robin tournament), ring, pairs")
      ->check(CLI::IsMember({"all-pairs", "ring", "pairs"}))
      ->default_val("all-pairs");
  sub->add_option("--retries", o->retries, "Re-run a failed pair this many times before calling it failed")
      ->check(CLI::Range(0, 10))
      ->default_val(1);
  sub->add_option("--expect-nodes", o->expect_nodes, "Wait for this many agents; fewer is a failure");
  sub->add_option("--wait", o->wait_s, "Seconds to wait for the agents to answer")
      ->check(CLI::Range(0.0, 3600.0))
      ->default_val(60);
  sub->add_option("--timeout", o->timeout_s, "Seconds without progress before a test fails")
      ->check(CLI::Range(0.1, 3600.0))
      ->default_val(10);
  sub->add_option("--pair-timeout", o->pair_timeout_s, "Hard limit on one test of one pair, seconds")
      ->check(CLI::Range(1.0, 86400.0))
      ->default_val(600);
  sub->add_option("--parallel", o->parallel, "Pairs running at once, over all rails")
      ->check(CLI::Range(1, 4096))
      ->default_val(64);
  sub->add_option("-o,--output-dir", o->output_dir,
                  "Folder for the report files, and records.jsonl: every record as it arrives")
      ->default_val("railcheck-report");
  sub->add_option("--keep-records", o->keep_records,
                  "Records held in memory for the reports (~1.4 KiB each); a larger run writes only report.txt "
                  "and results.json, from a compact table and records.jsonl")
      ->check(CLI::Range(size_t{0}, size_t{100'000'000}))
      ->default_val(200'000);
  sub->add_option("--mem", o->mem,
                  "Both sides' buffers: host, or cuda (GPUDirect: each agent's GPU nearest the NIC; waived where "
                  "there is no GPU); GPU latency needs send_lat or write_imm_lat")
      ->default_val("host");
  sub->add_option("--profile", o->profile,
                  "Verdict thresholds: default (from the link rate), lab (Soft-RoCE), or a profile JSON file")
      ->default_val("default");
  sub->add_flag("--quiet", o->quiet, "No progress lines");
  return Command{sub, [o] { return run_coordinator_cmd(*o); }};
}

}  // namespace railcheck::cli
