#pragma once
// The run's results in a log (`railcheck coordinator --log-results`): a `helm test` Job's pod
// keeps no files, but its log stays, so the coordinator ends its stdout with results.json
// framed by two marker lines, and `railcheck report --from-log` takes it back out of
// `kubectl logs` and renders it like any results.json (docs/install.md):
//
//   ----- BEGIN RAILCHECK RESULTS railcheck.results/v1.1 json -----
//   { ... results.json, line for line ... }
//   ----- END RAILCHECK RESULTS 113248 bytes crc32 5f3a09c1 -----
//
// The BEGIN line names the document's schema and the encoding (json: the text as it is, no
// compression library being a dependency); the END line the payload's length (every line with
// its "\n") and its CRC-32 (IEEE, as zlib's crc32), so a cut or altered log is refused, not
// half read. Reading: the last block of the log wins; lines around it are ignored; "\r\n"
// endings are read as "\n"; a prefix in front of the BEGIN marker may be what `kubectl logs`
// adds, `--timestamps` (RFC 3339) and/or `--prefix` ("[pod/NAME/CONTAINER] "): then every line
// of the block must carry that kind of prefix, which is taken off (lines of another container
// are skipped). Any other prefix is refused.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace railcheck::reports {

inline constexpr std::string_view kLogBlockBegin = "----- BEGIN RAILCHECK RESULTS ";
inline constexpr std::string_view kLogBlockEnd = "----- END RAILCHECK RESULTS ";
inline constexpr std::string_view kLogBlockEncoding = "json";
inline constexpr std::string_view kLogBlockTail = " -----";

// CRC-32 (IEEE 802.3, reflected, as zlib's crc32()), continued from `crc`.
uint32_t crc32(std::string_view data, uint32_t crc = 0) noexcept;

// Writes the document read from `results_json` (to its end) to `out` as a framed block for
// results of `schema` (the document's schema_version). A last line without "\n" gets one.
// Returns the payload's size in bytes; an error when the input or the output fails.
Result<size_t> write_log_block(std::istream& results_json, std::string_view schema, std::ostream& out);

// A block found in a log, checked: its length and CRC-32 matched, its schema is one of
// railcheck.results/v1.x and its encoding json.
struct LogBlock {
  std::string schema;   // "railcheck.results/v1.1"
  std::string payload;  // the results document's text
  size_t begin_line = 0;  // 1-based lines of the log: the BEGIN and END markers
  size_t end_line = 0;
};

// The last block of `log`, verified. Errors (Errc::kProtocol): no block; the last one has no
// END (the log was cut, or the run did not finish); an END without its BEGIN (the start of the
// log is gone: rotated); a length or checksum that does not match; an unknown schema version or
// encoding; a prefix in front of the marker that `kubectl logs` does not write.
Result<LogBlock> find_log_block(std::string_view log);

}  // namespace railcheck::reports
