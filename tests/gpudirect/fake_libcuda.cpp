// A fake libcuda.so.1 for the loader's unit tests (tests/gpudirect/fake_cuda_test.cpp), built
// as build/.../fake-libcuda/libcuda.so.1 and found by the real loader through LD_LIBRARY_PATH.
// Like a real driver it exports cuDriverGetVersion and cuGetProcAddress_v2 by name and hands
// out every other entry point through cuGetProcAddress_v2, refusing one asked at a version
// whose ABI it does not have. Two "GPUs" whose memory is host memory, so tests can look inside.
//
// RAILCHECK_FAKE_CUDA, a comma-separated list read at every call, picks the answers:
//   (empty) / ok        CUDA 12.8, 2 GPUs, dma-buf, RDMA writes ordered for the owner
//   old_driver          cuDriverGetVersion says 11080 (CUDA 11.8)
//   cuda_12_4           cuDriverGetVersion says 12040 (before the dma-buf PCIe mapping flag)
//   no_device           cuInit: CUDA_ERROR_NO_DEVICE
//   zero_devices        cuInit succeeds, cuDeviceGetCount says 0
//   broken_init         cuInit: CUDA_ERROR_SYSTEM_DRIVER_MISMATCH
//   missing_entry       cuMemAlloc not found
//   no_dmabuf_export    cuMemGetHandleForAddressRange not in this driver
//   dmabuf_unsupported  CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED = 0
//   refuse_pcie_flag    cuMemGetHandleForAddressRange refuses the PCIe mapping flag
//   alloc_fail          cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY
//   unordered           RDMA writes ordering NONE, host flush offered
//   unordered_noflush   RDMA writes ordering NONE, no flush offered
// railcheck_fake_cuda_count(NAME) says how often NAME happened ("cuFlushGPUDirectRDMAWrites",
// "retain", "release", "abi_mismatch", "pcie_flag", ...); railcheck_fake_cuda_reset() clears.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "gpudirect/cuda_api.hpp"

struct CUctx_st {
  int device;
};

