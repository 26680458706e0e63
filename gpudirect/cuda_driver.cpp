// libcuda.so.1 opened at run time, its entry points resolved at the version each came in.
#include "gpudirect/cuda_driver.hpp"

#include <dlfcn.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <utility>

namespace railcheck::gpudirect {
namespace {

constexpr const char* kNoDriverHint =
    "is this a GPU node, and does the NVIDIA container toolkit mount the driver into this pod (nvidia.com/gpu in "
    "its resources, NVIDIA_DRIVER_CAPABILITIES with compute, the nvidia runtime class)?";
constexpr const char* kOldDriverHint = "update the NVIDIA driver on the node to R525 (CUDA 12.0) or newer";

std::string dl_error() {
  const char* e = dlerror();
  return e != nullptr ? e : "unknown dlopen error";
}

std::string_view query_text(cu::ProcAddressQuery q) {
  switch (q) {
    case cu::ProcAddressQuery::kSuccess: return "found";
    case cu::ProcAddressQuery::kSymbolNotFound: return "symbol not found";
    case cu::ProcAddressQuery::kVersionNotSufficient: return "the driver is too old for it";
  }
  return "unknown status";
}

// Looks entry points up through cuGetProcAddress_v2, each at its own CUDA version.
class Resolver {
 public:
  Resolver(cu::GetProcAddress::Fn get_proc, const CudaDriver& driver) : get_proc_(get_proc), driver_(driver) {}

  template <class Entry>
  Result<void> resolve(typename Entry::Fn& slot, bool required) const {
    void* p = nullptr;
    auto query = cu::ProcAddressQuery::kSymbolNotFound;
    const cu::Status rc = get_proc_(Entry::kName, &p, Entry::kVersion, cu::kGetProcAddressDefault, &query);
    if (rc == cu::Status::kSuccess && query == cu::ProcAddressQuery::kSuccess && p != nullptr) {
      slot = reinterpret_cast<typename Entry::Fn>(p);
      return {};
    }
    slot = nullptr;
    const std::string what =
        fmt::format("{} has no {} at {}'s ABI (cuGetProcAddress: {}, {})", driver_.version_text(), Entry::kName,
                    cuda_version_text(Entry::kVersion), query_text(query), static_cast<int>(rc));
    if (!required) {
      spdlog::debug("{}", what);
      return {};
    }
    return fail(Errc::kUnsupported, what,
                query == cu::ProcAddressQuery::kVersionNotSufficient
                    ? kOldDriverHint
                    : "every driver from CUDA 12.0 has it: is libcuda.so.1 the NVIDIA driver's own (not the toolkit's "
                      "stub or a compat library)?");
  }

