#pragma once
// The measurement loops: latency (ping-pong) and bandwidth (streaming), each a template over
// the verb, run by both sides of a connected Endpoint for one message size. The initiator
// (client) measures; the responder answers and learns the end from the OOB "done" message.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "verbs/clock.hpp"
#include "verbs/endpoint.hpp"
#include "verbs/histogram.hpp"
#include "verbs/oob.hpp"
#include "verbs/port_counters.hpp"
#include "verbs/spec.hpp"

namespace railcheck::verbs {

// Bandwidth figures of one side's sending, in the units perftest reports.
struct BandwidthFigures {
  uint64_t messages = 0;
  double elapsed_s = 0;
  double avg_gbps = 0;
  double peak_gbps = 0;
  double msg_rate_mpps = 0;
};

// What one size produced on this side.
// What each end's port counters did during one size (port_counters.hpp): the deltas of the
// counters that moved; nullopt when that end could not read them (`note` says why).
struct SizeCounters {
  std::optional<std::vector<CounterDelta>> local, remote;
  std::string note;
};

struct SizeOutcome {
  uint64_t msg_bytes = 0;
  uint64_t iters = 0;       // counted iterations (latency) or messages per QP (bandwidth)
  double elapsed_s = 0;
  std::optional<LatencySummary> latency;
  std::optional<BandwidthFigures> bandwidth;  // this side's sending; empty for a passive side
  SizeCounters counters;  // set by the session around the loop
};

struct LoopContext {
  Endpoint& ep;
  OobSocket& oob;
  const Clock& clock;
  const RunSpec& spec;
  Millis progress_timeout;  // no completion for this long: the peer is gone
};

// Runs one message size. Both sides call it after the per-size barrier; `initiator` is the
// client. Returns this side's figures (the initiator's are the ones reported).
Result<SizeOutcome> run_size(LoopContext& ctx, uint64_t msg_bytes, bool initiator);

// Readies one size before the barrier: posts the receives a send or write_imm test needs,
// puts the data pattern in the tx regions and zeroes the rx regions (when spec.checks_data()).
Result<void> prepare_size(LoopContext& ctx, uint64_t msg_bytes, bool initiator);

// Whether this side receives data in a bandwidth test (write: the responder, read: the
// initiator, send: the responder; both sides in --bidir).
bool receives_data(const RunSpec& spec, bool initiator) noexcept;
// After a bandwidth size: the received regions must hold exactly the sender's pattern
// (when spec.checks_data(); a no-op otherwise).
Result<void> check_data(LoopContext& ctx, uint64_t msg_bytes, bool initiator);

}  // namespace railcheck::verbs
