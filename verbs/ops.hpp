#pragma once
// The operations railcheck measures, as one table of data (the model is UCX perftest's tests[]):
// one constexpr row per verb says what it posts, how its latency is timed, which access the
// peer's memory must grant, whether it carries a data pattern the receiver can check, and which
// latency limit of a profile applies. The parsers, the CLI's choices and help, the test names
// ("write_lat"), the profile keys and the engine's dispatch are all made from it, so adding an
// op is a row here plus its work-request shape (verbs/work.hpp's make_work, when the shape is
// new). Pure data and constexpr lookups: no I/O.

#include <infiniband/verbs.h>

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace railcheck::verbs {

enum class TestKind : uint8_t { kLatency, kBandwidth };
enum class Op : uint8_t { kWrite, kRead, kSend, kWriteImm, kFetchAdd, kCmpSwap };

// What a work request of the op looks like (make_work builds one per shape).
enum class WrShape : uint8_t {
  kRdma,    // wr.rdma: remote address + rkey (write, write_imm, read)
  kSend,    // no remote address: the peer's posted receive takes it
  kAtomic,  // wr.atomic: an 8-byte remote word, compare/add and swap operands
};

// How one ping-pong round trip is observed.
enum class LatencyStyle : uint8_t {
  kPollMemory,      // write: each side polls the last byte of its rx region (host memory only)
  kRecvCompletion,  // send, write_imm: each side waits for a receive completion on its CQ
  kOwnCompletion,   // read, atomics: the initiator waits for its own completion; the peer is passive
};

struct OpInfo {
  Op op;
  std::string_view name;         // "write": CLI --op, test names "<name>_lat" / "<name>_bw", JSON
  std::string_view help;         // one line for --help
  ibv_wr_opcode opcode;
  WrShape shape;
  LatencyStyle latency;
  uint32_t latency_divisor;      // the reported latency is the round trip / this (2: one way)
  bool uses_receives;            // the receiving side consumes receive requests
  bool inline_ok;                // a small message may go inline (the CPU copies it into the WR)
  unsigned remote_access;        // what the peer's MR and QP grant: IBV_ACCESS_REMOTE_*
  uint32_t fixed_bytes;          // the only message size the op has (atomics: 8); 0: any size
  bool data_from_initiator;      // the initiator's tx data lands in the responder's rx (write, send);
                                 // false: the initiator pulls the responder's (read)
  bool carries_pattern;          // the receiver's region ends holding the sender's pattern (data check)
  std::string_view profile_key;  // which per-verb latency limit of a profile applies
};

inline constexpr std::array kOps{
    OpInfo{.op = Op::kWrite, .name = "write", .help = "RDMA write (the receiver polls its memory)",
           .opcode = IBV_WR_RDMA_WRITE, .shape = WrShape::kRdma, .latency = LatencyStyle::kPollMemory,
           .latency_divisor = 2, .uses_receives = false, .inline_ok = true, .remote_access = IBV_ACCESS_REMOTE_WRITE,
           .fixed_bytes = 0, .data_from_initiator = true, .carries_pattern = true, .profile_key = "write"},
    OpInfo{.op = Op::kRead, .name = "read", .help = "RDMA read (latency is the full round trip)",
           .opcode = IBV_WR_RDMA_READ, .shape = WrShape::kRdma, .latency = LatencyStyle::kOwnCompletion,
           .latency_divisor = 1, .uses_receives = false, .inline_ok = false, .remote_access = IBV_ACCESS_REMOTE_READ,
           .fixed_bytes = 0, .data_from_initiator = false, .carries_pattern = true, .profile_key = "read"},
    OpInfo{.op = Op::kSend, .name = "send", .help = "send/receive (two-sided)",
           .opcode = IBV_WR_SEND, .shape = WrShape::kSend, .latency = LatencyStyle::kRecvCompletion,
           .latency_divisor = 2, .uses_receives = true, .inline_ok = true, .remote_access = 0,
           .fixed_bytes = 0, .data_from_initiator = true, .carries_pattern = true, .profile_key = "send"},
    OpInfo{.op = Op::kWriteImm, .name = "write_imm",
           .help = "RDMA write with immediate (completion on the receiver's CQ: the write latency GPU memory allows)",
           .opcode = IBV_WR_RDMA_WRITE_WITH_IMM, .shape = WrShape::kRdma, .latency = LatencyStyle::kRecvCompletion,
           .latency_divisor = 2, .uses_receives = true, .inline_ok = true, .remote_access = IBV_ACCESS_REMOTE_WRITE,
           .fixed_bytes = 0, .data_from_initiator = true, .carries_pattern = true, .profile_key = "write"},
    OpInfo{.op = Op::kFetchAdd, .name = "fetch_add", .help = "atomic fetch-and-add on an 8-byte word (a round trip)",
           .opcode = IBV_WR_ATOMIC_FETCH_AND_ADD, .shape = WrShape::kAtomic, .latency = LatencyStyle::kOwnCompletion,
           .latency_divisor = 1, .uses_receives = false, .inline_ok = false, .remote_access = IBV_ACCESS_REMOTE_ATOMIC,
           .fixed_bytes = 8, .data_from_initiator = false, .carries_pattern = false, .profile_key = "atomic"},
    OpInfo{.op = Op::kCmpSwap, .name = "cmp_swap", .help = "atomic compare-and-swap on an 8-byte word (a round trip)",
           .opcode = IBV_WR_ATOMIC_CMP_AND_SWP, .shape = WrShape::kAtomic, .latency = LatencyStyle::kOwnCompletion,
           .latency_divisor = 1, .uses_receives = false, .inline_ok = false, .remote_access = IBV_ACCESS_REMOTE_ATOMIC,
           .fixed_bytes = 8, .data_from_initiator = false, .carries_pattern = false, .profile_key = "atomic"},
};

// The row of `op` (rows are in enum order; a static_assert in ops.cpp keeps them so).
constexpr const OpInfo& op_info(Op op) noexcept { return kOps[static_cast<size_t>(op)]; }
constexpr bool uses_receives(Op op) noexcept { return op_info(op).uses_receives; }

std::string_view to_string(TestKind kind) noexcept;  // "lat", "bw"
std::string_view to_string(Op op) noexcept;          // the row's name
Result<TestKind> parse_test_kind(std::string_view text);
Result<Op> parse_op(std::string_view text);  // the error lists the ops
std::vector<std::string> op_names();          // in table order, for CLI choices
// "write, read, send, write_imm, fetch_add or cmp_swap".
std::string op_list(std::string_view last_joiner = "or");
// Every op with its help line, one per line, indented: for --help.
std::string ops_help();
// The profile keys the table uses, each once, in table order: "write", "read", "send", "atomic".
std::vector<std::string_view> profile_keys();

// A test as records and reports identify it: the kind and the op ("write_lat").
struct TestId {
  TestKind kind = TestKind::kLatency;
  Op op = Op::kWrite;

  [[nodiscard]] std::string name() const;  // "<op>_lat" | "<op>_bw"
  [[nodiscard]] bool latency() const noexcept { return kind == TestKind::kLatency; }
  [[nodiscard]] const OpInfo& info() const noexcept { return op_info(op); }
  auto operator<=>(const TestId&) const = default;
};
// "write_lat", "fetch_add_bw" -> the id; the error names every test there is.
Result<TestId> parse_test_id(std::string_view name);
// Every test name there is, in table order: write_lat, read_lat, ..., write_bw, ...
std::vector<std::string> test_names();

// Calls fn.template operator()<kOp>() with `op` as a template argument: the one place the
// engine turns the run's op into the hot loops' template parameter.
template <typename Fn>
decltype(auto) with_op(Op op, Fn&& fn) {
  return [&]<size_t... I>(std::index_sequence<I...>) -> decltype(auto) {
    using R = decltype(fn.template operator()<kOps[0].op>());
    if constexpr (std::is_void_v<R>) {
      (void)((op == kOps[I].op ? (fn.template operator()<kOps[I].op>(), true) : false) || ...);
    } else {
      R out{};
      (void)((op == kOps[I].op ? (out = fn.template operator()<kOps[I].op>(), true) : false) || ...);
      return out;
    }
  }(std::make_index_sequence<kOps.size()>{});
}

}  // namespace railcheck::verbs
