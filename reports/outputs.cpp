#include "reports/outputs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <system_error>

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
  return to_json(results).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
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
    // Write beside, then rename: a reader (node-exporter's textfile collector) never sees
    // half a file.
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) return fail_errno(fmt::format("open {}", tmp), errno, "give a writable folder (-o)");
      out << render(results, f);
      out.close();
      if (!out) return fail_errno(fmt::format("write {}", tmp), errno, "is the disk full?");
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) return fail_errno(fmt::format("rename {} to {}", tmp, path), ec.value());
    written.push_back(path);
  }
  return written;
}

bool any_failed(const Results& results) {
  return std::ranges::any_of(results.records, [](const Record& r) { return r.verdict == Verdict::kFail; });
}

}  // namespace railcheck::reports
