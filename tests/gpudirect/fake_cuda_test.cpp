// The real loader (gpudirect/cuda_driver.cpp) over a fake libcuda.so.1 (fake_libcuda.cpp, found
// through LD_LIBRARY_PATH as ctest sets it; RAILCHECK_FAKE_CUDA picks its answers): each way a
// GPU test cannot run gives the waived (Errc::kUnsupported) or failed result with its true
// reason, GPU memory is allocated, filled, checked and flushed as the attributes ask, the
// registration path is chosen as the driver allows (fake MR calls: no RDMA device needed), and
// the railcheck binary says the same. Run by hand:
//   LD_LIBRARY_PATH=build/dev/fake-libcuda build/dev/bin/gpudirect_fake_cuda_test
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "gpudirect/cuda_driver.hpp"
#include "gpudirect/cuda_kind.hpp"
#include "gpudirect/cuda_memory.hpp"
#include "gpudirect/cuda_probe.hpp"
#include "rail_fixtures.hpp"
#include "support/process.hpp"
#include "verbs/pattern.hpp"

namespace railcheck::gpudirect {
namespace {

using testing::run_command;
using topology::testing::TempDir;

// The fake's own counters, from the copy of it the loader opened.
long fake_count(const char* what) {
  void* lib = dlopen(CudaDriver::kLibrary, RTLD_NOW | RTLD_NOLOAD);
  if (lib == nullptr) return -1;
  auto fn = reinterpret_cast<long (*)(const char*)>(dlsym(lib, "railcheck_fake_cuda_count"));
  const long n = fn != nullptr ? fn(what) : -1;
  dlclose(lib);
  return n;
}

class FakeCuda : public ::testing::Test {
 protected:
  // Loads the fake with RAILCHECK_FAKE_CUDA=mode; a test that needs the driver asserts on it.
  Result<CudaDriver> load(const char* mode) {
    ::setenv("RAILCHECK_FAKE_CUDA", mode, 1);
    void* lib = dlopen(CudaDriver::kLibrary, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr || dlsym(lib, "railcheck_fake_cuda_reset") == nullptr) {
      ADD_FAILURE() << "libcuda.so.1 here is not the fake: run through ctest, or with LD_LIBRARY_PATH="
                    << RAILCHECK_FAKE_LIBCUDA_DIR;
    } else {
      reinterpret_cast<void (*)()>(dlsym(lib, "railcheck_fake_cuda_reset"))();
    }
    if (lib != nullptr) dlclose(lib);
    return CudaDriver::load();
  }
  void TearDown() override { ::unsetenv("RAILCHECK_FAKE_CUDA"); }
};

TEST_F(FakeCuda, EntryPointsAreAskedAtTheVersionEachCameIn) {
  auto d = load("ok");
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ(d->version(), 12080);
  EXPECT_EQ(d->version_text(), "the CUDA 12.8 driver (12080)");
  EXPECT_EQ(fake_count("abi_mismatch"), 0) << "an entry point asked at a version of another ABI";
  for (const char* name : {"cuInit", "cuMemAlloc", "cuCtxSynchronize", "cuDevicePrimaryCtxRelease",
                           "cuMemGetHandleForAddressRange", "cuFlushGPUDirectRDMAWrites"}) {
    EXPECT_EQ(fake_count((std::string("asked ") + name).c_str()), 1) << name;
  }
  EXPECT_NE(d->fn().mem_get_handle_for_address_range, nullptr);
  EXPECT_NE(d->fn().flush_gpudirect_rdma_writes, nullptr);
  EXPECT_TRUE(d->usable().has_value());
  EXPECT_EQ(d->error_text("cuMemAlloc", cu::Status::kErrorOutOfMemory), "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (CUresult 2)");
  EXPECT_EQ(d->error_text("cuX", static_cast<cu::Status>(12345)), "cuX: unknown error (CUresult 12345)");
  auto cuda = probe_cuda(*d);
  ASSERT_TRUE(cuda.has_value()) << cuda.error().message();
  ASSERT_EQ(cuda->gpus.size(), 2u);
  EXPECT_EQ(cuda->gpus[1].name, "Fake GPU 1");
  EXPECT_EQ(cuda->gpus[1].pci_bus_id, "0000:3B:00.0");
}

TEST_F(FakeCuda, ADriverOlderThanCuda12IsWaivedWithItsVersionAndTheFix) {
  auto d = load("old_driver");
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, Errc::kUnsupported);
  EXPECT_EQ(d.error().message(),
            "CUDA driver too old: the CUDA 11.8 driver (11080); railcheck needs CUDA 12.0 or newer (cuGetProcAddress_v2); "
            "update the NVIDIA driver on the node to R525 (CUDA 12.0) or newer");
}

TEST_F(FakeCuda, AMissingEntryPointIsWaivedNamingIt) {
  auto d = load("missing_entry");
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, Errc::kUnsupported);
  EXPECT_EQ(d.error().what,
            "the CUDA 12.8 driver (12080) has no cuMemAlloc at CUDA 3.2's ABI (cuGetProcAddress: symbol not found, 500)");
  EXPECT_NE(d.error().hint.find("not the toolkit's stub"), std::string::npos) << d.error().hint;
}

