// The format table, RunView and finish_run(): the one path every report takes.
#include "reports/outputs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "reports/judge.hpp"
#include "reports/record_table.hpp"
#include "reports/reporters.hpp"

namespace railcheck::reports {

namespace {

// The formats, one row each: name, file in a report folder, --help line, whether the reporter
// needs the records in memory, and its write function (reporters.hpp).
const FormatInfo kTerminalFormat{"terminal", "report.txt",
                                 "the per-rail summary, failures and warnings with their causes, the verdict",
                                 /*needs_records_in_memory=*/false, &write_terminal};
const FormatInfo kJsonFormat{"json", "results.json",
                             "the results document (railcheck.results/v1): every record, verdict and cause",
                             /*needs_records_in_memory=*/false, &write_json};
const FormatInfo kJunitFormat{"junit", "junit.xml",
                              "JUnit XML for CI: a testsuite per rail, a testcase per pair, test and size",
                              /*needs_records_in_memory=*/true, &write_junit};
const FormatInfo kHtmlFormat{"html", "report.html",
                             "a self-contained page: per-rail heatmaps, verdicts, causes, rail maps",
                             /*needs_records_in_memory=*/true, &write_html};
const FormatInfo kPrometheusFormat{"prometheus", "metrics.prom",
                                   "Prometheus text (node-exporter textfile collector): figures, verdicts, run_failed",
                                   /*needs_records_in_memory=*/true, &write_prometheus};
const FormatInfo kCsvFormat{"csv", "records.csv",
                            "every record as a CSV row (RFC 4180): identity, figures, verdict, cause",
                            /*needs_records_in_memory=*/false, &write_csv};

const std::array<Format, 6> kFormats{&kTerminalFormat, &kJsonFormat,       &kJunitFormat,
                                     &kHtmlFormat,     &kPrometheusFormat, &kCsvFormat};

// Writes beside, then renames: a reader (node-exporter's textfile collector) never sees half a
// file. `fill` writes the content and returns an error of its own, if any.
template <typename Fill>
Result<void> write_file(const std::string& path, Fill&& fill) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return fail_errno(fmt::format("open {}", tmp), errno, "give a writable folder (-o)");
    Result<void> ok = fill(out);
    out.close();
    if (ok && !out) ok = fail_errno(fmt::format("write {}", tmp), errno, "is the disk full?");
    if (!ok) {
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      return ok;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return fail_errno(fmt::format("rename {} to {}", tmp, path), ec.value());
  return {};
}

std::vector<RailSummary> summaries(const Results& head, const RecordTable& table, bool in_memory) {
  // With each test's worst record, when the records are there (row i is record i).
  if (in_memory && head.records.size() == table.size()) return summarize_rails(head, table);
  return summarize_rails(table, head.rails, head.meta.tests);
}

// The chosen formats into `dir`, from `view`; the ones that need the records in memory are left
// out of a streamed view. The terminal report, when already rendered, is not rendered again.
Result<FinishedRun> write_all(const RunView& view, const FinishOptions& options, const std::string& terminal_text) {
  FinishedRun done{.outcome = view.outcome(), .written = {}, .left_out = {}};
  if (options.dir.empty()) return done;
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return fail_errno(fmt::format("create report folder {}", options.dir), ec.value(), "give a writable folder (-o)");
  for (Format f : options.formats) {
    if (f->needs_records_in_memory && !view.records_in_memory()) {
      done.left_out.push_back(f);
      continue;
    }
    const std::string path = (std::filesystem::path(options.dir) / f->file).string();
    auto ok = write_file(path, [&](std::ostream& out) -> Result<void> {
      if (f == &kTerminalFormat && !terminal_text.empty()) {
        out << terminal_text;
        return {};
      }
      return f->write(view, out);
    });
    if (!ok) return std::unexpected(ok.error());
    done.written.push_back(path);
  }
  return done;
}

Result<FinishedRun> finish(const RunView& view, const FinishOptions& options) {
  std::string terminal_text;
  if (options.terminal != nullptr) {
    std::ostringstream text;
    if (auto ok = kTerminalFormat.write(view, text); !ok) return std::unexpected(ok.error());
    terminal_text = std::move(text).str();
    *options.terminal << terminal_text << std::flush;
  }
  return write_all(view, options, terminal_text);
}

}  // namespace

RunView::RunView(const Results& head, const RecordTable& table)
    : head_(head), table_(table), rails_(summaries(head, table, true)), outcome_(run_outcome(head, rails_)) {}

RunView::RunView(const Results& head, const RecordTable& table, std::string records_jsonl)
    : head_(head),
      table_(table),
      records_jsonl_(std::move(records_jsonl)),
      rails_(summaries(head, table, records_jsonl_.empty())),
      outcome_(run_outcome(head, rails_)) {}

Result<void> RunView::for_each_record(const std::function<Result<void>(size_t, const Record&)>& fn) const {
  if (records_in_memory()) {
    for (size_t i = 0; i < head_.records.size(); ++i) {
      if (auto ok = fn(i, head_.records[i]); !ok) return ok;
    }
    return {};
  }
  std::ifstream in(records_jsonl_, std::ios::binary);
  if (!in) return fail_errno(fmt::format("open {}", records_jsonl_), errno, "the coordinator writes it beside the reports");
  std::string line;
  size_t row = 0;
  for (; std::getline(in, line); ++row) {
    if (row >= table_.size()) {
      return fail(Errc::kProtocol, fmt::format("{} has more records than the run's {}", records_jsonl_, table_.size()));
    }
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    auto rec = j.is_discarded() ? Result<Record>(fail(Errc::kProtocol, "not JSON")) : record_from_json(j);
    if (!rec) return fail(Errc::kProtocol, fmt::format("{} line {}: {}", records_jsonl_, row + 1, rec.error().what));
    rec->verdict = table_.row(row).verdict;
    rec->cause = table_.cause(row);
    if (auto ok = fn(row, *rec); !ok) return ok;
  }
  if (row != table_.size()) {
    return fail(Errc::kProtocol, fmt::format("{} has {} records, the run {}", records_jsonl_, row, table_.size()));
  }
  return {};
}

std::span<const Format> all_formats() { return kFormats; }
std::string_view to_string(Format f) noexcept { return f->name; }
std::string_view file_name(Format f) noexcept { return f->file; }

std::string format_names() {
  std::string s;
  for (Format f : kFormats) s += fmt::format("{}{}", s.empty() ? "" : ", ", f->name);
  return s;
}

std::string formats_help() {
  std::string s;
  for (Format f : kFormats) s += fmt::format("  {:<11} {:<13} {}\n", f->name, f->file, f->help);
  return s;
}

Result<Format> parse_format(std::string_view text) {
  for (Format f : kFormats) {
    if (f->name == text) return f;
  }
  return fail(Errc::kInvalidArgument, fmt::format("unknown report format '{}'", text), fmt::format("give {}", format_names()));
}

Result<std::vector<Format>> parse_formats(std::string_view comma_separated) {
  std::vector<Format> out;
  size_t start = 0;
  while (start <= comma_separated.size()) {
    const size_t end = std::min(comma_separated.find(',', start), comma_separated.size());
    auto f = parse_format(comma_separated.substr(start, end - start));
    if (!f) return std::unexpected(f.error());
    if (std::ranges::find(out, *f) == out.end()) out.push_back(*f);
    start = end + 1;
  }
  return out;
}

std::string render(const Results& results, Format format) {
  auto table = RecordTable::of(results.records);
  if (!table) return fmt::format("railcheck: {}\n", table.error().message());
  const RunView view(results, *table);
  std::ostringstream out;
  if (auto ok = format->write(view, out); !ok) return fmt::format("railcheck: {}\n", ok.error().message());
  return std::move(out).str();
}

std::string render(const Results& results, std::string_view format_name) {
  auto f = parse_format(format_name);
  return f ? render(results, *f) : std::string();
}

Result<FinishedRun> finish_run(Results& results, const FinishOptions& options) {
  auto table = options.profile != nullptr ? judge(results, *options.profile) : RecordTable::of(results.records);
  if (!table) return std::unexpected(table.error());
  return finish(RunView(results, *table), options);
}

Result<FinishedRun> finish_run(Results& head, RecordTable& table, const std::string& records_jsonl,
                               const FinishOptions& options) {
  if (options.profile != nullptr) {
    judge(table, *options.profile);
    head.meta.profile = options.profile->name;
  }
  return finish(RunView(head, table, records_jsonl), options);
}

}  // namespace railcheck::reports
