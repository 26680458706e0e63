#pragma once
// The reporters, one per output format and file, behind one entry point: render() gives a
// format's text, write_reports() writes a set of formats into a folder. The coordinator and
// `railcheck report` call these after judge(); the agent embeds render_prometheus() in its
// /metrics page.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "reports/results.hpp"

namespace railcheck::reports {

class RecordTable;

enum class Format { kTerminal, kJson, kJunit, kHtml, kPrometheus };

std::string_view to_string(Format f) noexcept;          // "terminal", "json", "junit", "html", "prometheus"
Result<Format> parse_format(std::string_view text);
// "terminal,json": each once, in the given order.
Result<std::vector<Format>> parse_formats(std::string_view comma_separated);
// The file a format is written to in write_reports(): report.txt, results.json, junit.xml,
// report.html, metrics.prom.
std::string_view file_name(Format f) noexcept;

std::string render(const Results& results, Format format);

// One reporter each (render() dispatches to them).
std::string render_terminal(const Results& results);   // reports/terminal_report.cpp
// The same from a table of the records (a run too large to hold them); `head` gives the meta,
// nodes, rails and notes, and its records are not read.
std::string render_terminal(const Results& head, const RecordTable& table);
std::string render_json(const Results& results);       // the results document itself
std::string render_junit(const Results& results);      // reports/junit_report.cpp
std::string render_html(const Results& results);       // reports/html_report.cpp
// Prometheus text exposition (also for node-exporter's textfile collector): each family's
// HELP and TYPE once, families named railcheck_* apart from the agent's own
// (reports/prometheus_report.cpp).
std::string render_prometheus(const Results& results);
// A Prometheus label value: backslash, double quote and newline escaped, as the format
// requires (also for the agent's own families).
std::string prometheus_label_value(std::string_view v);

// Writes one file per format into `dir` (created if missing); returns the paths written.
Result<std::vector<std::string>> write_reports(const Results& results, const std::string& dir,
                                               std::span<const Format> formats);

// results.json of a run too large to hold its records: `head` (meta, nodes, rails, notes; its
// records are not read) and the records read back one line at a time from `records_jsonl`
// (JSON Lines, in the table's row order, as the coordinator wrote them), each with its verdict
// and cause from the judged `table`. The same document render_json() gives for the same
// records, in little memory.
Result<void> write_results_streamed(const Results& head, const RecordTable& table, const std::string& records_jsonl,
                                    const std::string& path);

// The reports of a run too large to hold its records: report.txt from the table and
// results.json streamed as above, into `dir`; returns the paths written. The per-record formats
// (JUnit, HTML, Prometheus) are not written.
Result<std::vector<std::string>> write_reports(const Results& head, const RecordTable& table,
                                               const std::string& records_jsonl, const std::string& dir);

// True when any record failed: the run's exit code is 1.
bool any_failed(const Results& results);
bool any_failed(const RecordTable& table);

}  // namespace railcheck::reports