 private:
  cu::GetProcAddress::Fn get_proc_;
  const CudaDriver& driver_;
};

Result<void> resolve_all(const Resolver& r, DriverEntryPoints& fn) {
  Result<void> ok;
  auto need = [&]<class Entry>(Entry, typename Entry::Fn& slot) {
    if (ok) ok = r.resolve<Entry>(slot, true);
  };
  need(cu::GetErrorName{}, fn.get_error_name);
  need(cu::Init{}, fn.init);
  need(cu::DeviceGetCount{}, fn.device_get_count);
  need(cu::DeviceGet{}, fn.device_get);
  need(cu::DeviceGetName{}, fn.device_get_name);
  need(cu::DeviceGetAttribute{}, fn.device_get_attribute);
  need(cu::DeviceGetPciBusId{}, fn.device_get_pci_bus_id);
  need(cu::DevicePrimaryCtxRetain{}, fn.primary_ctx_retain);
  need(cu::DevicePrimaryCtxRelease{}, fn.primary_ctx_release);
  need(cu::CtxSetCurrent{}, fn.ctx_set_current);
  need(cu::CtxSynchronize{}, fn.ctx_synchronize);
  need(cu::MemAlloc{}, fn.mem_alloc);
  need(cu::MemFree{}, fn.mem_free);
  need(cu::MemcpyHtoD{}, fn.memcpy_htod);
  need(cu::MemcpyDtoH{}, fn.memcpy_dtoh);
  need(cu::MemsetD8{}, fn.memset_d8);
  need(cu::MemsetD32{}, fn.memset_d32);
  need(cu::PointerSetAttribute{}, fn.pointer_set_attribute);
  if (!ok) return ok;
  // Optional: without them dma-buf (registration) or the flush (data check) is not offered.
  (void)r.resolve<cu::MemGetHandleForAddressRange>(fn.mem_get_handle_for_address_range, false);
  (void)r.resolve<cu::FlushGpuDirectRdmaWrites>(fn.flush_gpudirect_rdma_writes, false);
  return {};
}

}  // namespace

std::string cuda_version_text(int version) { return fmt::format("CUDA {}.{}", version / 1000, version % 1000 / 10); }

void CudaDriver::Closer::operator()(void* handle) const noexcept {
  if (handle != nullptr && dlclose(handle) != 0) spdlog::warn("dlclose(libcuda): {}", dl_error());
}

Result<CudaDriver> CudaDriver::load(const char* library) {
  (void)dlerror();
  void* handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    return fail(Errc::kUnsupported, fmt::format("no CUDA driver: dlopen({}): {}", library, dl_error()), kNoDriverHint);
  }
  CudaDriver d;
  d.library_.reset(handle);
  // Every driver exports these two by name; the rest come through cuGetProcAddress.
  auto get_version = reinterpret_cast<cu::DriverGetVersion::Fn>(dlsym(handle, cu::DriverGetVersion::kName));
  if (get_version == nullptr) {
    return fail(Errc::kUnsupported, fmt::format("no CUDA driver: {} has no {}", library, cu::DriverGetVersion::kName),
                kNoDriverHint);
  }
  if (cu::Status rc = get_version(&d.version_); rc != cu::Status::kSuccess) {
    return fail(Errc::kSystem, fmt::format("cuDriverGetVersion: CUresult {}", static_cast<int>(rc)),
                "check the NVIDIA driver on the node (nvidia-smi)");
  }
  if (d.version_ < cu::kMinDriverVersion) {
    return fail(Errc::kUnsupported,
                fmt::format("CUDA driver too old: {}; railcheck needs {} or newer (cuGetProcAddress_v2)",
                            d.version_text(), cuda_version_text(cu::kMinDriverVersion)),
                kOldDriverHint);
  }
  auto get_proc = reinterpret_cast<cu::GetProcAddress::Fn>(dlsym(handle, cu::GetProcAddress::kName));
  if (get_proc == nullptr) {
    return fail(Errc::kUnsupported, fmt::format("{} has no {}: {}", d.version_text(), cu::GetProcAddress::kName, dl_error()),
                kOldDriverHint);
  }
  if (auto ok = resolve_all(Resolver(get_proc, d), d.fn_); !ok) return std::unexpected(ok.error());
  d.init_ = d.fn_.init(0);
  return d;
}

std::string CudaDriver::version_text() const {
  return fmt::format("the {} driver ({})", cuda_version_text(version_), version_);
}

std::string CudaDriver::error_text(std::string_view call, cu::Status rc) const {
  const char* name = nullptr;
  if (fn_.get_error_name == nullptr || fn_.get_error_name(rc, &name) != cu::Status::kSuccess) name = nullptr;
  return fmt::format("{}: {} (CUresult {})", call, name != nullptr ? name : "unknown error", static_cast<int>(rc));
}

Result<void> CudaDriver::usable() const {
  if (init_ == cu::Status::kSuccess) return {};
  const std::string call = error_text("cuInit", init_);
  if (init_ == cu::Status::kErrorNoDevice) {
    return fail(Errc::kUnsupported, fmt::format("no GPU in this pod: {}, with {}", call, version_text()),
                "request nvidia.com/gpu in the chart's resources (resources.limits) so that a GPU is allocated to "
                "the pod");
  }
  return fail(Errc::kSystem, fmt::format("the CUDA driver cannot start: {}, with {}", call, version_text()),
              "check nvidia-smi and dmesg on the node: the driver library mounted into the pod and the kernel "
              "module must be the same version");
}

