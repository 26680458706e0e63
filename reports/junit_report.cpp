// JUnit XML for CI servers: a testsuite per rail, a testcase per pair, test and size. A fail
// is a <failure> (an <error> when the test did not run) carrying the cause; a waived record
// is <skipped>; a warning passes with the cause in <system-out>. Unreachable nodes are
// skipped testcases of a "nodes" suite; a run that fails beyond its records (an agent that
// never answered, a node without a rail: reports/outcome.hpp) has a failing "run" case. Valid against tests/reports/junit.xsd (the
// Jenkins/Ant JUnit format).
#include <fmt/format.h>

#include <ostream>
#include <vector>

#include "reports/analysis.hpp"
#include "reports/markup.hpp"
#include "reports/outputs.hpp"
#include "reports/reporters.hpp"

namespace railcheck::reports {
namespace {

struct Counts {
  size_t tests = 0, failures = 0, errors = 0, skipped = 0;
  double time_s = 0;

  void add(const Counts& o) {
    tests += o.tests, failures += o.failures, errors += o.errors, skipped += o.skipped, time_s += o.time_s;
  }
};

std::string figures(const Record& r) {
  std::vector<std::string> parts;
  if (r.bandwidth) {
    const auto& b = *r.bandwidth;
    parts.push_back(fmt::format("bandwidth avg {:.3f} Gb/s, peak {:.3f} Gb/s, {:.4f} Mpps, {} messages", b.avg_gbps,
                                b.peak_gbps, b.msg_rate_mpps, b.messages));
  }
  if (r.latency_us) {
    const auto& l = *r.latency_us;
    parts.push_back(fmt::format("latency us: min {:.2f}, p50 {:.2f}, p90 {:.2f}, p99 {:.2f}, p99.9 {:.2f}, max {:.2f}",
                                l.min, l.p50, l.p90, l.p99, l.p99_9, l.max));
  }
  auto end = [](const PairEnd& e) {
    return fmt::format("{} {} ({}{}{})", e.node, e.interface, e.device, e.ip.empty() ? "" : ", ",
                       e.ip);
  };
  parts.push_back(fmt::format("{} -> {}; {} QP(s){}; attempts {}", end(r.src), end(r.dst), r.qps,
                              r.bidir ? ", bidirectional" : "", r.attempts));
  return fmt::format("{}", fmt::join(parts, "\n"));
}

std::string testcase(const Record& r, Counts& c) {
  ++c.tests;
  c.time_s += r.elapsed_s;
  std::string out = fmt::format("    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3f}\"",
                                xml_escape(fmt::format("{} {} {}", pair_name(r), test_label(r), size_text(r.size_bytes))),
                                xml_escape(fmt::format("railcheck.{}.{}", r.rail, test_label(r))), r.elapsed_s);
  const std::string cause = xml_escape(r.cause);
  switch (r.verdict) {
    case Verdict::kFail:
      if (!r.error.empty()) {
        ++c.errors;
        out += fmt::format(">\n      <error message=\"{}\" type=\"not run\">{}</error>\n", cause, xml_text(figures(r)));
      } else {
        ++c.failures;
        out += fmt::format(">\n      <failure message=\"{}\" type=\"threshold\">{}</failure>\n", cause,
                           xml_text(figures(r)));
      }
      break;
    case Verdict::kWaived:
      ++c.skipped;
      out += fmt::format(">\n      <skipped message=\"{}\"/>\n", cause);
      break;
    case Verdict::kWarn:
    case Verdict::kPass:
    case Verdict::kNone:
      out += fmt::format(">\n      <system-out>{}{}</system-out>\n",
                         r.cause.empty() ? "" : xml_text(fmt::format("{}: {}\n", to_string(r.verdict), r.cause)),
                         xml_text(figures(r)));
      break;
  }
  return out + "    </testcase>\n";
}

std::string suite_open(std::string_view name, const Counts& c, size_t id, std::string_view timestamp) {
  return fmt::format(
      "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3f}\"{} "
      "id=\"{}\" package=\"railcheck\">\n",
      xml_escape(name), c.tests, c.failures, c.errors, c.skipped, c.time_s,
      timestamp.empty() ? "" : fmt::format(" timestamp=\"{}\"", xml_escape(timestamp)), id);
}

std::string property(std::string_view name, std::string_view value) {
  return fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", xml_escape(name), xml_escape(value));
}

// The run's outcome as a case of its own when something beyond the records failed it (an
// agent that never answered, a node without a rail): a pipeline reading JUnit alone fails too.
std::string outcome_suite(const RunView& run, Counts& c, size_t id, const std::string& stamp) {
  const RunOutcome& o = run.outcome();
  if (o.unreachable_nodes.empty() && o.missing_rails.empty()) return {};
  ++c.tests, ++c.failures;
  return suite_open("run", c, id, stamp) +
         fmt::format("    <testcase name=\"outcome\" classname=\"railcheck.run\" time=\"0.000\">\n"
                     "      <failure message=\"{}\" type=\"run\"/>\n    </testcase>\n  </testsuite>\n",
                     xml_escape(o.headline()));
}

}  // namespace

Result<void> write_junit(const RunView& run, std::ostream& out) {
  const Results& results = run.head();
  std::string suites;
  Counts total;
  size_t id = 0;
  const std::string& stamp = results.meta.started;
  for (const RailSummary& s : run.rails()) {
    Counts c;
    std::string cases;
    auto walked = run.for_each_record([&](size_t, const Record& r) -> Result<void> {
      if (r.rail == s.name) cases += testcase(r, c);
      return {};
    });
    if (!walked) return walked;
    suites += suite_open(fmt::format("rail {}", s.name), c, id++, stamp);
    suites += "    <properties>\n";
    suites += property("rail", s.name);
    if (s.info) suites += property("grouped_by", s.info->grouped_by);
    suites += property("nodes", fmt::format("{}", fmt::join(s.nodes, " ")));
    if (s.info && !s.info->missing_nodes.empty()) {
      suites += property("missing_nodes", fmt::format("{}", fmt::join(s.info->missing_nodes, " ")));
    }
    suites += property("profile", results.meta.profile);
    suites += "    </properties>\n" + cases + "  </testsuite>\n";
    total.add(c);
  }
  // Nodes the run could not use: their tests were not run, so they are skipped, not failed.
  Counts nc;
  std::string node_cases;
  for (const NodeInfo& n : results.nodes) {
    if (n.reachable) continue;
    ++nc.tests, ++nc.skipped;
    node_cases += fmt::format(
        "    <testcase name=\"{} reachable\" classname=\"railcheck.nodes\" time=\"0.000\">\n"
        "      <skipped message=\"{}\"/>\n    </testcase>\n",
        xml_escape(n.node), xml_escape(fmt::format("unreachable: {}", n.error)));
  }
  if (nc.tests > 0) {
    suites += suite_open("nodes", nc, id++, stamp) + node_cases + "  </testsuite>\n";
    total.add(nc);
  }
  Counts oc;
  suites += outcome_suite(run, oc, id, stamp);
  total.add(oc);
  out << fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<testsuites name=\"railcheck\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n",
                     total.tests, total.failures, total.errors, total.time_s)
      << suites << "</testsuites>\n";
  return {};
}

}  // namespace railcheck::reports
