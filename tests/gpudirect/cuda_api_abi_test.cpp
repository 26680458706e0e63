// gpudirect/cuda_api.hpp, railcheck's own declaration of the driver API it calls, against
// NVIDIA's cuda.h and cudaTypedefs.h (built only where a toolkit is installed): every enum
// value, every type, and every entry point's signature at the CUDA version railcheck asks
// cuGetProcAddress for (the PFN_<name>_v<version> typedef must exist and be the same type).
// The checks are static_asserts: if this file compiles, the header matches.
#include <cuda.h>
#include <cudaTypedefs.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <string_view>
#include <type_traits>

#include "gpudirect/cuda_api.hpp"

namespace railcheck::gpudirect {
namespace {

// cuda.h's type for each of railcheck's.
template <class T>
struct Real {
  using type = T;
};
template <class T>
struct Real<T*> {
  using type = typename Real<T>::type*;
};
template <class T>
struct Real<const T> {
  using type = const typename Real<T>::type;
};
template <class R, class... A>
struct Real<R (*)(A...)> {
  using type = typename Real<R>::type (*)(typename Real<A>::type...);
};
#define RAILCHECK_REAL(ours, theirs) \
  template <>                          \
  struct Real<ours> {                  \
    using type = theirs;               \
  }
RAILCHECK_REAL(cu::Status, CUresult);
RAILCHECK_REAL(cu::DeviceAttribute, CUdevice_attribute);
RAILCHECK_REAL(cu::PointerAttribute, CUpointer_attribute);
RAILCHECK_REAL(cu::MemRangeHandleType, CUmemRangeHandleType);
RAILCHECK_REAL(cu::FlushTarget, CUflushGPUDirectRDMAWritesTarget);
RAILCHECK_REAL(cu::FlushScope, CUflushGPUDirectRDMAWritesScope);
RAILCHECK_REAL(cu::ProcAddressQuery, CUdriverProcAddressQueryResult);
#undef RAILCHECK_REAL

// The plain types are cuda.h's own.
static_assert(std::is_same_v<cu::Device, CUdevice>);
static_assert(std::is_same_v<cu::DevicePtr, CUdeviceptr>);
static_assert(std::is_same_v<cu::Context, CUcontext>);
static_assert(std::is_same_v<uint64_t, cuuint64_t>);
static_assert(sizeof(cu::Status) == sizeof(CUresult));
static_assert(sizeof(cu::DeviceAttribute) == sizeof(CUdevice_attribute));

// Entry `entry` (cuda_api.hpp) is `name` at `version`: its pointer type is NVIDIA's
// PFN_<name>_v<version>. (`name` only pasted or stringized: cuda.h defines some as macros.)
#define RAILCHECK_SAME_ENTRY(entry, name, version)                                                  \
  static_assert(std::is_same_v<Real<cu::entry::Fn>::type, PFN_##name##_v##version>, #name " ABI"); \
  static_assert(cu::entry::kVersion == (version), #name " version");                                \
  static_assert(std::string_view(cu::entry::kName) == #name, #name " name")

RAILCHECK_SAME_ENTRY(DriverGetVersion, cuDriverGetVersion, 2020);
RAILCHECK_SAME_ENTRY(GetErrorName, cuGetErrorName, 6000);
RAILCHECK_SAME_ENTRY(Init, cuInit, 2000);
RAILCHECK_SAME_ENTRY(DeviceGetCount, cuDeviceGetCount, 2000);
RAILCHECK_SAME_ENTRY(DeviceGet, cuDeviceGet, 2000);
RAILCHECK_SAME_ENTRY(DeviceGetName, cuDeviceGetName, 2000);
RAILCHECK_SAME_ENTRY(DeviceGetAttribute, cuDeviceGetAttribute, 2000);
RAILCHECK_SAME_ENTRY(DeviceGetPciBusId, cuDeviceGetPCIBusId, 4010);
RAILCHECK_SAME_ENTRY(DevicePrimaryCtxRetain, cuDevicePrimaryCtxRetain, 7000);
RAILCHECK_SAME_ENTRY(DevicePrimaryCtxRelease, cuDevicePrimaryCtxRelease, 11000);
RAILCHECK_SAME_ENTRY(CtxSetCurrent, cuCtxSetCurrent, 4000);
RAILCHECK_SAME_ENTRY(CtxSynchronize, cuCtxSynchronize, 2000);
RAILCHECK_SAME_ENTRY(MemAlloc, cuMemAlloc, 3020);
RAILCHECK_SAME_ENTRY(MemFree, cuMemFree, 3020);
RAILCHECK_SAME_ENTRY(MemcpyHtoD, cuMemcpyHtoD, 3020);
RAILCHECK_SAME_ENTRY(MemcpyDtoH, cuMemcpyDtoH, 3020);
RAILCHECK_SAME_ENTRY(MemsetD8, cuMemsetD8, 3020);
RAILCHECK_SAME_ENTRY(MemsetD32, cuMemsetD32, 3020);
RAILCHECK_SAME_ENTRY(PointerSetAttribute, cuPointerSetAttribute, 6000);
RAILCHECK_SAME_ENTRY(MemGetHandleForAddressRange, cuMemGetHandleForAddressRange, 11070);
RAILCHECK_SAME_ENTRY(FlushGpuDirectRdmaWrites, cuFlushGPUDirectRDMAWrites, 11030);
#undef RAILCHECK_SAME_ENTRY

// cuGetProcAddress is looked up by its exported name: cuda.h maps the API name to it.
static_assert(std::is_same_v<Real<cu::GetProcAddress::Fn>::type, PFN_cuGetProcAddress_v12000>);
static_assert(cu::GetProcAddress::kVersion == 12000);
#define RAILCHECK_STR2(x) #x
#define RAILCHECK_STR(x) RAILCHECK_STR2(x)
static_assert(std::string_view(cu::GetProcAddress::kName) == RAILCHECK_STR(cuGetProcAddress));

template <class A, class B>
constexpr bool same_value(A a, B b) {
  return static_cast<long long>(a) == static_cast<long long>(b);
}

static_assert(same_value(cu::Status::kSuccess, CUDA_SUCCESS));
static_assert(same_value(cu::Status::kErrorInvalidValue, CUDA_ERROR_INVALID_VALUE));
static_assert(same_value(cu::Status::kErrorOutOfMemory, CUDA_ERROR_OUT_OF_MEMORY));
static_assert(same_value(cu::Status::kErrorNotInitialized, CUDA_ERROR_NOT_INITIALIZED));
static_assert(same_value(cu::Status::kErrorNoDevice, CUDA_ERROR_NO_DEVICE));
static_assert(same_value(cu::Status::kErrorInvalidDevice, CUDA_ERROR_INVALID_DEVICE));
static_assert(same_value(cu::Status::kErrorNotFound, CUDA_ERROR_NOT_FOUND));
static_assert(same_value(cu::Status::kErrorNotSupported, CUDA_ERROR_NOT_SUPPORTED));
static_assert(same_value(cu::Status::kErrorSystemDriverMismatch, CUDA_ERROR_SYSTEM_DRIVER_MISMATCH));

static_assert(same_value(cu::DeviceAttribute::kComputeCapabilityMajor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR));
static_assert(same_value(cu::DeviceAttribute::kComputeCapabilityMinor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR));
static_assert(same_value(cu::DeviceAttribute::kGpuDirectRdmaSupported, CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_SUPPORTED));
static_assert(same_value(cu::DeviceAttribute::kGpuDirectRdmaFlushWritesOptions,
                         CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_FLUSH_WRITES_OPTIONS));
static_assert(same_value(cu::DeviceAttribute::kGpuDirectRdmaWritesOrdering,
                         CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_WRITES_ORDERING));
static_assert(same_value(cu::DeviceAttribute::kDmaBufSupported, CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED));
static_assert(same_value(cu::PointerAttribute::kSyncMemops, CU_POINTER_ATTRIBUTE_SYNC_MEMOPS));
static_assert(same_value(cu::MemRangeHandleType::kDmaBufFd, CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD));
static_assert(same_value(cu::FlushOption::kHost, CU_FLUSH_GPU_DIRECT_RDMA_WRITES_OPTION_HOST));
static_assert(same_value(cu::FlushOption::kMemops, CU_FLUSH_GPU_DIRECT_RDMA_WRITES_OPTION_MEMOPS));
static_assert(same_value(cu::WritesOrdering::kNone, CU_GPU_DIRECT_RDMA_WRITES_ORDERING_NONE));
static_assert(same_value(cu::WritesOrdering::kOwner, CU_GPU_DIRECT_RDMA_WRITES_ORDERING_OWNER));
static_assert(same_value(cu::WritesOrdering::kAllDevices, CU_GPU_DIRECT_RDMA_WRITES_ORDERING_ALL_DEVICES));
static_assert(same_value(cu::FlushTarget::kCurrentCtx, CU_FLUSH_GPU_DIRECT_RDMA_WRITES_TARGET_CURRENT_CTX));
static_assert(same_value(cu::FlushScope::kToOwner, CU_FLUSH_GPU_DIRECT_RDMA_WRITES_TO_OWNER));
static_assert(same_value(cu::FlushScope::kToAllDevices, CU_FLUSH_GPU_DIRECT_RDMA_WRITES_TO_ALL_DEVICES));
static_assert(same_value(cu::ProcAddressQuery::kSuccess, CU_GET_PROC_ADDRESS_SUCCESS));
static_assert(same_value(cu::ProcAddressQuery::kSymbolNotFound, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND));
static_assert(same_value(cu::ProcAddressQuery::kVersionNotSufficient, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT));
static_assert(cu::kGetProcAddressDefault == CU_GET_PROC_ADDRESS_DEFAULT);
#if CUDA_VERSION >= 12080
static_assert(cu::kMemRangeFlagDmaBufMappingTypePcie == CU_MEM_RANGE_FLAG_DMA_BUF_MAPPING_TYPE_PCIE);
#endif

// What the static checks above compared against, and the version rules they imply.
TEST(CudaApi, MatchesTheInstalledToolkitsHeaders) {
  std::cout << "checked against cuda.h of CUDA " << CUDA_VERSION / 1000 << "." << CUDA_VERSION % 1000 / 10 << "\n";
  EXPECT_GE(CUDA_VERSION, cu::kMinDriverVersion) << "cudaTypedefs.h with cuGetProcAddress_v2 is CUDA 12.0's";
  // Every entry point railcheck requires is older than the oldest driver it accepts.
  const int required[] = {cu::GetErrorName::kVersion,     cu::Init::kVersion,
                          cu::DeviceGetCount::kVersion,   cu::DeviceGet::kVersion,
                          cu::DeviceGetName::kVersion,    cu::DeviceGetAttribute::kVersion,
                          cu::DeviceGetPciBusId::kVersion, cu::DevicePrimaryCtxRetain::kVersion,
                          cu::DevicePrimaryCtxRelease::kVersion, cu::CtxSetCurrent::kVersion,
                          cu::CtxSynchronize::kVersion,   cu::MemAlloc::kVersion,
                          cu::MemFree::kVersion,          cu::MemcpyHtoD::kVersion,
                          cu::MemcpyDtoH::kVersion,       cu::MemsetD8::kVersion,
                          cu::MemsetD32::kVersion,        cu::PointerSetAttribute::kVersion,
                          cu::MemGetHandleForAddressRange::kVersion, cu::FlushGpuDirectRdmaWrites::kVersion};
  EXPECT_LE(*std::ranges::max_element(required), cu::kMinDriverVersion);
  EXPECT_EQ(cu::GetProcAddress::kVersion, cu::kMinDriverVersion);
  EXPECT_GT(cu::kMemRangeFlagPcieVersion, cu::kMinDriverVersion) << "the PCIe mapping flag is optional";
}

}  // namespace
}  // namespace railcheck::gpudirect
