#pragma once
// The run-spec options `lat`, `bw` and `coordinator` share, declared in one place and turned
// into a verbs::RunSpec in one place, with verbs' defaults (default_spec) and validation
// (validate, plus the memory kinds gpudirect knows). The op choices and their help come from
// the op table (verbs/ops.hpp).

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "verbs/spec.hpp"

namespace railcheck::cli {

// Which of the options a command has.
struct SpecScope {
  bool latency = true;    // it runs latency tests
  bool bandwidth = true;  // it runs bandwidth tests: --qps, --tx-depth, --bidir, --verify
  // --peer-mem defaults to "as --mem" (the coordinator: GPUDirect end to end), else to host.
  bool peer_mem_follows_mem = false;
};

struct SpecOptions {
  std::vector<std::string> sizes;
  bool sweep = false;
  uint64_t iters = 0;     // 0: the kind's default
  double duration_s = 0;
  int64_t warmup = -1;    // -1: the kind's default
  uint32_t qps = 0;       // 0: the default (bandwidth)
  uint32_t tx_depth = 0;  // 0: the default
  bool bidir = false;
  bool verify = false;
  std::string mem = "host";
  std::string peer_mem;   // empty: see SpecScope::peer_mem_follows_mem
  std::string gpu_reg = "auto";
  verbs::PathSpec path;
};

// Declares the options on `sub` (the size, iteration, duration and memory groups).
void add_spec_options(CLI::App& sub, SpecOptions& o, const SpecScope& scope);

// The spec of one test from the options: `scope` says which apply (a bandwidth-only option is
// left at its default for a latency test); `bw` (a profile's) changes the bandwidth defaults
// the options do not override. -n means a counted run, -D a timed one. Errors name what was
// wrong.
Result<verbs::RunSpec> build_spec(const SpecOptions& o, const SpecScope& scope, verbs::TestId test,
                                  const verbs::BandwidthDefaults& bw = {});

// "--op" with the op table's names as choices and help.
void add_op_option(CLI::App& sub, std::string& op);

// "--timeout": seconds without progress before `what` happens ("a test fails"); one range and
// default for every command that waits on a peer (lat, bw, serve, coordinator).
void add_progress_timeout_option(CLI::App& sub, double& timeout_s, std::string_view what);

}  // namespace railcheck::cli
