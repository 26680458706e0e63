// `railcheck report RESULTS.json...`: re-renders saved results (the coordinator's
// results.json, or `railcheck lat|bw --format json` output) in any format, re-judged with a
// profile, so a pipeline can archive raw results and judge them again later. With --from-log
// the results come out of a coordinator's log (its --log-results block), e.g. a helm test Job's.

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>

#include "cli/command.hpp"
#include "reports/judge.hpp"
#include "reports/log_block.hpp"
#include "reports/outputs.hpp"
#include "reports/single_results.hpp"

namespace railcheck::cli {
namespace {

constexpr const char* kReportHelp = R"(Verdicts: without --profile, results that were judged keep their verdicts (re-rendered as
they were) and unjudged ones are judged with the default profile; with --profile, every record
is judged again. Profiles: default (real NICs: bandwidth >= 0.90 x port rate at the largest
size, p50 latency <= 2.5 us write/send, 4.5 us read), lab (Soft-RoCE), or a JSON file (see
profiles/ and docs/report-schema.md).
Output: one format without -o goes to stdout; with -o DIR every format is written to its file
there. Formats:
)";
constexpr const char* kReportExit = R"(Exit: 0 nothing failed; 1 the run failed (a test failed, an agent never answered, a node lacked a
rail); 2 bad options or unreadable results (the message names the file and the field).)";

struct ReportOptions {
  std::vector<std::string> inputs;
  std::string formats = "terminal";
  std::string profile;
  std::string output_dir;
  std::string from_log;  // a log holding a results block (coordinator --log-results); "-": stdin
};

// What `railcheck report --help` says first.
constexpr const char* kDescription =
    "Render saved results (results.json from the coordinator, or `lat`/`bw --format json`; several are merged) "
    "as a terminal summary, JSON, JUnit XML, HTML, Prometheus text or CSV, judged with a profile.\n"
    "Example: railcheck report results.json --format terminal,junit,html -o reports/ --profile lab\n"
    "From a helm test Job's log: kubectl logs job/NAME-test | railcheck report --from-log - --format junit,html -o out/";

// --from-log: the last results block of the log (reports/log_block.hpp), as results.
Result<reports::Results> results_from_log(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail_errno(fmt::format("--from-log: open {}", path), errno, "give the saved log, or - for stdin");
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::string name = path == "-" ? "stdin" : path;
  auto block = reports::find_log_block(text);
  if (!block) return fail(block.error().code, fmt::format("--from-log {}: {}", name, block.error().what), block.error().hint);
  std::cerr << fmt::format("railcheck report: results ({}) from lines {}-{} of {}\n", block->schema,
                           block->begin_line, block->end_line, name);
  return reports::parse_results(block->payload, fmt::format("{} lines {}-{}", name, block->begin_line, block->end_line));
}

int run_report(const ReportOptions& o) {
  auto formats = reports::parse_formats(o.formats);
  if (!formats) {
    std::cerr << "railcheck report: --format: " << formats.error().message() << "\n";
    return kExitUsage;
  }
  if (formats->size() > 1 && o.output_dir.empty()) {
    std::cerr << "railcheck report: several formats need -o DIR (one file each)\n";
    return kExitUsage;
  }
  if (o.inputs.empty() == o.from_log.empty()) {
    std::cerr << "railcheck report: give results file(s), or --from-log LOG\n";
    return kExitUsage;
  }
  std::vector<reports::Results> parts;
  for (const std::string& path : o.from_log.empty() ? o.inputs : std::vector<std::string>{o.from_log}) {
    auto r = o.from_log.empty() ? reports::load_results(path) : results_from_log(path);
    if (!r) {
      std::cerr << "railcheck report: " << r.error().message() << "\n";
      return kExitUsage;
    }
    parts.push_back(std::move(*r));
  }
  reports::Results results = reports::merge_results(std::move(parts));
  const bool judged = std::ranges::any_of(results.records, [](const reports::Record& r) {
    return r.verdict != reports::Verdict::kNone && r.verdict != reports::Verdict::kWaived;
  });
  std::optional<reports::Profile> profile;
  if (!o.profile.empty() || !judged || o.inputs.size() > 1) {
    auto loaded = reports::load_profile(o.profile.empty() ? "default" : o.profile);
    if (!loaded) {
      std::cerr << "railcheck report: --profile: " << loaded.error().message() << "\n";
      return kExitUsage;
    }
    profile = std::move(*loaded);
  }
  // One format without -o goes to stdout; with -o every format is written to its file.
  const reports::FinishOptions fin{.profile = profile ? &*profile : nullptr,
                                   .formats = o.output_dir.empty() ? std::vector<reports::Format>{} : *formats,
                                   .dir = o.output_dir,
                                   .terminal = nullptr};
  auto finished = reports::finish_run(results, fin);
  if (!finished) {
    std::cerr << "railcheck report: " << finished.error().message() << "\n";
    return kExitUsage;
  }
  if (o.output_dir.empty()) std::cout << reports::render(results, formats->front()) << std::flush;
  for (const auto& path : finished->written) std::cerr << "railcheck report: wrote " << path << "\n";
  return finished->outcome.failed() ? kExitFailed : kExitOk;
}

void add_options(CLI::App& sub, ReportOptions& opt) {
  sub.footer(std::string(kReportHelp) + reports::formats_help() + kReportExit);
  auto* inputs = sub.add_option("results", opt.inputs, "Results JSON file(s) (schema railcheck.results/v1)")
                    ->check(CLI::ExistingFile);
  sub.add_option("--from-log", opt.from_log,
                 "Instead of results files: a log ending with the coordinator's results block (--log-results), "
                 "- for stdin, e.g. `kubectl logs job/NAME-test | railcheck report --from-log - -f junit,html -o DIR`; "
                 "the last complete block is read, checked (length, CRC-32), and rendered as its results.json")
      ->excludes(inputs);
  sub.add_option("-f,--format", opt.formats,
                 fmt::format("Comma-separated: {} (default terminal)", reports::format_names()));
  sub.add_option("--profile", opt.profile, "Judge with this profile: default, lab, or a profile JSON file");
  sub.add_option("-o,--output-dir", opt.output_dir, "Write one file per format into DIR (created if missing)");
}

}  // namespace

Command add_report_command(CLI::App& parent) {
  return add_command(parent, "report", kDescription, add_options, run_report);
}

}  // namespace railcheck::cli
