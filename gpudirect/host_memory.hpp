#pragma once
// Host memory for test buffers: page-aligned and zeroed, or backed by 2 MiB huge pages
// (host:huge), which the NIC maps with fewer translation entries. A move-only owner; the
// `host` kind registers it with ibv_reg_mr.

#include <cstddef>
#include <cstdint>

#include "common/error.hpp"

namespace railcheck::gpudirect {

inline constexpr uint64_t kHugePageBytes = 2ull << 20;

class HostMemory {
 public:
  // At least `bytes`, zeroed, rounded up to whole pages (huge pages with `huge`). Huge pages
  // that cannot be had are an error naming vm.nr_hugepages.
  static Result<HostMemory> allocate(uint64_t bytes, bool huge);

  HostMemory() = default;
  HostMemory(HostMemory&& other) noexcept;
  HostMemory& operator=(HostMemory&& other) noexcept;
  HostMemory(const HostMemory&) = delete;
  HostMemory& operator=(const HostMemory&) = delete;
  ~HostMemory();

  [[nodiscard]] uint8_t* data() const noexcept { return data_; }
  [[nodiscard]] uint64_t bytes() const noexcept { return bytes_; }
  [[nodiscard]] bool huge() const noexcept { return huge_; }

 private:
  void release() noexcept;
  uint8_t* data_ = nullptr;
  uint64_t bytes_ = 0;
  bool huge_ = false;  // mmap'ed (munmap), else aligned_alloc'ed (free)
};

}  // namespace railcheck::gpudirect
