// results.json: the results document itself (railcheck.results/v1.x, docs/report-schema.md),
// with every record's verdict and cause and the run's outcome. A run too large to hold its
// records streams them from records.jsonl, re-indenting each compact line with its verdict and
// cause put in, so the document is the same as the in-memory one, in little memory.
#include <fmt/format.h>

#include <fstream>
#include <ostream>

#include "reports/compact_json.hpp"
#include "reports/outputs.hpp"
#include "reports/reporters.hpp"
#include "reports/record_table.hpp"

namespace railcheck::reports {
namespace {

constexpr auto kReplaceBadUtf8 = nlohmann::json::error_handler_t::replace;

nlohmann::json document(const RunView& run) {
  nlohmann::json doc = to_json(run.head());
  doc["outcome"] = to_json(run.outcome());
  return doc;
}

// One record line of records.jsonl as render() would indent it (a record is two levels deep),
// with its verdict and cause from the table. The coordinator's lines are compact dumps,
// re-indented as they are; anything else is parsed.
Result<void> indented_record(const RecordTable& table, size_t row, const std::string& line, const std::string& path,
                             std::string& rec) {
  const std::string cause = table.cause(row);
  const std::string verdict_json = fmt::format("\"{}\"", to_string(table.row(row).verdict));  // needs no escapes
  const std::string cause_json = cause.empty() ? "\"\"" : nlohmann::json(cause).dump(-1, ' ', false, kReplaceBadUtf8);
  const std::pair<std::string_view, std::string_view> replace[] = {{"cause", cause_json}, {"verdict", verdict_json}};
  rec.clear();
  if (reindent_compact(line, 4, replace, rec)) return {};
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(Errc::kProtocol, fmt::format("{} line {}: not a JSON record", path, row + 1));
  j["verdict"] = to_string(table.row(row).verdict);
  j["cause"] = cause;
  rec = j.dump(2, ' ', false, kReplaceBadUtf8);
  for (size_t p = rec.find('\n'); p != std::string::npos; p = rec.find('\n', p + 5)) rec.replace(p, 1, "\n    ");
  return {};
}

Result<void> write_streamed(const RunView& run, std::ostream& out) {
  // The head's document with a marker where the records go, cut there.
  nlohmann::json doc = document(run);
  doc["records"] = "\x01records\x01";
  const std::string text = doc.dump(2, ' ', false, kReplaceBadUtf8);
  const std::string marker = "\"\\u0001records\\u0001\"";
  const size_t at = text.find(marker);
  if (at == std::string::npos) return fail(Errc::kProtocol, "results document: no place for the records");
  const std::string& path = run.records_jsonl();
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail_errno(fmt::format("open {}", path), errno, "the coordinator writes it beside the reports");
  const RecordTable& table = run.table();
  out << std::string_view(text).substr(0, at) << "[";
  std::string line, rec;
  size_t row = 0;
  for (; std::getline(in, line); ++row) {
    if (row >= table.size()) return fail(Errc::kProtocol, fmt::format("{} has more records than the run's {}", path, table.size()));
    if (auto ok = indented_record(table, row, line, path, rec); !ok) return ok;
    out << (row == 0 ? "\n    " : ",\n    ") << rec;
  }
  if (row != table.size()) return fail(Errc::kProtocol, fmt::format("{} has {} records, the run {}", path, row, table.size()));
  out << (row == 0 ? "]" : "\n  ]") << std::string_view(text).substr(at + marker.size()) << "\n";
  return {};
}

}  // namespace

// Invalid UTF-8 in a string (from a node name, say) becomes U+FFFD rather than an exception.
Result<void> write_json(const RunView& run, std::ostream& out) {
  if (!run.records_in_memory()) return write_streamed(run, out);
  out << document(run).dump(2, ' ', false, kReplaceBadUtf8) << "\n";
  return {};
}

}  // namespace railcheck::reports
