#pragma once
// What one test run is: the test kind, the verb, sizes, stop rule and queue shape. One
// struct per concern, filled by the CLI (cli/) or the agent's JSON API (pods/), checked by
// the same validate() in both, and carried to the server in the out-of-band hello so both
// sides always run the same thing.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/error.hpp"
#include "verbs/memory.hpp"
#include "verbs/ops.hpp"

namespace railcheck::verbs {

// Bounds shared by every front end (CLI, agent API).
inline constexpr uint64_t kMaxMessageBytes = 1ull << 30;  // 1 GiB
inline constexpr uint64_t kMaxIters = 1'000'000'000;
inline constexpr double kMaxDurationS = 3600;
inline constexpr uint32_t kMaxQps = 64;
inline constexpr uint32_t kMaxTxDepth = 8192;
inline constexpr size_t kMaxSizes = 64;

// The path attributes of the QPs' address vectors: the same on both sides (the spec travels to
// the server), and recorded with the results. Defaults: class 0, SL 0, no flow label, hop limit
// 255 (NCCL's and perftest's). On lossless RoCE the traffic class selects the PFC priority
// (e.g. --tclass 106: DSCP 26 with ECN capable transport, the common "RoCE" class).
struct PathSpec {
  uint8_t tclass = 0;        // GRH traffic class (RoCEv2: the IP header's DSCP and ECN byte)
  uint8_t sl = 0;            // service level, 0..15
  uint32_t flow_label = 0;   // 20 bits
  uint8_t hop_limit = 255;
  bool ipv6 = false;         // RoCE: both ends use their IPv6 RoCEv2 GIDs (perftest --ipv6); default IPv4
  bool operator==(const PathSpec&) const = default;
};

struct RunSpec {
  TestKind kind = TestKind::kLatency;
  Op op = Op::kWrite;
  std::vector<uint64_t> sizes_bytes{2};
  uint64_t iters = 1000;     // per size, counted after the warm-up; unused when duration_s > 0
  double duration_s = 0;     // > 0: each size runs this long instead of `iters`
  uint64_t warmup_iters = 100;
  uint32_t qps = 1;          // bandwidth only
  uint32_t tx_depth = 128;   // outstanding work requests per QP (bandwidth)
  bool bidir = false;        // bandwidth only: both sides send at once
  MemorySpec mem;            // where the client's (initiator's) buffers live
  MemorySpec peer_mem;       // where the server's buffers live
  GpuReg gpu_reg = GpuReg::kAuto;  // how either side registers GPU memory
  bool verify = false;       // bandwidth: check the data in GPU memory too (host memory always is)
  PathSpec path;

  [[nodiscard]] bool duration_mode() const noexcept { return duration_s > 0; }
  [[nodiscard]] TestId test() const noexcept { return TestId{.kind = kind, .op = op}; }
  [[nodiscard]] uint64_t max_size_bytes() const noexcept;
  // The memory of the client (initiator) or of the server.
  [[nodiscard]] const MemorySpec& memory_of(bool initiator) const noexcept { return initiator ? mem : peer_mem; }
  // Whether bandwidth sizes fill, zero and check the data: always when both sides use host
  // memory, else only with `verify`. Both sides decide the same from the same spec.
  [[nodiscard]] bool checks_data() const noexcept {
    return kind == TestKind::kBandwidth && op_info(op).carries_pattern && (verify || (mem.is_host() && peer_mem.is_host()));
  }
};

// The sizes perftest's -a covers: 2 B .. 8 MiB, powers of two.
std::vector<uint64_t> sweep_sizes();

// What a bandwidth test runs when the command line does not say; a profile may change it
// (the lab's: 64 KiB, one QP, a count) so that slow links finish soon. Unset: the built-in.
struct BandwidthDefaults {
  std::optional<uint64_t> size_bytes;
  std::optional<uint32_t> qps;
  std::optional<uint64_t> iters;  // set: a counted run (per QP) instead of a duration
  bool operator==(const BandwidthDefaults&) const = default;
};

// Built-in bandwidth defaults, sized for 400-800 Gb/s ConnectX-7/8 ports (docs/verbs.md):
// 1 MiB messages (where a port saturates: perftest's and NVIDIA's certification runs reach
// line rate from 64 KiB-1 MiB), 4 QPs (one QP's outstanding-write window limits a 400G
// port; NCCL and ngc_multinode_perf use several), 3 s per size (perftest's -D 2-5 s).
inline constexpr uint64_t kBwDefaultSizeBytes = 1 << 20;
inline constexpr uint32_t kBwDefaultQps = 4;
inline constexpr double kBwDefaultDurationS = 3;

// What a front end (lat/bw, the coordinator) runs when not told otherwise: latency 2 B, 1000
// iterations after 100 warm-up; bandwidth kBwDefaultSizeBytes on kBwDefaultQps QPs for
// kBwDefaultDurationS per size after 16 warm-up messages per QP, unless `bw` says otherwise;
// an op of one size (atomics: 8 B) at that size.
RunSpec default_spec(TestKind kind, Op op, const BandwidthDefaults& bw = {});

// Parses each of a list of sizes (parse_size); the first bad one is the error.
Result<std::vector<uint64_t>> parse_sizes(const std::vector<std::string>& texts);

// Checks every bound and combination; the error names the value and the range, and its
// Error::field is the spec's JSON field ("qps", "sizes").
Result<void> validate(const RunSpec& spec);

nlohmann::json to_json(const RunSpec& spec);
// Reads and validates a spec; unknown fields are errors, missing fields keep their defaults.
// Error::field is the field's path under `path` ("spec.qps").
Result<RunSpec> spec_from_json(const nlohmann::json& j, std::string_view path = "spec");

// Parses "2", "64K", "4KiB", "1M", "8MiB" into bytes.
Result<uint64_t> parse_size(std::string_view text);
// "2 B", "64 KiB", "8 MiB".
std::string format_size(uint64_t bytes);

}  // namespace railcheck::verbs
