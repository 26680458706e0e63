#pragma once
// The part of the CUDA driver API railcheck calls, declared here so that building railcheck
// needs no CUDA header, toolkit or library: libcuda.so.1 is opened at run time
// (gpudirect/cuda_driver.hpp) and each entry point is asked of cuGetProcAddress at the CUDA
// version it came in (`kVersion` below, the `_vNNNNN` of NVIDIA's cudaTypedefs.h), so a driver
// as old as CUDA 12.0 (R525) serves every one of them.
//
// Only ABI facts live here: the C types, the enum values railcheck reads or passes, and one
// function-pointer type per entry point. tests/gpudirect/cuda_api_abi_test.cpp compiles them
// against the real cuda.h / cudaTypedefs.h where a toolkit is installed, so they cannot drift.
// Names are railcheck's (cuda.h's are macros, e.g. cuMemAlloc -> cuMemAlloc_v2).

#include <cstddef>
#include <cstdint>

struct CUctx_st;  // as cuda.h declares it: the two headers can be included together

namespace railcheck::gpudirect::cu {

// CUresult: kept as an int-sized enum so any value the driver returns is representable.
enum class Status : int {
  kSuccess = 0,
  kErrorInvalidValue = 1,
  kErrorOutOfMemory = 2,
  kErrorNotInitialized = 3,
  kErrorNoDevice = 100,
  kErrorInvalidDevice = 101,
  kErrorNotFound = 500,
  kErrorNotSupported = 801,
  kErrorSystemDriverMismatch = 803,
};

using Device = int;                   // CUdevice
using DevicePtr = unsigned long long;  // CUdeviceptr (64-bit)
using Context = CUctx_st*;            // CUcontext

// CUdevice_attribute: the attributes railcheck reads.
enum class DeviceAttribute : int {
  kComputeCapabilityMajor = 75,
  kComputeCapabilityMinor = 76,
  kGpuDirectRdmaSupported = 116,          // CUDA 11.3
  kGpuDirectRdmaFlushWritesOptions = 117,  // CUDA 11.3: a FlushOption bitmask
  kGpuDirectRdmaWritesOrdering = 118,      // CUDA 11.3: a WritesOrdering value
  kDmaBufSupported = 124,                  // CUDA 11.7
};

// CUpointer_attribute.
enum class PointerAttribute : int { kSyncMemops = 6 };

// CUmemRangeHandleType.
enum class MemRangeHandleType : int { kDmaBufFd = 1 };
// CUmemRangeFlags, passed as cuMemGetHandleForAddressRange's flags: map the dma-buf through
// the PCIe BAR1 even where the GPU has another path (C2C). Known to drivers from CUDA 12.8.
inline constexpr unsigned long long kMemRangeFlagDmaBufMappingTypePcie = 0x1;
inline constexpr int kMemRangeFlagPcieVersion = 12080;

// CUflushGPUDirectRDMAWritesOptions: bits of kGpuDirectRdmaFlushWritesOptions.
enum class FlushOption : int { kHost = 1 << 0, kMemops = 1 << 1 };
// CUGPUDirectRDMAWritesOrdering: values of kGpuDirectRdmaWritesOrdering.
enum class WritesOrdering : int { kNone = 0, kOwner = 100, kAllDevices = 200 };
// CUflushGPUDirectRDMAWritesTarget / CUflushGPUDirectRDMAWritesScope.
enum class FlushTarget : int { kCurrentCtx = 0 };
enum class FlushScope : int { kToOwner = 100, kToAllDevices = 200 };

// CUdriverProcAddressQueryResult, cuGetProcAddress_v2's last argument.
enum class ProcAddressQuery : int { kSuccess = 0, kSymbolNotFound = 1, kVersionNotSufficient = 2 };
inline constexpr uint64_t kGetProcAddressDefault = 0;  // CU_GET_PROC_ADDRESS_DEFAULT

// The oldest driver railcheck uses: CUDA 12.0 (R525) brought cuGetProcAddress_v2, whose
// symbol-status argument tells a missing entry point from a driver too old for it.
inline constexpr int kMinDriverVersion = 12000;

// An entry point: its name, the CUDA version whose ABI `Fn` is (the version cuGetProcAddress is
// asked for), and its function-pointer type.
template <size_t N>
struct EntryName {
  char text[N];
  constexpr EntryName(const char (&s)[N]) {  // NOLINT(google-explicit-constructor): a literal
    for (size_t i = 0; i < N; ++i) text[i] = s[i];
  }
};
template <EntryName kSymbol, int kCudaVersion, class F>
struct Entry {
  using Fn = F;
  static constexpr const char* kName = kSymbol.text;
  static constexpr int kVersion = kCudaVersion;
};

// The two found by dlsym: every driver exports them by name (the plain "cuGetProcAddress" is
// CUDA 11.3's ABI, without the symbol status).
using DriverGetVersion = Entry<"cuDriverGetVersion", 2020, Status (*)(int* version)>;
using GetProcAddress = Entry<"cuGetProcAddress_v2", 12000,
                             Status (*)(const char* symbol, void** fn, int cuda_version, uint64_t flags,
                                        ProcAddressQuery* status)>;
// The rest, through cuGetProcAddress_v2.
using GetErrorName = Entry<"cuGetErrorName", 6000, Status (*)(Status error, const char** name)>;
using Init = Entry<"cuInit", 2000, Status (*)(unsigned flags)>;
using DeviceGetCount = Entry<"cuDeviceGetCount", 2000, Status (*)(int* count)>;
using DeviceGet = Entry<"cuDeviceGet", 2000, Status (*)(Device* device, int ordinal)>;
using DeviceGetName = Entry<"cuDeviceGetName", 2000, Status (*)(char* name, int len, Device device)>;
using DeviceGetAttribute =
    Entry<"cuDeviceGetAttribute", 2000, Status (*)(int* value, DeviceAttribute attribute, Device device)>;
using DeviceGetPciBusId = Entry<"cuDeviceGetPCIBusId", 4010, Status (*)(char* bus_id, int len, Device device)>;
using DevicePrimaryCtxRetain = Entry<"cuDevicePrimaryCtxRetain", 7000, Status (*)(Context* context, Device device)>;
// 11.0's ABI (_v2), as CUDA 12 headers call it.
using DevicePrimaryCtxRelease = Entry<"cuDevicePrimaryCtxRelease", 11000, Status (*)(Device device)>;
using CtxSetCurrent = Entry<"cuCtxSetCurrent", 4000, Status (*)(Context context)>;
// 2.0's ABI, without an argument (13.0's takes a context).
using CtxSynchronize = Entry<"cuCtxSynchronize", 2000, Status (*)()>;
// 3.2's ABI (_v2): 64-bit device pointers and sizes.
using MemAlloc = Entry<"cuMemAlloc", 3020, Status (*)(DevicePtr* ptr, size_t bytes)>;
using MemFree = Entry<"cuMemFree", 3020, Status (*)(DevicePtr ptr)>;
using MemcpyHtoD = Entry<"cuMemcpyHtoD", 3020, Status (*)(DevicePtr dst, const void* src, size_t bytes)>;
using MemcpyDtoH = Entry<"cuMemcpyDtoH", 3020, Status (*)(void* dst, DevicePtr src, size_t bytes)>;
using MemsetD8 = Entry<"cuMemsetD8", 3020, Status (*)(DevicePtr dst, unsigned char value, size_t count)>;
using MemsetD32 = Entry<"cuMemsetD32", 3020, Status (*)(DevicePtr dst, unsigned value, size_t count)>;
using PointerSetAttribute =
    Entry<"cuPointerSetAttribute", 6000, Status (*)(const void* value, PointerAttribute attribute, DevicePtr ptr)>;
// Optional ones: dma-buf export, and the RDMA-writes flush.
using MemGetHandleForAddressRange =
    Entry<"cuMemGetHandleForAddressRange", 11070,
          Status (*)(void* handle, DevicePtr ptr, size_t bytes, MemRangeHandleType type, unsigned long long flags)>;
using FlushGpuDirectRdmaWrites =
    Entry<"cuFlushGPUDirectRDMAWrites", 11030, Status (*)(FlushTarget target, FlushScope scope)>;

}  // namespace railcheck::gpudirect::cu
