// The memory kinds without hardware: the kind table's checks, host memory itself, what the
// `cuda` kind says on a machine without a GPU (a reason for a waived run, never a crash),
// and the GPUDirect preflight over a fake sysfs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/build_info.hpp"
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
  auto avail = memory_available(MemorySpec{.kind = "cuda", .arg = ""});
  ASSERT_FALSE(avail.has_value());
  EXPECT_EQ(avail.error().code, Errc::kUnsupported);
  if (!probe) {
    EXPECT_EQ(avail.error().what, probe.error().what);
  }
  if (build_info().cuda_built_in) {
    EXPECT_TRUE(avail.error().what.starts_with("no CUDA driver") || avail.error().what.starts_with("cuda") ||
                avail.error().what == "no GPU visible to CUDA")
        << avail.error().what;
  } else {
    EXPECT_EQ(avail.error().what, "railcheck was built without CUDA");
  }
  // The factory says the same before touching the (here absent) protection domain.
  auto buf = make_buffer(verbs::BufferRequest{.pd = nullptr, .bytes = 1 << 20, .access = 0, .rdma_device = "mlx5_10",
                                              .memory = MemorySpec{.kind = "cuda", .arg = ""},
                                              .gpu_reg = verbs::GpuReg::kAuto},
                         MemoryOptions{});
  ASSERT_FALSE(buf.has_value());
  EXPECT_EQ(buf.error().code, Errc::kUnsupported);
  EXPECT_EQ(buf.error().what, avail.error().what);
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
  EXPECT_EQ(pre.cuda_built_in, build_info().cuda_built_in);
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