namespace {

namespace cu = railcheck::gpudirect::cu;
using cu::Status;

constexpr int kDevices = 2;
constexpr Status kErrorInvalidContext = static_cast<Status>(201);
CUctx_st g_contexts[kDevices] = {{0}, {1}};
thread_local cu::Context g_current = nullptr;
std::mutex g_mutex;
std::map<std::string, long> g_counts;
bool g_initialized = false;
int g_retains[kDevices] = {0, 0};

bool mode(const char* flag) {
  const char* env = std::getenv("RAILCHECK_FAKE_CUDA");
  if (env == nullptr) return false;
  const std::string list = std::string(",") + env + ",";
  return list.find(std::string(",") + flag + ",") != std::string::npos;
}

void count(const std::string& what) {
  std::lock_guard lock(g_mutex);
  ++g_counts[what];
}

int driver_version() {
  if (mode("old_driver")) return 11080;
  if (mode("cuda_12_4")) return 12040;
  return 12080;
}

Status needs_context() {
  if (!g_initialized) return Status::kErrorNotInitialized;
  return g_current == nullptr ? kErrorInvalidContext : Status::kSuccess;
}

Status get_error_name(Status error, const char** name) {
  static const std::map<int, const char*> kNames = {
      {0, "CUDA_SUCCESS"},          {1, "CUDA_ERROR_INVALID_VALUE"},          {2, "CUDA_ERROR_OUT_OF_MEMORY"},
      {3, "CUDA_ERROR_NOT_INITIALIZED"}, {100, "CUDA_ERROR_NO_DEVICE"},       {101, "CUDA_ERROR_INVALID_DEVICE"},
      {201, "CUDA_ERROR_INVALID_CONTEXT"}, {801, "CUDA_ERROR_NOT_SUPPORTED"},
      {803, "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH"}};
  auto it = kNames.find(static_cast<int>(error));
  if (it == kNames.end()) return Status::kErrorInvalidValue;
  *name = it->second;
  return Status::kSuccess;
}

Status init(unsigned flags) {
  if (flags != 0) return Status::kErrorInvalidValue;
  if (mode("no_device")) return Status::kErrorNoDevice;
  if (mode("broken_init")) return Status::kErrorSystemDriverMismatch;
  g_initialized = true;
  return Status::kSuccess;
}

Status device_get_count(int* n) {
  if (!g_initialized) return Status::kErrorNotInitialized;
  *n = mode("zero_devices") ? 0 : kDevices;
  return Status::kSuccess;
}

Status device_get(cu::Device* dev, int ordinal) {
  if (!g_initialized) return Status::kErrorNotInitialized;
  if (ordinal < 0 || ordinal >= kDevices || mode("zero_devices")) return Status::kErrorInvalidDevice;
  *dev = ordinal;
  return Status::kSuccess;
}

Status device_get_name(char* name, int len, cu::Device dev) {
  if (dev < 0 || dev >= kDevices) return Status::kErrorInvalidDevice;
  std::snprintf(name, static_cast<size_t>(len), "Fake GPU %d", dev);
  return Status::kSuccess;
}

Status device_get_pci_bus_id(char* bus, int len, cu::Device dev) {
  if (dev < 0 || dev >= kDevices) return Status::kErrorInvalidDevice;
  std::snprintf(bus, static_cast<size_t>(len), "%s", dev == 0 ? "0000:19:00.0" : "0000:3B:00.0");
  return Status::kSuccess;
}

Status device_get_attribute(int* value, cu::DeviceAttribute attribute, cu::Device dev) {
  if (!g_initialized) return Status::kErrorNotInitialized;
  if (dev < 0 || dev >= kDevices) return Status::kErrorInvalidDevice;
  const bool unordered = mode("unordered") || mode("unordered_noflush");
  switch (attribute) {
    case cu::DeviceAttribute::kComputeCapabilityMajor: *value = unordered ? 8 : 9; return Status::kSuccess;
    case cu::DeviceAttribute::kComputeCapabilityMinor: *value = 0; return Status::kSuccess;
    case cu::DeviceAttribute::kGpuDirectRdmaSupported: *value = 1; return Status::kSuccess;
    case cu::DeviceAttribute::kGpuDirectRdmaFlushWritesOptions:
      *value = mode("unordered_noflush") ? 0 : static_cast<int>(cu::FlushOption::kHost);
      return Status::kSuccess;
    case cu::DeviceAttribute::kGpuDirectRdmaWritesOrdering:
      *value = static_cast<int>(unordered ? cu::WritesOrdering::kNone : cu::WritesOrdering::kOwner);
      return Status::kSuccess;
    case cu::DeviceAttribute::kDmaBufSupported: *value = mode("dmabuf_unsupported") ? 0 : 1; return Status::kSuccess;
  }
  return Status::kErrorInvalidValue;
}

Status primary_ctx_retain(cu::Context* ctx, cu::Device dev) {
  if (!g_initialized) return Status::kErrorNotInitialized;
  if (dev < 0 || dev >= kDevices) return Status::kErrorInvalidDevice;
  count("retain");
  ++g_retains[dev];
  *ctx = &g_contexts[dev];
  return Status::kSuccess;
}

Status primary_ctx_release(cu::Device dev) {
  if (dev < 0 || dev >= kDevices || g_retains[dev] == 0) return Status::kErrorInvalidDevice;
  count("release");
  --g_retains[dev];
  return Status::kSuccess;
}

Status ctx_set_current(cu::Context ctx) {
  count("set_current");
  g_current = ctx;
  return Status::kSuccess;
}

Status ctx_synchronize() { return needs_context(); }

Status mem_alloc(cu::DevicePtr* ptr, size_t bytes) {
  if (Status s = needs_context(); s != Status::kSuccess) return s;
  if (mode("alloc_fail")) return Status::kErrorOutOfMemory;
  // Misaligned on purpose, as real allocations may be: the caller aligns on 64 KiB itself.
  void* p = std::malloc(bytes + 256);
  if (p == nullptr) return Status::kErrorOutOfMemory;
  count("alloc");
  *ptr = reinterpret_cast<cu::DevicePtr>(p) + 256;
  return Status::kSuccess;
}

Status mem_free(cu::DevicePtr ptr) {
  if (Status s = needs_context(); s != Status::kSuccess) return s;
  count("free");
  std::free(reinterpret_cast<void*>(ptr - 256));
  return Status::kSuccess;
}

Status memcpy_htod(cu::DevicePtr dst, const void* src, size_t n) {
  if (Status s = needs_context(); s != Status::kSuccess) return s;
  std::memcpy(reinterpret_cast<void*>(dst), src, n);
  return Status::kSuccess;
}

Status memcpy_dtoh(void* dst, cu::DevicePtr src, size_t n) {
  if (Status s = needs_context(); s != Status::kSuccess) return s;
  count("dtoh");
  std::memcpy(dst, reinterpret_cast<const void*>(src), n);
  return Status::kSuccess;
}

Status memset_d8(cu::DevicePtr dst, unsigned char v, size_t n) {
  if (Status s = needs_context(); s != Status::kSuccess) return s;
  std::memset(reinterpret_cast<void*>(dst), v, n);
  return Status::kSuccess;
}

Status memset_d32(cu::DevicePtr dst, unsigned v, size_t n) {
  if (Status s = needs_context(); s != Status::kSuccess) return s;
  if (dst % 4 != 0) return Status::kErrorInvalidValue;
  auto* p = reinterpret_cast<unsigned*>(dst);
  for (size_t i = 0; i < n; ++i) p[i] = v;
  return Status::kSuccess;
}

Status pointer_set_attribute(const void* value, cu::PointerAttribute attribute, cu::DevicePtr) {
  if (Status s = needs_context(); s != Status::kSuccess) return s;
  if (attribute == cu::PointerAttribute::kSyncMemops && *static_cast<const unsigned*>(value) == 1) count("sync_memops");
  return Status::kSuccess;
}

Status mem_get_handle_for_address_range(void* handle, cu::DevicePtr, size_t, cu::MemRangeHandleType type,
                                        unsigned long long flags) {
  if (Status s = needs_context(); s != Status::kSuccess) return s;
  if (type != cu::MemRangeHandleType::kDmaBufFd) return Status::kErrorInvalidValue;
  if (flags == cu::kMemRangeFlagDmaBufMappingTypePcie) {
    if (mode("refuse_pcie_flag") || driver_version() < cu::kMemRangeFlagPcieVersion) return Status::kErrorInvalidValue;
    count("pcie_flag");
  } else if (flags != 0) {
    return Status::kErrorInvalidValue;
  }
  count("dmabuf_export");
  *static_cast<int*>(handle) = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return Status::kSuccess;
}

Status flush_gpudirect_rdma_writes(cu::FlushTarget target, cu::FlushScope scope) {
  if (Status s = needs_context(); s != Status::kSuccess) return s;
  if (target != cu::FlushTarget::kCurrentCtx || scope != cu::FlushScope::kToOwner) return Status::kErrorInvalidValue;
  count("cuFlushGPUDirectRDMAWrites");
  return Status::kSuccess;
}

// The entry points and the CUDA versions whose ABI each has here: [first, last].
struct Entry {
  const char* name;
  int first;
  int last;
  void* fn;
};

template <class F>
void* as_void(F f) {
  return reinterpret_cast<void*>(f);
}

const Entry kEntries[] = {
    {"cuGetErrorName", 6000, 99999, as_void(&get_error_name)},
    {"cuInit", 2000, 99999, as_void(&init)},
    {"cuDeviceGetCount", 2000, 99999, as_void(&device_get_count)},
    {"cuDeviceGet", 2000, 99999, as_void(&device_get)},
    {"cuDeviceGetName", 2000, 99999, as_void(&device_get_name)},
    {"cuDeviceGetAttribute", 2000, 99999, as_void(&device_get_attribute)},
    {"cuDeviceGetPCIBusId", 4010, 99999, as_void(&device_get_pci_bus_id)},
    {"cuDevicePrimaryCtxRetain", 7000, 99999, as_void(&primary_ctx_retain)},
    {"cuDevicePrimaryCtxRelease", 11000, 99999, as_void(&primary_ctx_release)},
    {"cuCtxSetCurrent", 4000, 99999, as_void(&ctx_set_current)},
    {"cuCtxSynchronize", 2000, 12999, as_void(&ctx_synchronize)},  // 13.0's takes a context
    {"cuMemAlloc", 3020, 99999, as_void(&mem_alloc)},
    {"cuMemFree", 3020, 99999, as_void(&mem_free)},
    {"cuMemcpyHtoD", 3020, 99999, as_void(&memcpy_htod)},
    {"cuMemcpyDtoH", 3020, 99999, as_void(&memcpy_dtoh)},
    {"cuMemsetD8", 3020, 99999, as_void(&memset_d8)},
    {"cuMemsetD32", 3020, 99999, as_void(&memset_d32)},
    {"cuPointerSetAttribute", 6000, 99999, as_void(&pointer_set_attribute)},
    {"cuMemGetHandleForAddressRange", 11070, 99999, as_void(&mem_get_handle_for_address_range)},
    {"cuFlushGPUDirectRDMAWrites", 11030, 99999, as_void(&flush_gpudirect_rdma_writes)},
};

}  // namespace

