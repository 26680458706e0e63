#pragma once
// The data-check kernels for GPU memory (pattern_kernels.cu, compiled by nvcc): fill a region
// with verbs::pattern_byte's pattern, and find the first byte that differs from it, on the
// GPU, so a GPU-to-GPU run checks its data without copying it to the host. Each call waits
// for the GPU and returns the CUDA error, cudaSuccess when all went well. Built only with CUDA.

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace railcheck::gpudirect::kernels {

cudaError_t fill_pattern(uint8_t* device_dst, uint64_t bytes, size_t qp) noexcept;

// `device_scratch`: 8 bytes of device memory for the kernel's answer. *first_mismatch is the
// offset of the first differing byte, or UINT64_MAX when every byte matches.
cudaError_t find_pattern_mismatch(const uint8_t* device_src, uint64_t bytes, size_t qp, uint64_t* device_scratch,
                                  uint64_t* first_mismatch) noexcept;

}  // namespace railcheck::gpudirect::kernels