TEST_F(FakeCuda, NoGpuInThePodIsWaivedNamingTheChartsResources) {
  auto d = load("no_device");
  ASSERT_TRUE(d.has_value()) << "the driver loads; cuInit says there is no device";
  auto avail = cuda_available(*d, "");
  ASSERT_FALSE(avail.has_value());
  EXPECT_EQ(avail.error().code, Errc::kUnsupported);
  EXPECT_EQ(avail.error().what,
            "no GPU in this pod: cuInit: CUDA_ERROR_NO_DEVICE (CUresult 100), with the CUDA 12.8 driver (12080)");
  EXPECT_NE(avail.error().hint.find("request nvidia.com/gpu in the chart's resources"), std::string::npos);

  auto zero = load("zero_devices");
  ASSERT_TRUE(zero.has_value());
  auto none = cuda_available(*zero, "");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, Errc::kUnsupported);
  EXPECT_EQ(none.error().what, "no GPU visible to CUDA (the CUDA 12.8 driver (12080))");
}

TEST_F(FakeCuda, ABrokenDriverFailsItIsNotWaived) {
  auto d = load("broken_init");
  ASSERT_TRUE(d.has_value());
  auto avail = cuda_available(*d, "");
  ASSERT_FALSE(avail.has_value());
  EXPECT_EQ(avail.error().code, Errc::kSystem);
  EXPECT_EQ(avail.error().what,
            "the CUDA driver cannot start: cuInit: CUDA_ERROR_SYSTEM_DRIVER_MISMATCH (CUresult 803), with the CUDA 12.8 "
            "driver (12080)");
}

TEST_F(FakeCuda, AnAllocationFailureFailsNamingTheSizeAndTheGpu) {
  auto d = load("alloc_fail");
  ASSERT_TRUE(d.has_value());
  ASSERT_TRUE(cuda_available(*d, "1").has_value()) << "the GPU is there: not a waived case";
  auto buf = allocate_cuda(*d,
                           verbs::BufferRequest{.pd = nullptr, .bytes = 1 << 20, .access = 0, .rdma_device = "mlx5_0",
                                                .memory = {.kind = "cuda", .arg = "1"}, .gpu_reg = verbs::GpuReg::kAuto},
                           MemoryOptions{}, rdma_core_mr_calls());
  ASSERT_FALSE(buf.has_value());
  EXPECT_EQ(buf.error().code, Errc::kSystem);
  EXPECT_EQ(buf.error().message(),
            "GPU 1 (Fake GPU 1, 0000:3b:00.0): cuMemAlloc(1 MiB + 64 KiB for alignment) on GPU 1: CUDA_ERROR_OUT_OF_MEMORY "
            "(CUresult 2); is the GPU's memory taken by another process (nvidia-smi)?");
  EXPECT_EQ(fake_count("retain"), fake_count("release")) << "the primary context is released on failure";
}

