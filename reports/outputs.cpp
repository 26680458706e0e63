#include "reports/outputs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "reports/compact_json.hpp"
#include "reports/record_table.hpp"

namespace railcheck::reports {
namespace {

struct FormatInfo {
  Format format;
  std::string_view name;
  std::string_view file;
};

constexpr std::array kFormats{
    FormatInfo{Format::kTerminal, "terminal", "report.txt"}, FormatInfo{Format::kJson, "json", "results.json"},
    FormatInfo{Format::kJunit, "junit", "junit.xml"},        FormatInfo{Format::kHtml, "html", "report.html"},
    FormatInfo{Format::kPrometheus, "prometheus", "metrics.prom"},
};

const FormatInfo& info(Format f) noexcept { return kFormats[static_cast<size_t>(f)]; }

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

constexpr auto kReplaceBadUtf8 = nlohmann::json::error_handler_t::replace;

}  // namespace

std::string_view to_string(Format f) noexcept { return info(f).name; }
std::string_view file_name(Format f) noexcept { return info(f).file; }

Result<Format> parse_format(std::string_view text) {
  for (const auto& f : kFormats) {
    if (f.name == text) return f.format;
  }
  return fail(Errc::kInvalidArgument, fmt::format("unknown report format '{}'", text),
              "give terminal, json, junit, html or prometheus");
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

// Invalid UTF-8 in a string (from a node name, say) becomes U+FFFD rather than an exception.
std::string render_json(const Results& results) {
  return to_json(results).dump(2, ' ', false, kReplaceBadUtf8) + "\n";
}

std::string render(const Results& results, Format format) {
  switch (format) {
    case Format::kTerminal: return render_terminal(results);
    case Format::kJson: return render_json(results);
    case Format::kJunit: return render_junit(results);
    case Format::kHtml: return render_html(results);
    case Format::kPrometheus: return render_prometheus(results);
  }
  return {};
}

Result<std::vector<std::string>> write_reports(const Results& results, const std::string& dir,
                                               std::span<const Format> formats) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail_errno(fmt::format("create report folder {}", dir), ec.value(), "give a writable folder (-o)");
  std::vector<std::string> written;
  for (Format f : formats) {
    const std::string path = (std::filesystem::path(dir) / file_name(f)).string();
    auto ok = write_file(path, [&](std::ostream& out) -> Result<void> {
      out << render(results, f);
      return {};
    });
    if (!ok) return std::unexpected(ok.error());
    written.push_back(path);
  }
  return written;
}

Result<void> write_results_streamed(const Results& head, const RecordTable& table, const std::string& records_jsonl,
                                    const std::string& path) {
  // The head's document with a marker where the records go, cut there.
  nlohmann::json doc = to_json(head);
  doc["records"] = "\x01records\x01";
  const std::string text = doc.dump(2, ' ', false, kReplaceBadUtf8);
  const std::string marker = "\"\\u0001records\\u0001\"";
  const size_t at = text.find(marker);
  if (at == std::string::npos) return fail(Errc::kProtocol, "results document: no place for the records");

  std::ifstream in(records_jsonl, std::ios::binary);
  if (!in) return fail_errno(fmt::format("open {}", records_jsonl), errno, "the coordinator writes it beside the reports");
  return write_file(path, [&](std::ostream& out) -> Result<void> {
    out << std::string_view(text).substr(0, at) << "[";
    std::string line, rec;
    size_t row = 0;
    for (; std::getline(in, line); ++row) {
      if (row >= table.size()) {
        return fail(Errc::kProtocol, fmt::format("{} has more records than the run's {}", records_jsonl, table.size()));
      }
      const std::string_view verdict = to_string(table.row(row).verdict);
      const std::string cause = table.cause(row);
      // Indented as render_json() would: a record is two levels deep. The coordinator's lines
      // are compact dumps, re-indented as they are; anything else is parsed.
      rec.clear();
      const std::string verdict_json = fmt::format("\"{}\"", verdict);  // a verdict's name needs no escapes
      const std::string cause_json = cause.empty() ? "\"\"" : nlohmann::json(cause).dump(-1, ' ', false, kReplaceBadUtf8);
      const std::pair<std::string_view, std::string_view> replace[] = {{"cause", cause_json}, {"verdict", verdict_json}};
      if (!reindent_compact(line, 4, replace, rec)) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
          return fail(Errc::kProtocol, fmt::format("{} line {}: not a JSON record", records_jsonl, row + 1));
        }
        j["verdict"] = verdict;
        j["cause"] = cause;
        rec = j.dump(2, ' ', false, kReplaceBadUtf8);
        for (size_t p = rec.find('\n'); p != std::string::npos; p = rec.find('\n', p + 5)) rec.replace(p, 1, "\n    ");
      }
      out << (row == 0 ? "\n    " : ",\n    ") << rec;
    }
    if (row != table.size()) {
      return fail(Errc::kProtocol, fmt::format("{} has {} records, the run {}", records_jsonl, row, table.size()));
    }
    out << (row == 0 ? "]" : "\n  ]") << std::string_view(text).substr(at + marker.size()) << "\n";
    return {};
  });
}

Result<std::vector<std::string>> write_reports(const Results& head, const RecordTable& table,
                                               const std::string& records_jsonl, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail_errno(fmt::format("create report folder {}", dir), ec.value(), "give a writable folder (-o)");
  const std::string text_path = (std::filesystem::path(dir) / file_name(Format::kTerminal)).string();
  auto ok = write_file(text_path, [&](std::ostream& out) -> Result<void> {
    out << render_terminal(head, table);
    return {};
  });
  if (!ok) return std::unexpected(ok.error());
  const std::string json_path = (std::filesystem::path(dir) / file_name(Format::kJson)).string();
  if (ok = write_results_streamed(head, table, records_jsonl, json_path); !ok) return std::unexpected(ok.error());
  return std::vector<std::string>{text_path, json_path};
}

bool any_failed(const RecordTable& table) {
  return std::ranges::any_of(table.rows(), [](const RecordTable::Row& r) { return r.verdict == Verdict::kFail; });
}

bool any_failed(const Results& results) {
  return std::ranges::any_of(results.records, [](const Record& r) { return r.verdict == Verdict::kFail; });
}

}  // namespace railcheck::reports
