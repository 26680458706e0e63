// `railcheck coordinator`: finds the agents, groups their interfaces into rails, runs every
// rail's test matrix, and writes the report (docs/cluster.md). Exit 0 all passed, 1 something
// failed, 2 could not run.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/command.hpp"
#include "cli/spec_options.hpp"
#include "gpudirect/memory.hpp"
#include "pods/api.hpp"
#include "pods/coordinator.hpp"
#include "reports/judge.hpp"
#include "reports/log_block.hpp"
#include "reports/outputs.hpp"
#include "reports/results.hpp"

namespace railcheck::cli {
namespace {

constexpr SpecScope kScope{.latency = true, .bandwidth = true, .peer_mem_follows_mem = true};

struct CoordinatorCliOptions {
  std::vector<std::string> agents;
  std::string discover;
  int agent_port = pods::kDefaultAgentPort;
  std::string token_file;
  std::vector<std::string> tests{"write_lat", "write_bw"};
  SpecOptions spec;
  std::string pattern = "all-pairs";
  uint32_t retries = 1;
  uint32_t confirm = 2;
  uint32_t expect_nodes = 0;
  double wait_s = 60;
  double timeout_s = 10;
  double pair_timeout_s = 600;
  uint32_t parallel = 64;
  std::string output_dir = "railcheck-report";
  size_t keep_records = 200'000;
  std::string profile = "default";
  bool quiet = false;
  bool log_results = false;
};

// What `railcheck coordinator --help` says first.
constexpr const char* kDescription =
    "Tests every rail across nodes: finds the agents (--agents or --discover), groups their interfaces into rails "
    "(by Multus network name, else subnet), runs each rail's pairs as a round-robin tournament (rails in "
    "parallel, every NIC in one test at a time), and writes the report.\n"
    "Exit: 0 all passed, 1 something failed, 2 could not run.\n"
    "Example: railcheck coordinator --discover rdma-tools-agents.default.svc --tests write_lat,write_bw -s 64K";

// A results block larger than this may not survive in a container's log: kubelet rotates it
// past containerLogMaxSize (10Mi by default) and `kubectl logs` shows the newest file only.
constexpr uintmax_t kLogBlockNoteBytes = 8u << 20;

// --log-results: results.json as written, framed, at the very end of stdout (reports/log_block.hpp).
Result<void> log_results(const std::string& output_dir, const std::string& schema) {
  const std::filesystem::path path = std::filesystem::path(output_dir) / "results.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail_errno(fmt::format("--log-results: open {}", path.string()), errno);
  std::error_code ec;
  const uintmax_t bytes = std::filesystem::file_size(path, ec);
  if (!ec && bytes > kLogBlockNoteBytes) {
    std::cerr << fmt::format(
        "railcheck coordinator: the results block is {:.1f} MiB: more than kubelet keeps of a container's log by "
        "default (containerLogMaxSize 10Mi); if `railcheck report --from-log` finds its start gone, keep the report "
        "on a volume (coordinator.reportVolume)\n",
        static_cast<double>(bytes) / (1u << 20));
  }
  std::cout << std::flush;
  auto written = reports::write_log_block(in, schema, std::cout);
  if (!written) return std::unexpected(written.error());
  return {};
}

Result<std::vector<verbs::RunSpec>> build_tests(const CoordinatorCliOptions& o, const reports::Profile& profile) {
  std::vector<verbs::RunSpec> out;
  for (const std::string& name : o.tests) {
    auto id = verbs::parse_test_id(name);
    if (!id) return std::unexpected(id.error());
    auto spec = build_spec(o.spec, kScope, *id, profile.run_bandwidth);
    if (!spec) return fail(spec.error().code, fmt::format("{}: {}", name, spec.error().what), spec.error().hint);
    if (std::ranges::none_of(out, [&](const verbs::RunSpec& t) { return t.test() == *id; })) out.push_back(*spec);
  }
  return out;
}

int run_coordinator_cmd(const CoordinatorCliOptions& o) {
  auto profile = reports::load_profile(o.profile);
  if (!profile) {
    std::cerr << "railcheck coordinator: " << profile.error().message() << "\n";
    return kExitUsage;
  }
  auto tests = build_tests(o, *profile);
  if (!tests) {
    std::cerr << "railcheck coordinator: " << tests.error().message() << "\n";
    return kExitUsage;
  }
  const char* env_token = std::getenv("RAILCHECK_TOKEN_FILE");
  const std::string token_file =
      !o.token_file.empty() ? o.token_file : (env_token && *env_token ? env_token : "/etc/railcheck/token/token");
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
                                .profile = *profile,
                                .confirm = o.confirm,
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
  // Judged, reported and turned into an exit code the same way whether the records fit in
  // memory or not (then the formats that need them in memory are left out, and said so).
  const std::vector<reports::Format> formats(reports::all_formats().begin(), reports::all_formats().end());
  const reports::FinishOptions fin{.profile = &*profile, .formats = formats, .dir = o.output_dir, .terminal = &std::cout};
  auto finished = run->complete ? reports::finish_run(run->results, fin)
                                : reports::finish_run(run->results, run->table, copt.records_path, fin);
  if (!finished) {
    std::cerr << "railcheck coordinator: " << finished.error().message() << "\n";
    return kExitUsage;
  }
  std::cout << fmt::format("report: {}\n", fmt::join(finished->written, ", "));
  if (!finished->left_out.empty()) {
    std::string names;
    for (size_t i = 0; i < finished->left_out.size(); ++i) {
      names += i == 0 ? "" : (i + 1 == finished->left_out.size() ? " and " : ", ");
      names += reports::file_name(finished->left_out[i]);
    }
    std::cout << fmt::format(
        "{} records, more than --keep-records {}: {} {} not written (they need every record in memory); "
        "`railcheck report {}/results.json --format junit,html,prometheus -o DIR` renders them where memory allows\n",
        run->table.size(), o.keep_records, names, finished->left_out.size() == 1 ? "is" : "are", o.output_dir);
  }
  if (o.log_results) {
    if (auto logged = log_results(o.output_dir, run->results.schema_version); !logged) {
      std::cerr << "railcheck coordinator: " << logged.error().message() << "\n";
      return kExitUsage;
    }
  }
  return finished->outcome.failed() ? kExitFailed : kExitOk;
}

void add_options(CLI::App& sub, CoordinatorCliOptions& o) {
  auto* agents = sub.add_option("--agents", o.agents, "Agent addresses, HOST[:PORT], comma-separated")->delimiter(',');
  auto* discover = sub.add_option("--discover", o.discover,
                                  "DNS name whose A records are the agents (the chart's headless Service)");
  agents->excludes(discover);
  sub.add_option("--agent-port", o.agent_port, "Agent port for --discover and addresses without one")
      ->check(CLI::Range(1, 65535))
      ->default_val(pods::kDefaultAgentPort);
  sub.add_option("--token-file", o.token_file,
                 "File with the agents' bearer token (default $RAILCHECK_TOKEN_FILE, else /etc/railcheck/token/token)");
  sub.add_option("--tests", o.tests,
                 fmt::format("Tests per pair, comma-separated: {}", fmt::join(verbs::test_names(), ", ")))
      ->delimiter(',')
      ->default_str("write_lat,write_bw");
  add_spec_options(sub, o.spec, kScope);
  sub.add_option("--pattern", o.pattern, "Which pairs: all-pairs (round-robin tournament), ring, pairs")
      ->check(CLI::IsMember({"all-pairs", "ring", "pairs"}))
      ->default_val("all-pairs");
  sub.add_option("--retries", o.retries, "Re-run a failed pair this many times before calling it failed")
      ->check(CLI::Range(0, 10))
      ->default_val(1);
  sub.add_option("--confirm", o.confirm,
                 "Measure a slow pair's test again up to this many times, one at a time, before calling it slow: a "
                 "fault is slow every time, a busy host's stall is not (0: never)")
      ->check(CLI::Range(0, 10))
      ->default_val(2);
  sub.add_option("--expect-nodes", o.expect_nodes, "Wait for this many agents; fewer is a failure");
  sub.add_option("--wait", o.wait_s, "Seconds to wait for the agents to answer")
      ->check(CLI::Range(0.0, 3600.0))
      ->default_val(60);
  add_progress_timeout_option(sub, o.timeout_s, "a test fails");
  sub.add_option("--pair-timeout", o.pair_timeout_s, "Hard limit on one test of one pair, seconds")
      ->check(CLI::Range(1.0, 86400.0))
      ->default_val(600);
  sub.add_option("--parallel", o.parallel, "Pairs running at once, over all rails")
      ->check(CLI::Range(1, 4096))
      ->default_val(64);
  sub.add_option("-o,--output-dir", o.output_dir,
                 "Folder for the report files, and records.jsonl: every record as it arrives")
      ->default_val("railcheck-report");
  sub.add_option("--keep-records", o.keep_records,
                 "Records held in memory for the reports (~1.4 KiB each); a larger run writes only report.txt "
                 "and results.json, from a compact table and records.jsonl")
      ->check(CLI::Range(size_t{0}, size_t{100'000'000}))
      ->default_val(200'000);
  sub.add_option("--profile", o.profile,
                 "Verdict thresholds and bandwidth defaults: default (gates from the link rate; bandwidth 1 MiB, 4 QPs, "
                 "3 s), lab (Soft-RoCE: loose gates; bandwidth 64 KiB, 1 QP, 5000 messages), or a profile JSON file")
      ->default_val("default");
  sub.add_flag("--quiet", o.quiet, "No progress lines");
  sub.add_flag("--log-results", o.log_results,
               "End stdout with results.json between BEGIN/END marker lines (with its length and CRC-32), so the "
               "results survive in a pod's log: `kubectl logs job/NAME-test | railcheck report --from-log - "
               "--format junit,html -o DIR`");
}

}  // namespace

Command add_coordinator_command(CLI::App& parent) {
  return add_command(parent, "coordinator", kDescription, add_options, run_coordinator_cmd);
}

}  // namespace railcheck::cli
