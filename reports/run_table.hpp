#pragma once
// One ad hoc run as the readable table an operator expects from perftest: a header naming
// both ends, then one row per message size (all percentiles for latency; peak, average and
// message rate for bandwidth).

#include <string>

#include "verbs/loops.hpp"
#include "verbs/session.hpp"

namespace railcheck::reports {

// The header: test, both devices and GIDs, path MTU, clock.
std::string run_header(const verbs::RunRecord& run);
// The column titles for the run's test kind.
std::string size_columns(const verbs::RunSpec& spec);
// One row (ends in '\n').
std::string size_row(const verbs::RunSpec& spec, const verbs::SizeOutcome& size);

}  // namespace railcheck::reports