TEST_F(FakeCuda, MemoryIsAlignedZeroedFilledAndCheckedThroughCopies) {
  auto d = load("ok");
  ASSERT_TRUE(d.has_value());
  {
    auto mem = CudaAllocation::allocate(*d, 0, 100000);
    ASSERT_TRUE(mem.has_value()) << mem.error().message();
    EXPECT_EQ(mem->bytes(), 2 * kGpuPageBytes);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(mem->data()) % kGpuPageBytes, 0u);
    EXPECT_EQ(fake_count("sync_memops"), 1);
    uint8_t* host = mem->data();  // the fake's device memory is host memory
    EXPECT_EQ(std::count(host, host + mem->bytes(), 0), static_cast<long>(mem->bytes()));
    const uint64_t offset = kGpuPageBytes / 2, bytes = 70000;
    ASSERT_TRUE(device_fill_pattern(*mem, offset, bytes, 3).has_value());
    for (uint64_t i = 0; i < bytes; i += 997) ASSERT_EQ(host[offset + i], verbs::pattern_byte(i, bytes, 3)) << i;
    EXPECT_EQ(host[offset - 1], 0) << "the fill stays inside its region";
    EXPECT_EQ(device_find_pattern_mismatch(*mem, offset, bytes, 3).value(), std::nullopt);
    EXPECT_TRUE(device_find_pattern_mismatch(*mem, offset, bytes, 4).value().has_value()) << "another QP's pattern";
    host[offset + 60001] ^= 0x5a;
    host[offset + 54321] ^= 0x5a;
    EXPECT_EQ(device_find_pattern_mismatch(*mem, offset, bytes, 3).value(), 54321u);
    ASSERT_TRUE(device_zero(*mem, offset + 1, bytes - 1).has_value()) << "an unaligned zero (cuMemsetD8)";
    EXPECT_EQ(device_find_pattern_mismatch(*mem, offset, bytes, 3).value(), 1u);
    CudaAllocation moved = std::move(*mem);
    EXPECT_EQ(moved.data(), host);
    EXPECT_EQ(fake_count("free"), 0);
  }
  EXPECT_EQ(fake_count("alloc"), 1);
  EXPECT_EQ(fake_count("free"), 1) << "freed once, by the allocation that owned it last";
  EXPECT_EQ(fake_count("retain"), 1);
  EXPECT_EQ(fake_count("release"), 1);
}

TEST_F(FakeCuda, TheDataCheckFlushesRdmaWritesWhereTheGpuDoesNotOrderThem) {
  for (const char* mode : {"ok", "unordered", "unordered_noflush"}) {
    auto d = load(mode);
    ASSERT_TRUE(d.has_value());
    auto mem = CudaAllocation::allocate(*d, 0, 4096);
    ASSERT_TRUE(mem.has_value()) << mem.error().message();
    ASSERT_TRUE(device_find_pattern_mismatch(*mem, 0, 4096, 0).has_value());
    ASSERT_TRUE(device_find_pattern_mismatch(*mem, 0, 4096, 0).has_value());
    const bool unordered = std::string(mode) == "unordered";
    EXPECT_EQ(mem->flush().how, unordered ? RdmaFlush::kFlush
                                          : (std::string(mode) == "ok" ? RdmaFlush::kNotNeeded : RdmaFlush::kUnavailable))
        << mode;
    EXPECT_EQ(fake_count("cuFlushGPUDirectRDMAWrites"), unordered ? 2 : 0) << mode << ": once before each check";
  }
}

// Fake MR calls: record what reaches them, hand out an MR the test frees itself.
struct MrRecord {
  int dmabuf_calls = 0;
  int peermem_calls = 0;
  unsigned access = 0;
  bool peermem_fails = false;
};
MrRecord g_mr;

ibv_mr* fake_mr() { return static_cast<ibv_mr*>(std::calloc(1, sizeof(ibv_mr))); }

const MrCalls kFakeMrCalls{
    .reg_mr = [](ibv_pd*, void*, size_t, unsigned access) -> ibv_mr* {
      ++g_mr.peermem_calls;
      g_mr.access = access;
      if (g_mr.peermem_fails) {
        errno = EFAULT;
        return nullptr;
      }
      return fake_mr();
    },
    .reg_dmabuf_mr = [](ibv_pd*, uint64_t, size_t, uint64_t, int, unsigned access) -> ibv_mr* {
      ++g_mr.dmabuf_calls;
      g_mr.access = access;
      return fake_mr();
    },
};

