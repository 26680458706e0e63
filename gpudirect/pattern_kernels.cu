#include "gpudirect/pattern_kernels.hpp"

#include "verbs/pattern.hpp"

namespace railcheck::gpudirect::kernels {
namespace {

constexpr unsigned kThreads = 256;
constexpr uint64_t kMaxBlocks = 4096;

unsigned blocks_for(uint64_t bytes) {
  const uint64_t want = (bytes + kThreads - 1) / kThreads;
  return static_cast<unsigned>(want < kMaxBlocks ? (want == 0 ? 1 : want) : kMaxBlocks);
}

__global__ void fill_kernel(uint8_t* dst, uint64_t bytes, size_t qp) {
  const uint64_t stride = static_cast<uint64_t>(gridDim.x) * blockDim.x;
  for (uint64_t i = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < bytes; i += stride) {
    dst[i] = verbs::pattern_byte(i, bytes, qp);
  }
}

// Each thread stops at its own first mismatch, the smallest offset of its stride sequence, so
// the minimum over threads is the first mismatch of the region.
__global__ void check_kernel(const uint8_t* src, uint64_t bytes, size_t qp, unsigned long long* first) {
  const uint64_t stride = static_cast<uint64_t>(gridDim.x) * blockDim.x;
  for (uint64_t i = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < bytes; i += stride) {
    if (src[i] != verbs::pattern_byte(i, bytes, qp)) {
      atomicMin(first, static_cast<unsigned long long>(i));
      return;
    }
  }
}

}  // namespace

cudaError_t fill_pattern(uint8_t* device_dst, uint64_t bytes, size_t qp) noexcept {
  fill_kernel<<<blocks_for(bytes), kThreads>>>(device_dst, bytes, qp);
  if (cudaError_t err = cudaGetLastError(); err != cudaSuccess) return err;
  return cudaDeviceSynchronize();
}

cudaError_t find_pattern_mismatch(const uint8_t* device_src, uint64_t bytes, size_t qp, uint64_t* device_scratch,
                                  uint64_t* first_mismatch) noexcept {
  const unsigned long long none = ~0ull;
  if (cudaError_t err = cudaMemcpy(device_scratch, &none, sizeof none, cudaMemcpyHostToDevice); err != cudaSuccess) {
    return err;
  }
  auto* first = reinterpret_cast<unsigned long long*>(device_scratch);
  check_kernel<<<blocks_for(bytes), kThreads>>>(device_src, bytes, qp, first);
  if (cudaError_t err = cudaGetLastError(); err != cudaSuccess) return err;
  unsigned long long result = none;
  if (cudaError_t err = cudaMemcpy(&result, first, sizeof result, cudaMemcpyDeviceToHost); err != cudaSuccess) {
    return err;
  }
  *first_mismatch = result;
  return cudaSuccess;
}

}  // namespace railcheck::gpudirect::kernels
