// The memory kinds without hardware: the kind table's checks, host memory itself, what the
// `cuda` kind says on a machine without a GPU or libcuda (a reason for a waived run, never a
// crash), when the data check flushes RDMA writes, and the GPUDirect preflight over a fake sysfs.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "gpudirect/cuda_driver.hpp"
#include "gpudirect/cuda_memory.hpp"
#include "gpudirect/cuda_probe.hpp"
#include "gpudirect/host_memory.hpp"
#include "gpudirect/memory.hpp"
#include "gpudirect/preflight.hpp"
#include "rail_fixtures.hpp"

namespace railcheck::gpudirect {
namespace {

using topology::testing::TempDir;
using verbs::MemorySpec;

TEST(MemoryKinds, TheTableKnowsHostAndCudaAndTheirArguments) {
  for (const char* ok : {"host", "host:huge", "cuda", "cuda:1", "cuda:0000:18:00.0", "cuda:18:00.0"}) {
    EXPECT_TRUE(check_memory_spec(*verbs::parse_memory_spec(ok)).has_value()) << ok;
  }
  auto unknown = check_memory_spec(MemorySpec{.kind = "rocm", .arg = ""});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().message(), "memory kind \"rocm\"; this railcheck knows host[:huge], cuda[:N|:BUSID]");
  EXPECT_EQ(check_memory_spec(MemorySpec{.kind = "host", .arg = "big"}).error().message(),
            "memory \"host:big\"; write host, or host:huge for 2 MiB pages");
  EXPECT_EQ(check_memory_spec(MemorySpec{.kind = "cuda", .arg = "gpu0"}).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(memory_kinds_usage(), "host[:huge], cuda[:N|:BUSID]");
}

TEST(MemoryKinds, HostIsAlwaysAvailable) { EXPECT_TRUE(memory_available(MemorySpec{}).has_value()); }

// What a GPU test gets on a node without a usable GPU: the probe's reason, as Unsupported.
TEST(MemoryKinds, CudaWithoutAGpuIsUnsupportedWithTheProbesReason) {
  auto probe = probe_cuda();
  if (probe && !probe->gpus.empty()) GTEST_SKIP() << "this machine has a GPU: see gpudirect_cuda_test";
  ASSERT_FALSE(probe.has_value());
  auto avail = memory_available(MemorySpec{.kind = "cuda", .arg = ""});
  ASSERT_FALSE(avail.has_value());
  EXPECT_EQ(avail.error().code, Errc::kUnsupported);
  EXPECT_EQ(avail.error().what, probe.error().what);
  EXPECT_TRUE(avail.error().what.starts_with("no CUDA driver") || avail.error().what.starts_with("CUDA driver too old") ||
              avail.error().what.starts_with("no GPU"))
      << avail.error().what;
  // The factory says the same before touching the (here absent) protection domain.
  auto buf = make_buffer(verbs::BufferRequest{.pd = nullptr, .bytes = 1 << 20, .access = 0, .rdma_device = "mlx5_10",
                                              .memory = MemorySpec{.kind = "cuda", .arg = ""},
                                              .gpu_reg = verbs::GpuReg::kAuto},
                         MemoryOptions{});
  ASSERT_FALSE(buf.has_value());
  EXPECT_EQ(buf.error().code, Errc::kUnsupported);
  EXPECT_EQ(buf.error().what, avail.error().what);
}

// No libcuda.so.1 at all (a node without the NVIDIA driver, a pod the container toolkit did not
// set up, this CI machine): waived with dlopen's own reason and where to look.
TEST(CudaDriver, NoLibcudaIsUnsupportedWithDlopensReasonAndTheFix) {
  auto d = CudaDriver::load("libcuda-absent-railcheck-test.so.1");
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, Errc::kUnsupported);
  EXPECT_EQ(d.error().what,
            "no CUDA driver: dlopen(libcuda-absent-railcheck-test.so.1): libcuda-absent-railcheck-test.so.1: cannot "
            "open shared object file: No such file or directory");
  EXPECT_NE(d.error().hint.find("is this a GPU node"), std::string::npos) << d.error().hint;
  EXPECT_NE(d.error().hint.find("NVIDIA container toolkit"), std::string::npos) << d.error().hint;