// IBV_ACCESS_RELAXED_ORDERING among them: an optional flag that must reach the NIC's driver.
constexpr unsigned kAccess = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_RELAXED_ORDERING;

class FakeRegistration : public FakeCuda {
 protected:
  // Registers GPU 0 memory of the fake in `mode`; the MR, if any, is freed here.
  Result<CudaRegistration> reg(const char* mode, verbs::GpuReg how, bool peermem_module) {
    g_mr = MrRecord{.dmabuf_calls = 0, .peermem_calls = 0, .access = 0, .peermem_fails = !peermem_module};
    driver_.emplace(load(mode));
    if (!*driver_) return std::unexpected((*driver_).error());
    auto mem = CudaAllocation::allocate(**driver_, 0, 1 << 20);
    if (!mem) return std::unexpected(mem.error());
    if (peermem_module) std::filesystem::create_directories(sysfs_.path() + "/module/nvidia_peermem");
    auto r = register_cuda_memory(nullptr, *mem, kAccess, how, sysfs_.path(), kFakeMrCalls);
    if (r) std::free(r->mr.release());
    return r;
  }
  TempDir sysfs_{"fake-cuda-sysfs"};
  std::optional<Result<CudaDriver>> driver_;
};

TEST_F(FakeRegistration, DmabufFirstMappedThroughPcieWithTheAccessFlagsUnchanged) {
  auto r = reg("ok", verbs::GpuReg::kAuto, false);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->path, "dmabuf");
  EXPECT_EQ(r->note, "peermem not needed: dma-buf worked (PCIe mapping)");
  EXPECT_EQ(fake_count("pcie_flag"), 1);
  EXPECT_EQ(g_mr.dmabuf_calls, 1);
  EXPECT_EQ(g_mr.peermem_calls, 0);
  EXPECT_EQ(g_mr.access, kAccess);
}

TEST_F(FakeRegistration, WithoutThePcieFlagWhereTheDriverPredatesOrRefusesIt) {
  auto old = reg("cuda_12_4", verbs::GpuReg::kDmabuf, false);
  ASSERT_TRUE(old.has_value()) << old.error().message();
  EXPECT_EQ(old->note, "peermem not tried: gpu-reg dmabuf (without the PCIe mapping flag (CUDA 12.4 predates it))");
  EXPECT_EQ(fake_count("pcie_flag"), 0);
  auto refused = reg("refuse_pcie_flag", verbs::GpuReg::kAuto, false);
  ASSERT_TRUE(refused.has_value()) << refused.error().message();
  EXPECT_EQ(refused->path, "dmabuf");
  EXPECT_EQ(refused->note,
            "peermem not needed: dma-buf worked (without the PCIe mapping flag (refused: CUDA_ERROR_INVALID_VALUE "
            "(CUresult 1)))");
}

TEST_F(FakeRegistration, NoDmabufInTheDriverOrTheGpuSoPeermemIsChosen) {
  for (const char* mode : {"no_dmabuf_export", "dmabuf_unsupported"}) {
    auto r = reg(mode, verbs::GpuReg::kAuto, true);
    ASSERT_TRUE(r.has_value()) << mode << ": " << r.error().message();
    EXPECT_EQ(r->path, "peermem") << mode;
    EXPECT_EQ(g_mr.dmabuf_calls, 0) << mode;
    EXPECT_EQ(g_mr.peermem_calls, 1) << mode;
    EXPECT_EQ(g_mr.access, kAccess) << mode;
    EXPECT_EQ(fake_count("dmabuf_export"), 0) << mode;
  }
  auto r = reg("no_dmabuf_export", verbs::GpuReg::kAuto, true);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->note,
            "dma-buf failed: the CUDA 12.8 driver (12080) has no cuMemGetHandleForAddressRange (dma-buf export, CUDA "
            "11.7); update the NVIDIA driver, or load nvidia_peermem for the peermem path");
  auto attr = reg("dmabuf_unsupported", verbs::GpuReg::kAuto, true);
  ASSERT_TRUE(attr.has_value());
  EXPECT_TRUE(attr->note.starts_with("dma-buf failed: GPU 0 does not export dma-buf "
                                     "(CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED = 0, the CUDA 12.8 driver (12080))"))
      << attr->note;
}

