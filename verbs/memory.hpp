#pragma once
// Where the engine's test buffers live. verbs owns this small interface and never allocates
// test memory itself: an Endpoint asks a BufferFactory for one registered Buffer, and
// gpudirect/ implements the kinds behind it (host memory, CUDA device memory). The CLI and
// the agent hand the engine gpudirect::buffer_factory(), so verbs never depends on CUDA and
// host and GPU memory go through one path.
//
// A kind is named in a run spec as "kind[:arg]": "host", "host:huge", "cuda", "cuda:1",
// "cuda:0000:18:00.0". verbs checks only the syntax; the kind table in gpudirect/ knows
// which kinds exist and what their argument means.

#include <infiniband/verbs.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/error.hpp"

namespace railcheck::verbs {

inline constexpr std::string_view kHostMemory = "host";

// One side's memory, as asked for.
struct MemorySpec {
  std::string kind{kHostMemory};
  std::string arg;  // what follows the first ':'; empty: the kind's default

  [[nodiscard]] bool is_host() const noexcept { return kind == kHostMemory; }
  bool operator==(const MemorySpec&) const = default;
};

std::string to_string(const MemorySpec& mem);  // "host", "cuda:1"
// Splits "kind[:arg]"; the kind must be a lowercase word. Does not check that it exists.
Result<MemorySpec> parse_memory_spec(std::string_view text);

// How GPU memory is registered with the NIC: dma-buf, nvidia-peermem, or dma-buf first.
enum class GpuReg : uint8_t { kAuto, kDmabuf, kPeermem };
std::string_view to_string(GpuReg reg) noexcept;  // "auto", "dmabuf", "peermem"
Result<GpuReg> parse_gpu_reg(std::string_view text);

// What one side's buffer turned out to be: recorded in the run and sent to the peer, so the
// client's record says where both sides' data lived and how it was registered.
struct MemoryInfo {
  std::string kind{kHostMemory};
  std::string registration = "ibv_reg_mr";  // host: ibv_reg_mr; GPU: dmabuf | peermem
  std::string registration_note;            // why the other GPU path was not used; empty for host
  bool huge_pages = false;
  std::optional<int> gpu;                   // CUDA ordinal of the GPU holding the buffer
  std::string gpu_name;
  std::string gpu_pci_address;              // "0000:19:00.0"
  std::string gpu_distance;                 // PIX | PXB | PHB | NODE | SYS to the NIC; empty: unknown
  std::string gpu_choice;                   // how the GPU was chosen

  bool operator==(const MemoryInfo&) const = default;
};

nlohmann::json to_json(const MemoryInfo& info);
Result<MemoryInfo> memory_info_from_json(const nlohmann::json& j);

// A registered test buffer of at least the bytes asked for. Owned by the Endpoint, which
// destroys it after its QPs and before its PD. Implementations own their memory and MR and
// deregister before they free.
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  virtual ~Buffer() = default;

  [[nodiscard]] virtual uint8_t* data() const noexcept = 0;  // the address the NIC uses
  [[nodiscard]] virtual ibv_mr* mr() const noexcept = 0;
  [[nodiscard]] virtual const MemoryInfo& info() const noexcept = 0;
  // True when the CPU may read and write data(): only then does the engine send small
  // messages inline or poll the buffer (write latency).
  [[nodiscard]] virtual bool host_visible() const noexcept = 0;

  // Per-size data work, done where the memory is (a GPU kernel for GPU memory). Offsets and
  // lengths are in bytes from data(); the pattern is verbs::pattern_byte's.
  virtual Result<void> fill_pattern(uint64_t offset, uint64_t bytes, size_t qp) = 0;
  virtual Result<void> zero(uint64_t offset, uint64_t bytes) = 0;
  // The offset (from `offset`) of the first byte that differs from the pattern; nullopt: all match.
  virtual Result<std::optional<uint64_t>> find_pattern_mismatch(uint64_t offset, uint64_t bytes, size_t qp) = 0;
};

// What an Endpoint asks for: `bytes` registered on `pd` with `access`, of the kind `memory`,
// for traffic through `rdma_device` (a GPU kind picks the GPU nearest that NIC).
struct BufferRequest {
  ibv_pd* pd = nullptr;
  uint64_t bytes = 0;
  unsigned access = 0;
  std::string rdma_device;
  MemorySpec memory;
  GpuReg gpu_reg = GpuReg::kAuto;
};

// What to check when ibv_reg_mr fails for lack of memory: the memlock limit, when it is one.
std::string memlock_hint();

// Allocates and registers. A missing capability (no GPU, no driver, no dma-buf nor
// peermem) is Errc::kUnsupported: the run is waived, not failed.
using BufferFactory = std::function<Result<std::unique_ptr<Buffer>>(const BufferRequest&)>;

}  // namespace railcheck::verbs