Result<int> CudaDriver::device_count() const {
  if (auto ok = usable(); !ok) return std::unexpected(ok.error());
  int count = 0;
  if (cu::Status rc = fn_.device_get_count(&count); rc != cu::Status::kSuccess) {
    return fail(Errc::kSystem, error_text("cuDeviceGetCount", rc));
  }
  return count;
}

Result<cu::Device> CudaDriver::device(int ordinal) const {
  if (auto ok = usable(); !ok) return std::unexpected(ok.error());
  cu::Device dev = 0;
  if (cu::Status rc = fn_.device_get(&dev, ordinal); rc != cu::Status::kSuccess) {
    return fail(Errc::kNotFound, error_text(fmt::format("cuDeviceGet({})", ordinal), rc));
  }
  return dev;
}

Result<int> CudaDriver::attribute(int ordinal, cu::DeviceAttribute attribute) const {
  auto dev = device(ordinal);
  if (!dev) return std::unexpected(dev.error());
  int value = 0;
  if (cu::Status rc = fn_.device_get_attribute(&value, attribute, *dev); rc != cu::Status::kSuccess) {
    // An attribute newer than the driver is CUDA_ERROR_INVALID_VALUE: not there, not broken.
    return fail(rc == cu::Status::kErrorInvalidValue ? Errc::kUnsupported : Errc::kSystem,
                error_text(fmt::format("cuDeviceGetAttribute({})", static_cast<int>(attribute)), rc));
  }
  return value;
}

Result<const CudaDriver*> cuda_driver() {
  static const auto* const driver = new Result<CudaDriver>(CudaDriver::load());  // never freed: see the header
  if (!*driver) return std::unexpected(driver->error());
  return &**driver;
}

Result<PrimaryContext> PrimaryContext::retain(const CudaDriver& driver, int ordinal) {
  auto dev = driver.device(ordinal);
  if (!dev) return std::unexpected(dev.error());
  PrimaryContext c;
  if (cu::Status rc = driver.fn().primary_ctx_retain(&c.context_, *dev); rc != cu::Status::kSuccess) {
    return fail(Errc::kSystem, driver.error_text(fmt::format("cuDevicePrimaryCtxRetain(GPU {})", ordinal), rc),
                "is the GPU in exclusive-process mode and used by another process (nvidia-smi -q | grep Compute)?");
  }
  c.driver_ = &driver;
  c.device_ = *dev;
  return c;
}

PrimaryContext::PrimaryContext(PrimaryContext&& other) noexcept
    : driver_(std::exchange(other.driver_, nullptr)),
      device_(other.device_),
      context_(std::exchange(other.context_, nullptr)) {}

PrimaryContext& PrimaryContext::operator=(PrimaryContext&& other) noexcept {
  if (this != &other) {
    release();
    driver_ = std::exchange(other.driver_, nullptr);
    device_ = other.device_;
    context_ = std::exchange(other.context_, nullptr);
  }
  return *this;
}

PrimaryContext::~PrimaryContext() { release(); }

void PrimaryContext::release() noexcept {
  if (driver_ == nullptr) return;
  if (cu::Status rc = driver_->fn().primary_ctx_release(device_); rc != cu::Status::kSuccess) {
    spdlog::warn("{}", driver_->error_text("cuDevicePrimaryCtxRelease", rc));
  }
  driver_ = nullptr;
  context_ = nullptr;
}

Result<void> PrimaryContext::make_current() const {
  if (driver_ == nullptr) return fail(Errc::kInvalidArgument, "no CUDA context (a moved-from allocation)");
  if (cu::Status rc = driver_->fn().ctx_set_current(context_); rc != cu::Status::kSuccess) {
    return fail(Errc::kSystem, driver_->error_text("cuCtxSetCurrent", rc));
  }
  return {};
}

}  // namespace railcheck::gpudirect