TEST_F(FakeRegistration, NeitherPathIsWaivedWithBothReasons) {
  auto only_dmabuf = reg("no_dmabuf_export", verbs::GpuReg::kDmabuf, false);
  ASSERT_FALSE(only_dmabuf.has_value());
  EXPECT_EQ(only_dmabuf.error().code, Errc::kUnsupported) << "the driver is too old for the path asked";
  EXPECT_TRUE(only_dmabuf.error().what.starts_with("the CUDA 12.8 driver (12080) has no cuMemGetHandleForAddressRange"));
  auto neither = reg("dmabuf_unsupported", verbs::GpuReg::kAuto, false);
  ASSERT_FALSE(neither.has_value());
  EXPECT_EQ(neither.error().code, Errc::kUnsupported);
  EXPECT_TRUE(neither.error().what.starts_with("GPU memory cannot be registered with the NIC: dma-buf: GPU 0 does not "
                                               "export dma-buf"))
      << neither.error().what;
  EXPECT_NE(neither.error().what.find("; peermem: ibv_reg_mr(1 MiB of GPU memory): Bad address (errno 14); "
                                      "nvidia_peermem is not loaded"),
            std::string::npos)
      << neither.error().what;
}

// The binary itself, over the fake: what an operator sees for each case.
std::string railcheck(const std::string& mode, const std::string& args) {
  return "RAILCHECK_FAKE_CUDA=" + mode + " " + std::string(RAILCHECK_BIN) + " " + args;
}

TEST(FakeCudaCli, VersionSaysGpudirectIsBuiltInAndWhatTheDriverSees) {
  auto ok = run_command(railcheck("ok", "version"));
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("cuda:       built in (driver API loaded at run time from libcuda.so.1; drivers from CUDA 12.0, "
                        "R525)\n"),
            std::string::npos)
      << ok.out;
  EXPECT_NE(ok.out.find("cuda here:  driver 12080, 2 GPU(s) (CUDA 12.8; dma-buf export in the driver; peer memory "),
            std::string::npos)
      << ok.out;
  EXPECT_NE(ok.out.find("  gpu 1:    Fake GPU 1 0000:3b:00.0 (dma-buf: yes, GPUDirect RDMA: yes)\n"), std::string::npos)
      << ok.out;
  auto old = run_command(railcheck("old_driver", "version"));
  EXPECT_NE(old.out.find("cuda here:  unusable: CUDA driver too old: the CUDA 11.8 driver (11080)"), std::string::npos)
      << old.out;
}

TEST(FakeCudaCli, GpuTestsAreWaivedWithTheTrueReasonExit3) {
  const std::string args = "bw 192.0.2.1 --mem cuda --connect-timeout 1";
  auto no_device = run_command(railcheck("no_device", args));
  EXPECT_EQ(no_device.exit_code, 3) << no_device.err;
  EXPECT_TRUE(no_device.err.starts_with("railcheck bw: waived: no GPU in this pod: cuInit: CUDA_ERROR_NO_DEVICE"))
      << no_device.err;
  auto old = run_command(railcheck("old_driver", args));
  EXPECT_EQ(old.exit_code, 3) << old.err;
  EXPECT_TRUE(old.err.starts_with("railcheck bw: waived: CUDA driver too old: the CUDA 11.8 driver (11080)")) << old.err;
  auto broken = run_command(railcheck("broken_init", args));
  EXPECT_EQ(broken.exit_code, 1) << "a broken driver fails: " << broken.err;
  EXPECT_NE(broken.err.find("CUDA_ERROR_SYSTEM_DRIVER_MISMATCH"), std::string::npos) << broken.err;
}

}  // namespace
}  // namespace railcheck::gpudirect
