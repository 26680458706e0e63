#pragma once
// The reporting pipeline, one for every run (model: google/benchmark's reporters):
//   finish_run()  judges a run with a profile, works out its outcome (reports/outcome.hpp),
//                 writes the chosen formats and returns the outcome the CLI turns into an exit
//                 code; the coordinator and `railcheck report` both end here;
//   RunView       what every reporter reads: the run's head (meta, nodes, rails, notes), its
//                 judged RecordTable, the rail summaries, the outcome, and the records in table
//                 order, from memory or streamed back from records.jsonl (a run too large to
//                 hold them);
//   FormatInfo    one row per format (outputs.cpp): name, file, whether the reporter needs
//                 the records in memory, and its write function, in a reporter file of its own.
// A new format is one reporter file and one row of the table.

#include <functional>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "reports/analysis.hpp"
#include "reports/outcome.hpp"
#include "reports/results.hpp"

namespace railcheck::reports {

class RecordTable;
struct Profile;

// A judged run as a reporter reads it. It borrows everything; its owner outlives it.
class RunView {
 public:
  // The records are head.records (judged), row i of `table` from record i.
  RunView(const Results& head, const RecordTable& table);
  // The records are the lines of `records_jsonl` (JSON Lines, in the table's row order, as the
  // coordinator writes them); verdicts and causes come from the table; head.records is unused.
  RunView(const Results& head, const RecordTable& table, std::string records_jsonl);

  [[nodiscard]] const Results& head() const noexcept { return head_; }
  [[nodiscard]] const RecordTable& table() const noexcept { return table_; }
  [[nodiscard]] const std::vector<RailSummary>& rails() const noexcept { return rails_; }
  [[nodiscard]] const RunOutcome& outcome() const noexcept { return outcome_; }
  // Whether head().records holds every record (a reporter may then index them).
  [[nodiscard]] bool records_in_memory() const noexcept { return records_jsonl_.empty(); }
  [[nodiscard]] const std::string& records_jsonl() const noexcept { return records_jsonl_; }
  // Calls fn(row, record) for every record in table order, its verdict and cause as judged.
  // The first error (fn's, or a line of the file that is not a record) stops the walk.
  Result<void> for_each_record(const std::function<Result<void>(size_t, const Record&)>& fn) const;

 private:
  const Results& head_;
  const RecordTable& table_;
  std::string records_jsonl_;
  std::vector<RailSummary> rails_;
  RunOutcome outcome_;
};

// One output format: a row of the table in outputs.cpp.
struct FormatInfo {
  std::string_view name;  // "junit": --format, -o file names
  std::string_view file;  // "junit.xml"
  std::string_view help;  // one line for --help
  // The reporter indexes head().records: not written for a run too large to hold them.
  bool needs_records_in_memory = false;
  Result<void> (*write)(const RunView& run, std::ostream& out) = nullptr;
};
using Format = const FormatInfo*;

// Every format, in the table's order (terminal, json, junit, html, prometheus, csv).
std::span<const Format> all_formats();
std::string_view to_string(Format f) noexcept;  // its name
std::string_view file_name(Format f) noexcept;  // its file in a report folder
Result<Format> parse_format(std::string_view name);
// "terminal,json": each once, in the given order.
Result<std::vector<Format>> parse_formats(std::string_view comma_separated);
// "terminal, json, junit, html, prometheus, csv".
std::string format_names();
// "  terminal    report.txt    the per-rail summary ..." one line per format, for --help.
std::string formats_help();

// One format's text for judged in-memory results (tests, the agent's /metrics, stdout).
std::string render(const Results& results, Format format);
std::string render(const Results& results, std::string_view format_name);
// A Prometheus label value: backslash, double quote and newline escaped, as the format
// requires (also for the agent's own families).
std::string prometheus_label_value(std::string_view v);

// How a run is finished.
struct FinishOptions {
  const Profile* profile = nullptr;  // judge with it; null: keep the records' verdicts
  std::vector<Format> formats;       // written into `dir`, one file each
  std::string dir;                   // empty: nothing written
  std::ostream* terminal = nullptr;  // the terminal report goes here too (stdout), when given
};

struct FinishedRun {
  RunOutcome outcome;
  std::vector<std::string> written;  // paths, in the order of options.formats
  std::vector<Format> left_out;      // formats a run too large to hold its records could not write
};

// Judges `results` (when options.profile is set), computes the outcome, prints the terminal
// report, writes the formats. Errors are files that could not be written.
Result<FinishedRun> finish_run(Results& results, const FinishOptions& options);
// The same for a run too large to hold its records: `head` without records, every record's
// row in `table`, the records themselves in `records_jsonl`. The formats that need the records
// in memory are left out (FinishedRun::left_out).
Result<FinishedRun> finish_run(Results& head, RecordTable& table, const std::string& records_jsonl,
                               const FinishOptions& options);

}  // namespace railcheck::reports
