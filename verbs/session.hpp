#pragma once
// A whole test between two processes: the client connects over the OOB channel, sends its
// spec and endpoint, the server accepts (or refuses with a reason), both connect their QPs,
// then every message size runs behind a barrier. The client's figures are the result; the
// server prints one line per finished run and waits for the next client.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "verbs/endpoint.hpp"
#include "verbs/loops.hpp"
#include "verbs/oob.hpp"
#include "verbs/port_counters.hpp"
#include "verbs/spec.hpp"

namespace railcheck::verbs {

// Bumped whenever a message changes meaning; both sides must agree.
// 2: memory kinds in the spec and the endpoints, write_imm, refusals carry an error code.
// 3: the op table's ops (atomics), path attributes in the spec (tclass, sl, flow label), the
//    endpoints' read limits, pkey index, inline size and placement; IPv6 GIDs (spec ipv6).
// 4: the server sends its port counters' deltas after every size ("counters").
inline constexpr int kProtocolVersion = 4;

struct RunRecord {
  RunSpec spec;
  std::string peer;           // OOB address of the other side
  EndpointInfo local;         // .memory: where this side's buffer lives, how it was registered
  EndpointInfo remote;
  uint32_t path_mtu_bytes = 0;
  std::string clock;          // timestamp source
  bool rdma_cm = false;       // QPs connected through rdma_cm rather than the OOB exchange
  std::vector<SizeOutcome> sizes;
};

// Resolves the local device, given our address on the OOB connection (the route's choice
// when nothing else was named).
using DeviceResolver = std::function<Result<DeviceSpec>(const std::string& local_ip)>;

struct ClientOptions {
  std::string peer;
  uint16_t port = kDefaultPort;
  DeviceResolver device_for;
  BufferFactory buffers;      // allocates spec.mem (gpudirect::buffer_factory())
  RunSpec spec;
  bool rdma_cm = false;       // connect the QPs through rdma_cm (the OOB channel still carries the spec)
  CounterReader hw_counters;  // where sysfs has no hw_counters/ (topology::read_rdma_port_stats); empty: sysfs only
  Millis connect_timeout{5000};
  Millis progress_timeout{10000};
};

// Called after each size with the run so far and the size's outcome (for progress output).
using SizeCallback = std::function<void(const RunRecord&, const SizeOutcome&)>;

// A memory the client or the server cannot provide (no GPU, no driver) comes back as
// Errc::kUnsupported: the run is waived, not failed.
Result<RunRecord> run_client(const ClientOptions& opt, const SizeCallback& on_size = {});

struct ServerOptions {
  DeviceResolver device_for;
  BufferFactory buffers;      // allocates the client's spec.peer_mem (gpudirect::buffer_factory())
  std::optional<TestKind> only_kind;  // refuse clients asking for another test
  std::optional<Op> only_op;
  uint64_t max_size_bytes = kMaxMessageBytes;  // refuse clients asking for larger messages
  CounterReader hw_counters;  // as ClientOptions::hw_counters
  Millis hello_timeout{10000};
  Millis progress_timeout{10000};
};

// Serves one connected client to the end.
Result<RunRecord> serve_client(OobSocket& oob, const ServerOptions& opt);

}  // namespace railcheck::verbs
