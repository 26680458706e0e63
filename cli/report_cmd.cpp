// `railcheck report RESULTS.json...`: re-renders saved results (the coordinator's
// results.json, or `railcheck lat|bw --format json` output) in any format, re-judged with a
// profile, so a pipeline can archive raw results and judge them again later.

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "cli/command.hpp"
#include "reports/judge.hpp"
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
there (report.txt, results.json, junit.xml, report.html, metrics.prom).
Exit: 0 nothing failed; 1 a test failed; 2 bad options or unreadable results (the message names
the file and the field).)";

struct ReportOptions {
  std::vector<std::string> inputs;
  std::string formats = "terminal";
  std::string profile;
  std::string output_dir;
};

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
  std::vector<reports::Results> parts;
  for (const std::string& path : o.inputs) {
    auto r = reports::load_results(path);
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
  if (!o.profile.empty() || !judged || o.inputs.size() > 1) {
    auto profile = reports::load_profile(o.profile.empty() ? "default" : o.profile);
    if (!profile) {
      std::cerr << "railcheck report: --profile: " << profile.error().message() << "\n";
      return kExitUsage;
    }
    reports::judge(results, *profile);
  }
  if (o.output_dir.empty()) {
    std::cout << reports::render(results, formats->front()) << std::flush;
  } else {
    auto written = reports::write_reports(results, o.output_dir, *formats);
    if (!written) {
      std::cerr << "railcheck report: " << written.error().message() << "\n";
      return kExitUsage;
    }
    for (const auto& path : *written) std::cerr << "railcheck report: wrote " << path << "\n";
  }
  return reports::any_failed(results) ? kExitFailed : kExitOk;
}

}  // namespace

Command add_report_command(CLI::App& parent) {
  auto opt = std::make_shared<ReportOptions>();
  CLI::App* sub = parent.add_subcommand(
      "report",
      "Render saved results (results.json from the coordinator, or `lat`/`bw --format json`; several are merged) "
      "as a terminal summary, JSON, JUnit XML, HTML or Prometheus text, judged with a profile.\n"
      "Example: railcheck report results.json --format terminal,junit,html -o reports/ --profile lab");
  sub->footer(kReportHelp);
  sub->add_option("results", opt->inputs, "Results JSON file(s) (schema railcheck.results/v1)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("-f,--format", opt->formats,
                  "Comma-separated: terminal (default), json, junit, html, prometheus");
  sub->add_option("--profile", opt->profile, "Judge with this profile: default, lab, or a profile JSON file");
  sub->add_option("-o,--output-dir", opt->output_dir, "Write one file per format into DIR (created if missing)");
  return Command{sub, [opt] { return run_report(*opt); }};
}

}  // namespace railcheck::cli
