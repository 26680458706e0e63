#include "reports/log_block.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <istream>
#include <optional>
#include <ostream>
#include <vector>

#include "reports/results.hpp"

namespace railcheck::reports {
namespace {

constexpr std::array<uint32_t, 256> kCrcTable = [] {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}();

constexpr const char* kFromLogHint =
    "give the whole log of a coordinator run with --log-results, e.g. `kubectl logs job/NAME-test | railcheck "
    "report --from-log - ...`";

bool digits(std::string_view s, size_t at, size_t n) {
  if (at + n > s.size()) return false;
  for (size_t i = at; i < at + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// The length of an RFC 3339 timestamp and the space after it at the start of `s`
// ("2025-01-31T12:00:00.123456789Z "), as `kubectl logs --timestamps` writes it; 0 if none.
size_t timestamp_length(std::string_view s) {
  if (!digits(s, 0, 4) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' || !digits(s, 8, 2) ||
      s[10] != 'T' || !digits(s, 11, 2) || s[13] != ':' || !digits(s, 14, 2) || s[16] != ':' || !digits(s, 17, 2)) {
    return 0;
  }
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    const size_t start = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return 0;
  }
  if (i < s.size() && s[i] == 'Z') {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-') && digits(s, i + 1, 2) && i + 3 < s.size() &&
             s[i + 3] == ':' && digits(s, i + 4, 2)) {
    i += 6;
  } else {
    return 0;
  }
  return i < s.size() && s[i] == ' ' ? i + 1 : 0;
}

// What `kubectl logs` put in front of every line of a block, learnt from its BEGIN line.
struct LinePrefix {
  std::string container;  // "[pod/NAME/CONTAINER] " (--prefix), or empty
  bool timestamp = false;  // --timestamps
};

std::optional<LinePrefix> parse_prefix(std::string_view prefix) {
  LinePrefix p;
  if (prefix.starts_with('[')) {
    const size_t close = prefix.find("] ");
    if (close == std::string_view::npos) return std::nullopt;
    p.container = std::string(prefix.substr(0, close + 2));
    prefix.remove_prefix(close + 2);
  }
  if (!prefix.empty()) {
    if (timestamp_length(prefix) != prefix.size()) return std::nullopt;
    p.timestamp = true;
  }
  return p;
}

// One block as the scan finds it, not yet checked.
struct RawBlock {
  size_t begin_line = 0, end_line = 0;
  std::string header;  // the BEGIN line after the marker: "railcheck.results/v1.1 json -----"
  std::string trailer;  // the END line after the marker
  std::string payload;
  std::optional<LinePrefix> prefix;  // nullopt: the BEGIN line had a prefix kubectl does not write
  std::string bad_prefix;
  std::string error;  // a line of the block without the prefix its BEGIN line has
};

enum class Last { kNothing, kComplete, kOrphanEnd };

// Scans the log's lines for blocks: the last complete one, and what came last.
struct Scan {
  std::optional<RawBlock> open, complete;
  Last last = Last::kNothing;
  size_t orphan_end_line = 0;

  void begin(std::string_view line, size_t at, size_t line_no) {
    open = RawBlock{};
    open->begin_line = line_no;
    open->header = std::string(line.substr(at + kLogBlockBegin.size()));
    open->prefix = parse_prefix(line.substr(0, at));
    if (!open->prefix) open->bad_prefix = std::string(line.substr(0, at));
  }

  void inside(std::string_view line, size_t line_no) {
    RawBlock& b = *open;
    std::string_view content = line;
    // A prefix kubectl does not write: taken off where it repeats, so the block is found and
    // refused for it, not for a missing END.
    if (!b.prefix && content.starts_with(b.bad_prefix)) content.remove_prefix(b.bad_prefix.size());
    if (b.prefix) {
      if (!b.prefix->container.empty()) {
        if (!content.starts_with(b.prefix->container)) return;  // another container's line
        content.remove_prefix(b.prefix->container.size());
      }
      if (b.prefix->timestamp) {
        const size_t n = timestamp_length(content);
        if (n == 0 && b.error.empty()) {
          b.error = fmt::format("line {} has no timestamp in front, while the BEGIN line (line {}) has one", line_no,
                                b.begin_line);
        }
        content.remove_prefix(n);
      }
    }
    if (content.starts_with(kLogBlockBegin)) return begin(line, line.size() - content.size(), line_no);
    if (content.starts_with(kLogBlockEnd)) {
      b.end_line = line_no;
      b.trailer = std::string(content.substr(kLogBlockEnd.size()));
      complete = std::move(b);
      open.reset();
      last = Last::kComplete;
      return;
    }
    b.payload.append(content).push_back('\n');
  }

  void line(std::string_view line, size_t line_no) {
    if (open) return inside(line, line_no);
    if (const size_t at = line.find(kLogBlockBegin); at != std::string_view::npos) return begin(line, at, line_no);
    if (line.find(kLogBlockEnd) != std::string_view::npos) last = Last::kOrphanEnd, orphan_end_line = line_no;
  }
};

std::unexpected<Error> bad(std::string what, std::string hint = kFromLogHint) {
  return fail(Errc::kProtocol, std::move(what), std::move(hint));
}

// "railcheck.results/v1.1 json -----" -> the schema, checked with the encoding.
Result<std::string> check_header(const RawBlock& b) {
  const std::string_view h = b.header;
  const size_t space = h.find(' ');
  if (!h.ends_with(kLogBlockTail) || space == std::string_view::npos) {
    return bad(fmt::format("the BEGIN line (line {}) is not `{}SCHEMA ENCODING -----`", b.begin_line, kLogBlockBegin));
  }
  const std::string schema(h.substr(0, space));
  const std::string_view encoding = h.substr(space + 1, h.size() - kLogBlockTail.size() - space - 1);
  constexpr std::string_view kMajor = kResultsMajor;
  const std::string_view minor = std::string_view(schema).substr(std::min(schema.size(), kMajor.size()));
  if (!schema.starts_with(kMajor) || !(minor.empty() || minor.starts_with('.'))) {
    return bad(fmt::format("the results block at line {} is of unknown version {}: this railcheck reads {}.x",
                           b.begin_line, schema, kMajor),
               "read it with the railcheck version that wrote it (its image), or a newer one");
  }
  if (encoding != kLogBlockEncoding) {
    return bad(fmt::format("the results block at line {} has encoding {}; this railcheck reads {}", b.begin_line,
                           encoding, kLogBlockEncoding),
               "read it with the railcheck version that wrote it (its image), or a newer one");
  }
  return schema;
}

// "113248 bytes crc32 5f3a09c1 -----" against the payload.
Result<void> check_trailer(const RawBlock& b) {
  const std::string_view t = b.trailer;
  size_t bytes = 0;
  uint32_t crc = 0;
  const auto [after_bytes, e1] = std::from_chars(t.data(), t.data() + t.size(), bytes);
  const std::string_view mid = " bytes crc32 ";
  const std::string_view rest = t.substr(static_cast<size_t>(after_bytes - t.data()));
  const bool shaped = e1 == std::errc{} && rest.starts_with(mid) && rest.size() == mid.size() + 8 + kLogBlockTail.size() &&
                      rest.ends_with(kLogBlockTail);
  const char* hex = rest.data() + mid.size();
  if (!shaped || std::from_chars(hex, hex + 8, crc, 16).ptr != hex + 8) {
    return bad(fmt::format("the END line (line {}) is not `{}N bytes crc32 XXXXXXXX -----`", b.end_line, kLogBlockEnd));
  }
  if (bytes != b.payload.size()) {
    return bad(fmt::format("the results block of lines {}-{} is cut or altered: it holds {} bytes, its END line says {}",
                           b.begin_line, b.end_line, b.payload.size(), bytes),
               "give the log as kubectl prints it, whole (lines of the block lost or split?); or keep the report on a "
               "volume (coordinator.reportVolume)");
  }
  if (const uint32_t got = crc32(b.payload); got != crc) {
    return bad(fmt::format("the results block of lines {}-{} has a bad checksum: crc32 {:08x}, its END line says {:08x}",
                           b.begin_line, b.end_line, got, crc),
               "the log was altered (another process's lines inside the block?); give the log as kubectl prints it");
  }
  return {};
}

}  // namespace

uint32_t crc32(std::string_view data, uint32_t crc) noexcept {
  crc = ~crc;
  for (const char ch : data) crc = kCrcTable[(crc ^ static_cast<unsigned char>(ch)) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

Result<size_t> write_log_block(std::istream& results_json, std::string_view schema, std::ostream& out) {
  out << kLogBlockBegin << schema << ' ' << kLogBlockEncoding << kLogBlockTail << '\n';
  size_t bytes = 0;
  uint32_t crc = 0;
  for (std::string line; std::getline(results_json, line);) {
    line.push_back('\n');
    bytes += line.size();
    crc = crc32(line, crc);
    out << line;
  }
  if (results_json.bad()) return fail(Errc::kSystem, "read the results document for the log block");
  out << fmt::format("{}{} bytes crc32 {:08x}{}\n", kLogBlockEnd, bytes, crc, kLogBlockTail) << std::flush;
  if (!out) return fail(Errc::kSystem, "write the results block to stdout");
  return bytes;
}

Result<LogBlock> find_log_block(std::string_view log) {
  Scan scan;
  size_t line_no = 0;
  for (size_t pos = 0; pos < log.size();) {
    size_t nl = log.find('\n', pos);
    if (nl == std::string_view::npos) nl = log.size();
    std::string_view line = log.substr(pos, nl - pos);
    if (line.ends_with('\r')) line.remove_suffix(1);
    scan.line(line, ++line_no);
    pos = nl + 1;
  }
  if (scan.open) {
    return bad(fmt::format("the results block that starts at line {} has no END line: the log was cut (or the "
                           "coordinator was stopped before it finished)",
                           scan.open->begin_line),
               "wait for the Job to finish and give its whole log; a cut log cannot be read back");
  }
  if (scan.last == Last::kOrphanEnd) {
    return bad(fmt::format("line {} ends a results block whose BEGIN line is not in the log: its start is gone "
                           "(kubelet rotates a container's log past containerLogMaxSize, 10Mi by default)",
                           scan.orphan_end_line),
               "keep the report on a volume (coordinator.reportVolume) for a run this large");
  }
  if (!scan.complete) {
    return bad("no railcheck results block in the log: is this the log of a railcheck coordinator run with "
               "--log-results?",
               "the chart's helm test Job passes --log-results (coordinator.logResults); read it with `kubectl logs "
               "job/NAME-test` once the Job finished");
  }
  const RawBlock& b = *scan.complete;
  if (!b.prefix) {
    return bad(fmt::format("the BEGIN line (line {}) has '{}' in front of its marker, which kubectl logs does not write",
                           b.begin_line, b.bad_prefix),
               "give the log as `kubectl logs` prints it (with or without --timestamps and --prefix)");
  }
  if (!b.error.empty()) return bad(fmt::format("the results block of lines {}-{}: {}", b.begin_line, b.end_line, b.error));
  auto schema = check_header(b);
  if (!schema) return std::unexpected(schema.error());
  if (auto ok = check_trailer(b); !ok) return std::unexpected(ok.error());
  return LogBlock{.schema = *schema, .payload = b.payload, .begin_line = b.begin_line, .end_line = b.end_line};
}

}  // namespace railcheck::reports
