#include "gpudirect/cuda_driver.hpp"

#include <cuda_runtime_api.h>
#include <fmt/format.h>

namespace railcheck::gpudirect {
namespace {

// Fills `fn` with `symbol` at ABI `version`; false when the driver has no such entry point.
template <class Fn>
bool lookup(const char* symbol, unsigned version, Fn& fn) {
  void* p = nullptr;
  cudaDriverEntryPointQueryResult status{};
  if (cudaGetDriverEntryPointByVersion(symbol, &p, version, cudaEnableDefault, &status) != cudaSuccess ||
      status != cudaDriverEntryPointSuccess || p == nullptr) {
    return false;
  }
  fn = reinterpret_cast<Fn>(p);
  return true;
}

Result<DriverApi> load() {
  DriverApi api;
  const bool ok = lookup("cuGetErrorName", 6000, api.get_error_name) && lookup("cuDeviceGet", 2000, api.device_get) &&
                  lookup("cuDeviceGetAttribute", 2000, api.device_get_attribute) &&
                  lookup("cuPointerSetAttribute", 6000, api.pointer_set_attribute);
  if (!ok) {
    return fail(Errc::kUnsupported, "the CUDA driver lacks basic entry points (cuDeviceGetAttribute ...)",
                "is the NVIDIA driver installed and as new as the CUDA runtime railcheck was built with?");
  }
  (void)lookup("cuMemGetHandleForAddressRange", 11070, api.mem_get_handle_for_address_range);
  return api;
}

}  // namespace

Result<const DriverApi*> driver_api() {
  static const Result<DriverApi> api = load();
  if (!api) return std::unexpected(api.error());
  return &*api;
}

std::string driver_error(const char* call, CUresult rc) {
  const char* name = nullptr;
  auto api = driver_api();
  if (api && (*api)->get_error_name(rc, &name) != CUDA_SUCCESS) name = nullptr;
  return fmt::format("{}: {} (CUresult {})", call, name != nullptr ? name : "unknown error", static_cast<int>(rc));
}

Result<int> device_attribute(int ordinal, CUdevice_attribute attribute) {
  auto api = driver_api();
  if (!api) return std::unexpected(api.error());
  CUdevice dev = 0;
  if (CUresult rc = (*api)->device_get(&dev, ordinal); rc != CUDA_SUCCESS) {
    return fail(Errc::kSystem, driver_error("cuDeviceGet", rc));
  }
  int value = 0;
  if (CUresult rc = (*api)->device_get_attribute(&value, attribute, dev); rc != CUDA_SUCCESS) {
    return fail(Errc::kSystem, driver_error("cuDeviceGetAttribute", rc));
  }
  return value;
}

}  // namespace railcheck::gpudirect
