#pragma once
// The few CUDA driver API calls railcheck makes (device attributes, dma-buf handles, the
// sync-memops pointer attribute), reached through the runtime's
// cudaGetDriverEntryPointByVersion: the binary links only the static CUDA runtime, never
// libcuda, so it starts on nodes without the NVIDIA driver. Built only with CUDA.

#include <cuda.h>
#include <cudaTypedefs.h>

#include <string>

#include "common/error.hpp"

namespace railcheck::gpudirect {

// Entry points at the ABI version each was introduced with, so an older driver serves them.
struct DriverApi {
  PFN_cuGetErrorName_v6000 get_error_name = nullptr;
  PFN_cuDeviceGet_v2000 device_get = nullptr;
  PFN_cuDeviceGetAttribute_v2000 device_get_attribute = nullptr;
  PFN_cuPointerSetAttribute_v6000 pointer_set_attribute = nullptr;
  // nullptr when the driver predates CUDA 11.7 (no dma-buf export then).
  PFN_cuMemGetHandleForAddressRange_v11070 mem_get_handle_for_address_range = nullptr;
};

// Looked up once per process; Errc::kUnsupported when the driver lacks a required one.
Result<const DriverApi*> driver_api();

// "cuDeviceGetAttribute: CUDA_ERROR_INVALID_DEVICE (CUresult 101)".
std::string driver_error(const char* call, CUresult rc);

// A device attribute of CUDA ordinal `ordinal`; an error naming the driver call when it fails.
Result<int> device_attribute(int ordinal, CUdevice_attribute attribute);

}  // namespace railcheck::gpudirect
