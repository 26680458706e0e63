#pragma once
// The `cuda` memory kind's availability check and allocation over a given driver (internal to
// gpudirect): the kind table's row (kCudaKind) calls them with the process's driver and
// rdma-core's registration calls; tests call them with a fake libcuda and fake MR calls.

#include <memory>
#include <string_view>

#include "common/error.hpp"
#include "gpudirect/cuda_driver.hpp"
#include "gpudirect/cuda_memory.hpp"
#include "gpudirect/memory.hpp"
#include "verbs/memory.hpp"

namespace railcheck::gpudirect {

// A driver that sees a GPU, and the GPU `arg` names among them; kUnsupported with the reason
// where the pod has none.
Result<void> cuda_available(const CudaDriver& driver, std::string_view arg);

// The GPU nearest req.rdma_device (or the one named), its memory, registered as req.gpu_reg asks
// with req.access unchanged; the memory info says which GPU, which path and whether the data
// check flushes RDMA writes.
Result<std::unique_ptr<verbs::Buffer>> allocate_cuda(const CudaDriver& driver, const verbs::BufferRequest& req,
                                                     const MemoryOptions& options, const MrCalls& calls);

}  // namespace railcheck::gpudirect
