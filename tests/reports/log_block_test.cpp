// The results block of a coordinator's log (reports/log_block.hpp): written and found again
// byte for byte, in a log with other lines around it, with kubectl's prefixes and CRLF endings;
// and every way a log can be unfit refused with its own message.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <sstream>
#include <string>

#include "report_fixtures.hpp"
#include "reports/log_block.hpp"
#include "reports/results.hpp"

namespace railcheck::reports {
namespace {

using testing::read_text;

std::string block_of(const std::string& document, std::string_view schema = kResultsSchema) {
  std::istringstream in(document);
  std::ostringstream out;
  auto n = write_log_block(in, schema, out);
  EXPECT_TRUE(n.has_value()) << n.error().message();
  return out.str();
}

const std::string& golden_results() {
  static const std::string text = read_text(testing::kGolden + "/results.json");
  return text;
}

// What kubectl logs shows around the block: the coordinator's stderr and its report.
const std::string kBefore =
    "[2026-11-20 10:00:00.000] [info] rail spiderpool/gpu1-sriov: round 1/3\n"
    "[node-0 net1 -> node-1 net1] write_lat 2 B: p50 5.1 us\n"
    "verdict: FAIL: failing pairs on 1 rail(s): rail-2\n"
    "report: /report/report.txt, /report/results.json\n";
const std::string kAfter = "Stream closed EOF for rdma/railcheck-test-x7k2p (coordinator)\n";

std::string error_of(const std::string& log) {
  auto b = find_log_block(log);
  EXPECT_FALSE(b.has_value()) << "a block was read from a log that should be refused";
  return b ? std::string() : b.error().what;
}

// Every line of `text` with `prefix(i)` in front (i: the line's index).
template <typename Fn>
std::string prefixed(const std::string& text, Fn prefix) {
  std::string out;
  std::istringstream in(text);
  size_t i = 0;
  for (std::string line; std::getline(in, line); ++i) out += prefix(i) + line + "\n";
  return out;
}

TEST(LogBlock, Crc32IsZlibs) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(crc32("6789", crc32("12345")), 0xCBF43926u);  // continued
}

TEST(LogBlock, FramesTheDocumentWithItsSchemaLengthAndChecksum) {
  const std::string block = block_of("{\n  \"a\": 1\n}\n");
  EXPECT_EQ(block,
            "----- BEGIN RAILCHECK RESULTS railcheck.results/v1.2 json -----\n"
            "{\n  \"a\": 1\n}\n"
            "----- END RAILCHECK RESULTS 13 bytes crc32 " +
                fmt::format("{:08x}", crc32("{\n  \"a\": 1\n}\n")) + " -----\n");
  // A document without a last newline gets one, counted.
  EXPECT_EQ(block_of("{\n  \"a\": 1\n}"), block);
}

TEST(LogBlock, RoundTripsResultsJsonByteForByte) {
  auto b = find_log_block(block_of(golden_results()));
  ASSERT_TRUE(b.has_value()) << b.error().message();
  EXPECT_EQ(b->payload, golden_results());
  EXPECT_EQ(b->schema, kResultsSchema);
  EXPECT_EQ(b->begin_line, 1u);
  auto results = parse_results(b->payload, "log");
  ASSERT_TRUE(results.has_value()) << results.error().message();
  EXPECT_FALSE(results->records.empty());
}

TEST(LogBlock, LinesAroundTheBlockAreIgnored) {
  const std::string log = kBefore + block_of(golden_results()) + kAfter;
  auto b = find_log_block(log);
  ASSERT_TRUE(b.has_value()) << b.error().message();
  EXPECT_EQ(b->payload, golden_results());
  EXPECT_EQ(b->begin_line, 5u);
}

TEST(LogBlock, TheLastOfTwoBlocksWins) {
  const std::string first = block_of("{\"run\": 1}\n");
  const std::string second = block_of("{\"run\": 2}\n");
  auto b = find_log_block(kBefore + first + kBefore + second + kAfter);
  ASSERT_TRUE(b.has_value()) << b.error().message();
  EXPECT_EQ(b->payload, "{\"run\": 2}\n");
  EXPECT_EQ(b->begin_line, 4u + 3u + 4u + 1u);
}

TEST(LogBlock, CrlfLineEndingsReadAsLf) {
  std::string log = kBefore + block_of(golden_results()) + kAfter;
  std::string crlf;
  for (char c : log) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  auto b = find_log_block(crlf);
  ASSERT_TRUE(b.has_value()) << b.error().message();
  EXPECT_EQ(b->payload, golden_results());
}

TEST(LogBlock, KubectlTimestampsAndPrefixesAreTakenOff) {
  const std::string log = kBefore + block_of(golden_results()) + kAfter;
  // kubectl logs --timestamps: RFC 3339 with nanoseconds, trailing zeros dropped, so of varying length.
  auto ts = prefixed(log, [](size_t i) { return fmt::format("2026-11-20T10:04:{:02}.{}Z ", i % 60, 1 + i % 1000); });
  auto b = find_log_block(ts);
  ASSERT_TRUE(b.has_value()) << b.error().message();
  EXPECT_EQ(b->payload, golden_results());
  // An offset instead of Z, and whole seconds.
  b = find_log_block(prefixed(log, [](size_t) { return std::string("2026-11-20T11:04:12+01:00 "); }));
  ASSERT_TRUE(b.has_value()) << b.error().message();
  EXPECT_EQ(b->payload, golden_results());
  // --prefix (and --timestamps): another container's lines inside the block are skipped.
  std::string mixed = prefixed(log, [](size_t) { return std::string("[pod/railcheck-test-x7k2p/coordinator] 2026-11-20T10:04:12.5Z "); });
  const size_t at = mixed.find("\"records\"");
  ASSERT_NE(at, std::string::npos);
  mixed.insert(mixed.rfind('\n', at) + 1, "[pod/railcheck-test-x7k2p/sidecar] 2026-11-20T10:04:12.6Z hello\n");
  b = find_log_block(mixed);
  ASSERT_TRUE(b.has_value()) << b.error().message();
  EXPECT_EQ(b->payload, golden_results());
}

TEST(LogBlock, APrefixKubectlDoesNotWriteIsRefused) {
  const std::string log = prefixed(block_of(golden_results()), [](size_t) { return std::string("coordinator | "); });
  EXPECT_NE(error_of(log).find("has 'coordinator | ' in front of its marker"), std::string::npos) << error_of(log);
  // A timestamp on the BEGIN line but not on a line of the block.
  std::string ts = prefixed(block_of("{\n\"a\": 1\n}\n"), [](size_t i) {
    return i == 2 ? std::string() : std::string("2026-11-20T10:04:12Z ");
  });
  EXPECT_NE(error_of(ts).find("line 3 has no timestamp in front"), std::string::npos) << error_of(ts);
}

TEST(LogBlock, ALogWithoutABlockSaysWhatItWanted) {
  const std::string e = error_of(kBefore + kAfter);
  EXPECT_NE(e.find("is this the log of a railcheck coordinator run with --log-results?"), std::string::npos) << e;
  EXPECT_FALSE(error_of("").empty());
}

TEST(LogBlock, ACutLogIsRefused) {
  const std::string log = kBefore + block_of(golden_results());
  // Cut in the middle of the block: no END.
  const std::string cut = log.substr(0, log.size() / 2);
  EXPECT_NE(error_of(cut).find("the results block that starts at line 5 has no END line"), std::string::npos)
      << error_of(cut);
  // The start rotated away: an END without its BEGIN.
  const std::string tail = log.substr(log.size() / 2);
  EXPECT_NE(error_of(tail).find("whose BEGIN line is not in the log"), std::string::npos) << error_of(tail);
  // A complete block, then a later one cut: the later run's results are not replaced by older ones.
  const std::string later = block_of("{\"run\": 1}\n") + cut;
  EXPECT_NE(error_of(later).find("has no END line"), std::string::npos) << error_of(later);
}

TEST(LogBlock, ALostOrAlteredLineIsRefused) {
  const std::string block = block_of(golden_results());
  // A line of the block lost: the length does not match.
  std::string lost = block;
  const size_t at = lost.find("\"records\"");
  const size_t start = lost.rfind('\n', at) + 1;
  lost.erase(start, lost.find('\n', at) + 1 - start);
  EXPECT_NE(error_of(lost).find("is cut or altered"), std::string::npos) << error_of(lost);
  // A byte changed (same length): the checksum does not match.
  std::string altered = block;
  altered[altered.find("\"pass\"") + 1] = 'P';
  EXPECT_NE(error_of(altered).find("has a bad checksum"), std::string::npos) << error_of(altered);
  // Another process's line inside the block.
  std::string interleaved = block;
  interleaved.insert(start, "[warn] agent node-3: connection reset\n");
  EXPECT_NE(error_of(interleaved).find("is cut or altered"), std::string::npos) << error_of(interleaved);
  // An END line that is not of the form.
  std::string bad_end = block;
  bad_end.replace(bad_end.find(" bytes crc32"), 6, " octets");
  EXPECT_NE(error_of(bad_end).find("is not `----- END RAILCHECK RESULTS N bytes crc32 XXXXXXXX -----`"),
            std::string::npos)
      << error_of(bad_end);
}

TEST(LogBlock, AnUnknownVersionOrEncodingIsRefused) {
  const std::string v2 = block_of("{}\n", "railcheck.results/v2");
  EXPECT_NE(error_of(v2).find("unknown version railcheck.results/v2: this railcheck reads railcheck.results/v1.x"),
            std::string::npos)
      << error_of(v2);
  EXPECT_NE(error_of(block_of("{}\n", "railcheck.results/v12")).find("unknown version"), std::string::npos);
  EXPECT_TRUE(find_log_block(block_of("{}\n", "railcheck.results/v1.7")).has_value());
  std::string gz = block_of("{}\n");
  gz.replace(gz.find(" json "), 6, " gzip+base64 ");
  EXPECT_NE(error_of(gz).find("has encoding gzip+base64; this railcheck reads json"), std::string::npos)
      << error_of(gz);
}

}  // namespace
}  // namespace railcheck::reports
