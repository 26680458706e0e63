// records.csv: one row per record, for spreadsheets and pandas. The columns are the record's
// identity, its figures and its verdict; fields are quoted as RFC 4180 says (a comma, quote or
// line break inside a field: the field in double quotes, its quotes doubled). It reads the
// records one at a time, so a run too large to hold them is written too.
#include <fmt/format.h>

#include <ostream>
#include <string>

#include "reports/outputs.hpp"
#include "reports/reporters.hpp"

namespace railcheck::reports {
namespace {

constexpr std::string_view kHeader =
    "rail,test,size_bytes,bidir,qps,src_node,src_interface,src_device,src_mem,dst_node,dst_interface,dst_device,"
    "dst_mem,round,attempts,iters,avg_gbps,peak_gbps,msg_rate_mpps,lat_min_us,lat_p50_us,lat_p99_us,lat_p99_9_us,"
    "lat_max_us,verdict,cause,error";

std::string field(std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(v);
  std::string out = "\"";
  for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string number(double v) { return fmt::format("{}", v); }

}  // namespace

Result<void> write_csv(const RunView& run, std::ostream& out) {
  out << kHeader << "\r\n";
  return run.for_each_record([&](size_t, const Record& r) -> Result<void> {
    std::string row = fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}", field(r.rail), r.test.name(),
                                  r.size_bytes, r.bidir ? 1 : 0, r.qps, field(r.src.node), field(r.src.interface),
                                  field(r.src.device), field(r.src.mem), field(r.dst.node), field(r.dst.interface),
                                  field(r.dst.device), field(r.dst.mem), r.round, r.attempts, r.iters);
    if (r.bandwidth) {
      row += fmt::format(",{},{},{}", number(r.bandwidth->avg_gbps), number(r.bandwidth->peak_gbps),
                         number(r.bandwidth->msg_rate_mpps));
    } else {
      row += ",,,";
    }
    if (r.latency_us) {
      const LatencyUs& l = *r.latency_us;
      row += fmt::format(",{},{},{},{},{}", number(l.min), number(l.p50), number(l.p99), number(l.p99_9), number(l.max));
    } else {
      row += ",,,,,";
    }
    row += fmt::format(",{},{},{}\r\n", to_string(r.verdict), field(r.cause), field(r.error));
    out << row;
    return {};
  });
}

}  // namespace railcheck::reports
