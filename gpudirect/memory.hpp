#pragma once
// The memory kinds behind the engine's verbs::Buffer interface: `host` (page-aligned, or 2 MiB
// huge pages with host:huge) and `cuda` (device memory on the GPU nearest the NIC, or the one
// named: cuda:N, cuda:BUSID), registered through dma-buf or nvidia-peermem. The CLI and the
// agent give the engine buffer_factory(); the engine never names a kind.
//
// Adding a kind: one file defining its MemoryKind row (declared in gpudirect/kinds.hpp, its
// source listed in CMakeLists.txt) and one row in the table in memory.cpp.

#include <memory>
#include <string>

#include "common/error.hpp"
#include "topology/rail_map.hpp"
#include "verbs/memory.hpp"

namespace railcheck::gpudirect {

struct MemoryOptions {
  // Where the rail map comes from, to place the NIC under test and choose the GPU nearest
  // it (`cuda` without :N). The defaults read this machine's sysfs and hwloc.
  topology::RailMapInputs rail_map;
};

// The engine's BufferFactory over the kind table.
verbs::BufferFactory buffer_factory(MemoryOptions options = {});

// Allocates and registers one buffer (what buffer_factory()'s function calls).
Result<std::unique_ptr<verbs::Buffer>> make_buffer(const verbs::BufferRequest& request, const MemoryOptions& options);

// The kind exists and its argument makes sense (Errc::kInvalidArgument naming the kinds).
// For front ends (CLI, agent API) before a run; the factory checks again.
Result<void> check_memory_spec(const verbs::MemorySpec& mem);

// Whether this node can provide the kind at all, without allocating: for `cuda`, a driver and
// a GPU. Errc::kUnsupported with the reason ("no CUDA driver: cudaErrorInsufficientDriver"):
// the run is waived before any connection is made.
Result<void> memory_available(const verbs::MemorySpec& mem);

// "host[:huge], cuda[:N|:BUSID]", for help texts and errors.
std::string memory_kinds_usage();

}  // namespace railcheck::gpudirect