extern "C" {

__attribute__((visibility("default"))) Status cuDriverGetVersion(int* version) {
  if (version == nullptr) return Status::kErrorInvalidValue;
  *version = driver_version();
  return Status::kSuccess;
}

__attribute__((visibility("default"))) Status cuGetProcAddress_v2(const char* symbol, void** fn, int version,
                                                                  uint64_t flags, cu::ProcAddressQuery* status) {
  count(std::string("asked ") + symbol);
  *fn = nullptr;
  if (flags != cu::kGetProcAddressDefault) return Status::kErrorInvalidValue;
  for (const Entry& e : kEntries) {
    if (std::strcmp(e.name, symbol) != 0) continue;
    const bool missing = (mode("missing_entry") && std::strcmp(symbol, "cuMemAlloc") == 0) ||
                         (mode("no_dmabuf_export") && std::strcmp(symbol, "cuMemGetHandleForAddressRange") == 0);
    if (missing) break;
    if (version < e.first) break;  // the symbol did not exist at that version
    if (version > driver_version()) {
      if (status != nullptr) *status = cu::ProcAddressQuery::kVersionNotSufficient;
      return Status::kErrorNotFound;
    }
    if (version > e.last) {  // another ABI than the caller's pointer type
      count("abi_mismatch");
      break;
    }
    *fn = e.fn;
    if (status != nullptr) *status = cu::ProcAddressQuery::kSuccess;
    return Status::kSuccess;
  }
  if (status != nullptr) *status = cu::ProcAddressQuery::kSymbolNotFound;
  return Status::kErrorNotFound;
}

__attribute__((visibility("default"))) long railcheck_fake_cuda_count(const char* what) {
  std::lock_guard lock(g_mutex);
  auto it = g_counts.find(what);
  return it == g_counts.end() ? 0 : it->second;
}

__attribute__((visibility("default"))) void railcheck_fake_cuda_reset() {
  std::lock_guard lock(g_mutex);
  g_counts.clear();
  g_initialized = false;
  g_current = nullptr;
  for (int& r : g_retains) r = 0;
}

}  // extern "C"