  void* real = dlopen(CudaDriver::kLibrary, RTLD_LAZY | RTLD_LOCAL);
  if (real != nullptr) {
    dlclose(real);
    GTEST_SKIP() << "libcuda.so.1 is on this machine: the process driver's reason is not dlopen's";
  }
  auto avail = memory_available(MemorySpec{.kind = "cuda", .arg = "0"});
  ASSERT_FALSE(avail.has_value());
  EXPECT_EQ(avail.error().code, Errc::kUnsupported);
  EXPECT_EQ(avail.error().message(),
            "no CUDA driver: dlopen(libcuda.so.1): libcuda.so.1: cannot open shared object file: No such file or "
            "directory; " + d.error().hint);
  EXPECT_EQ(gpudirect_preflight().driver_error, avail.error().what);
  EXPECT_EQ(gpudirect_preflight().driver_version, 0) << "no driver seen";
}

// When the data check flushes GPUDirect RDMA writes: CUDA's own ordering attribute decides.
TEST(RdmaFlush, OnlyWhereTheGpuDoesNotOrderRdmaWritesAndCanFlush) {
  const int host = static_cast<int>(cu::FlushOption::kHost);
  const int none = static_cast<int>(cu::WritesOrdering::kNone);
  const int owner = static_cast<int>(cu::WritesOrdering::kOwner);
  const int all = static_cast<int>(cu::WritesOrdering::kAllDevices);
  EXPECT_EQ(decide_rdma_flush(owner, host, true).how, RdmaFlush::kNotNeeded) << "Hopper and later";
  EXPECT_EQ(decide_rdma_flush(all, 0, false).how, RdmaFlush::kNotNeeded);
  EXPECT_EQ(decide_rdma_flush(all, 0, false).note,
            "no flush needed before the data check (GPU orders RDMA writes: all devices)");
  const FlushDecision ampere = decide_rdma_flush(none, host, true);
  EXPECT_EQ(ampere.how, RdmaFlush::kFlush);
  EXPECT_EQ(ampere.note, "cuFlushGPUDirectRDMAWrites before the data check (GPU does not order RDMA writes)");
  EXPECT_EQ(decide_rdma_flush(none, 0, true).how, RdmaFlush::kUnavailable) << "the device offers no host flush";
  EXPECT_EQ(decide_rdma_flush(none, host, false).how, RdmaFlush::kUnavailable) << "the driver has no entry point";
  EXPECT_EQ(decide_rdma_flush(std::nullopt, std::nullopt, true).how, RdmaFlush::kUnavailable)
      << "attributes unknown to the driver: no ordering assumed, no flush known";
  EXPECT_EQ(decide_rdma_flush(std::nullopt, host, true).how, RdmaFlush::kFlush);
}

TEST(HostMemory, PageAlignedZeroedAndMovable) {
  const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  auto m = HostMemory::allocate(page + 1, false);
  ASSERT_TRUE(m.has_value()) << m.error().message();
  EXPECT_EQ(m->bytes(), 2 * page);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m->data()) % page, 0u);
  EXPECT_FALSE(m->huge());
  for (uint64_t i = 0; i < m->bytes(); ++i) ASSERT_EQ(m->data()[i], 0) << i;
  uint8_t* data = m->data();
  HostMemory moved = std::move(*m);
  EXPECT_EQ(moved.data(), data);
  EXPECT_EQ(m->data(), nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is the point
}

TEST(HostMemory, HugePagesOrAnErrorNamingWhatToReserve) {
  auto m = HostMemory::allocate(3 << 20, true);
  if (m) {
    EXPECT_EQ(m->bytes(), 4u << 20);
    EXPECT_TRUE(m->huge());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(m->data()) % kHugePageBytes, 0u);
  } else {
    EXPECT_EQ(m.error().code, Errc::kSystem);
    EXPECT_NE(m.error().hint.find("vm.nr_hugepages"), std::string::npos) << m.error().message();
  }
}

TEST(Preflight, PeerMemoryModuleFromSysfs) {
  TempDir root("preflight");
  EXPECT_EQ(loaded_peermem_module(root.path()), "");
  std::filesystem::create_directories(root.path() + "/module/nv_peer_mem");
  EXPECT_EQ(loaded_peermem_module(root.path()), "nv_peer_mem");
  std::filesystem::create_directories(root.path() + "/module/nvidia_peermem");
  EXPECT_EQ(loaded_peermem_module(root.path()), "nvidia_peermem");
  const GpuDirectPreflight pre = gpudirect_preflight(root.path());
  EXPECT_TRUE(pre.cuda_built_in) << "the driver API is loaded at run time: always built in";
  EXPECT_TRUE(pre.peermem_loaded());
  auto probe = probe_cuda();
  EXPECT_EQ(pre.driver_present(), probe.has_value());
  if (!probe) {
    EXPECT_EQ(pre.driver_error, probe.error().what);
    EXPECT_TRUE(pre.gpus.empty());
    EXPECT_FALSE(pre.dmabuf_supported());
    EXPECT_FALSE(pre.can_register_gpu_memory()) << "no GPU: nothing to register, whatever the module";
  } else {
    EXPECT_EQ(pre.gpus.size(), probe->gpus.size());
  }
}

TEST(Preflight, DmabufNeedsEveryGpuToSayYes) {
  GpuDirectPreflight pre;
  EXPECT_FALSE(pre.dmabuf_supported());
  pre.gpus.push_back(GpuPreflight{.ordinal = 0, .name = {}, .pci_bus_id = {}, .dmabuf_supported = true,
                                  .gpudirect_rdma_supported = true});
  EXPECT_TRUE(pre.dmabuf_supported());
  EXPECT_TRUE(pre.can_register_gpu_memory());
  pre.gpus.push_back(GpuPreflight{.ordinal = 1, .name = {}, .pci_bus_id = {}, .dmabuf_supported = std::nullopt,
                                  .gpudirect_rdma_supported = std::nullopt});
  EXPECT_FALSE(pre.dmabuf_supported());
  EXPECT_FALSE(pre.can_register_gpu_memory());
  pre.peermem_module = "nvidia_peermem";
  EXPECT_TRUE(pre.can_register_gpu_memory());
}

}  // namespace
}  // namespace railcheck::gpudirect
