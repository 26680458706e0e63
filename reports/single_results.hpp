#pragma once
// Results documents outside the coordinator: one ad hoc test (`railcheck lat|bw --format
// json`) as a "single" run with one record per size, in the same shape the coordinator writes;
// and several documents merged into one (`railcheck report a.json b.json`).

#include <optional>
#include <string>
#include <vector>

#include "reports/results.hpp"
#include "verbs/session.hpp"

namespace railcheck::reports {

// What the engine's run record does not know about where it ran.
struct SingleRunContext {
  std::string node;       // this host; empty: gethostname()
  std::string interface;  // the rail interface asked for (--rail / --netdev), if any
  std::string rail;       // the rail's name; empty: the interface, else the local RDMA device
  std::string started;    // RFC 3339 UTC; empty: unknown
  std::string finished;   // empty: now
  // The ends' interface facts (reports/pair_ends.hpp: interface_end()), when known; what the run
  // measured is added to them. Without: this host and `interface`, and the peer's address.
  std::optional<PairEnd> src, dst;
};

// The meta of a mode "single" run of `spec`: this build's version and commit, the spec and
// its one test; `finished` empty: now. The caller adds what the run itself knows.
RunMeta single_run_meta(const verbs::RunSpec& spec, std::string started = {}, std::string finished = {});

// Mode "single": the local end is the source, the peer the destination (named by its
// address, without the port); verdicts are left empty for judge() / `railcheck report` to set.
Results results_from_run(const verbs::RunRecord& run, const SingleRunContext& context = {});

// The records of a test that did not run, one per size of `spec`: waived with `why` as the
// cause (a capability missing there), else failed with `why` as the error. The ends' memory is
// what the spec asked for, since no buffer was made.
std::vector<Record> unrun_records(const verbs::RunSpec& spec, const std::string& rail, PairEnd src, PairEnd dst,
                                  bool waived, const std::string& why);

// The current UTC time as RFC 3339 ("2026-11-20T10:04:12Z").
std::string utc_now();

// One document from several: records, nodes, rails (members united), tests and notes in
// order; the first document's meta, widened to cover every start and finish. Verdicts are
// kept; judge() the result to get one profile's.
Results merge_results(std::vector<Results> parts);

}  // namespace railcheck::reports
