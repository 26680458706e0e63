// The `host` memory kind: HostMemory registered with ibv_reg_mr.
#include "gpudirect/host_memory.hpp"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "gpudirect/kinds.hpp"
#include "verbs/handles.hpp"
#include "verbs/spec.hpp"
#include "verbs/work.hpp"

namespace railcheck::gpudirect {

Result<HostMemory> HostMemory::allocate(uint64_t bytes, bool huge) {
  HostMemory m;
  if (huge) {
    m.bytes_ = (std::max<uint64_t>(bytes, 1) + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    void* p = ::mmap(nullptr, m.bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (p == MAP_FAILED) {
      return fail_errno(fmt::format("mmap({} of 2 MiB huge pages)", verbs::format_size(m.bytes_)), errno,
                        "no free huge pages: reserve some (sysctl vm.nr_hugepages=N; in a pod: a hugepages-2Mi "
                        "resource), or use --mem host");
    }
    m.data_ = static_cast<uint8_t*>(p);  // the kernel hands out zeroed pages
    m.huge_ = true;
    return m;
  }
  const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  m.bytes_ = (std::max<uint64_t>(bytes, 1) + page - 1) / page * page;
  void* p = std::aligned_alloc(static_cast<size_t>(page), m.bytes_);
  if (p == nullptr) return fail_errno(fmt::format("allocating {} of test buffer", verbs::format_size(m.bytes_)), ENOMEM);
  std::memset(p, 0, m.bytes_);
  m.data_ = static_cast<uint8_t*>(p);
  return m;
}

HostMemory::HostMemory(HostMemory&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)), huge_(other.huge_) {}

HostMemory& HostMemory::operator=(HostMemory&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    huge_ = other.huge_;
  }
  return *this;
}

HostMemory::~HostMemory() { release(); }

void HostMemory::release() noexcept {
  if (data_ == nullptr) return;
  if (huge_) {
    ::munmap(data_, bytes_);
  } else {
    std::free(data_);
  }
  data_ = nullptr;
}

namespace {

// Host memory registered with ibv_reg_mr; the CPU does the per-size data work.
class HostBuffer final : public verbs::Buffer {
 public:
  HostBuffer(HostMemory mem, verbs::MrPtr mr) : mem_(std::move(mem)), mr_(std::move(mr)) {
    info_.huge_pages = mem_.huge();
  }
  [[nodiscard]] uint8_t* data() const noexcept override { return mem_.data(); }
  [[nodiscard]] ibv_mr* mr() const noexcept override { return mr_.get(); }
  [[nodiscard]] const verbs::MemoryInfo& info() const noexcept override { return info_; }
  [[nodiscard]] bool host_visible() const noexcept override { return true; }
  Result<void> fill_pattern(uint64_t offset, uint64_t bytes, size_t qp) override {
    verbs::fill_pattern(mem_.data() + offset, bytes, qp);
    return {};
  }
  Result<void> zero(uint64_t offset, uint64_t bytes) override {
    std::memset(mem_.data() + offset, 0, bytes);
    return {};
  }
  Result<std::optional<uint64_t>> find_pattern_mismatch(uint64_t offset, uint64_t bytes, size_t qp) override {
    return verbs::find_pattern_mismatch(mem_.data() + offset, bytes, qp);
  }

 private:
  // Creation order: the memory, then its registration; deregistered before it is freed.
  HostMemory mem_;
  verbs::MrPtr mr_;
  verbs::MemoryInfo info_;
};

Result<void> check_host_arg(std::string_view arg) {
  if (arg.empty() || arg == "huge") return {};
  return fail(Errc::kInvalidArgument, fmt::format("memory \"host:{}\"", arg), "write host, or host:huge for 2 MiB pages");
}

Result<void> host_available(std::string_view) { return {}; }

Result<std::unique_ptr<verbs::Buffer>> allocate_host(const verbs::BufferRequest& req, const MemoryOptions&) {
  auto mem = HostMemory::allocate(req.bytes, req.memory.arg == "huge");
  if (!mem) return std::unexpected(mem.error());
  verbs::MrPtr mr(ibv_reg_mr(req.pd, mem->data(), mem->bytes(), static_cast<int>(req.access)));
  if (!mr) {
    return fail_errno(fmt::format("ibv_reg_mr({})", verbs::format_size(mem->bytes())), errno, verbs::memlock_hint());
  }
  return std::make_unique<HostBuffer>(std::move(*mem), std::move(mr));
}

}  // namespace

const MemoryKind kHostKind{.name = "host",
                           .usage = "host[:huge]",
                           .check_arg = &check_host_arg,
                           .available = &host_available,
                           .allocate = &allocate_host};

}  // namespace railcheck::gpudirect
