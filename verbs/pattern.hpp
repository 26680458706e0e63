#pragma once
// The data pattern a sender puts in QP `qp`'s tx region for messages of `bytes`, so the
// receiver can prove that what arrived is what was sent. One definition for the CPU and for
// the GPU kernels (gpudirect/pattern_kernels.cu includes this header through nvcc), so both
// kinds of memory carry the same bytes and a host side can check a GPU side's data.
// Another QP's or another size's pattern differs, so a region fed by the wrong QP is caught.

#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define RAILCHECK_HOST_DEVICE __host__ __device__
#else
#define RAILCHECK_HOST_DEVICE
#endif

namespace railcheck::verbs {

RAILCHECK_HOST_DEVICE constexpr uint8_t pattern_byte(uint64_t i, uint64_t bytes, size_t qp) noexcept {
  return static_cast<uint8_t>((i * 131 + (i >> 8) * 7 + bytes + qp * 17) & 0xff);
}

}  // namespace railcheck::verbs
