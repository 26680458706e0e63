// GPU memory for real, on a machine with a GPU (skipped, with the reason, elsewhere):
// allocation, the pattern kernels the data check runs, and registration with the NIC, which
// without an RDMA device must fail cleanly with the reason. Each test prints what it did, so
// a run on a lent GPU machine can be recorded:
//   build/dev/bin/gpudirect_cuda_test --gtest_filter='CudaMemory.*'
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <iostream>
#include <vector>

#include "gpudirect/cuda_memory.hpp"
#include "gpudirect/cuda_probe.hpp"
#include "gpudirect/memory.hpp"
#include "gpudirect/preflight.hpp"
#include "verbs/device.hpp"
#include "verbs/work.hpp"

namespace railcheck::gpudirect {
namespace {

class CudaMemory : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cuda = probe_cuda();
    if (!cuda) GTEST_SKIP() << "no GPU to test: " << cuda.error().message();
    if (cuda->gpus.empty()) GTEST_SKIP() << "no GPU to test: CUDA sees none";
    gpu_ = cuda->gpus[0];
  }
  std::vector<uint8_t> copy_back(const CudaAllocation& mem, uint64_t offset, uint64_t bytes) {
    std::vector<uint8_t> host(bytes);
    EXPECT_EQ(cudaMemcpy(host.data(), mem.data() + offset, bytes, cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }
  GpuInfo gpu_;
};

TEST_F(CudaMemory, AllocatesAlignedZeroedGpuPages) {
  auto mem = CudaAllocation::allocate(gpu_.index, 100000);
  ASSERT_TRUE(mem.has_value()) << mem.error().message();
  EXPECT_EQ(mem->bytes(), 2 * kGpuPageBytes);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(mem->data()) % kGpuPageBytes, 0u);
  cudaPointerAttributes attr{};
  ASSERT_EQ(cudaPointerGetAttributes(&attr, mem->data()), cudaSuccess);
  EXPECT_EQ(attr.type, cudaMemoryTypeDevice);
  EXPECT_EQ(attr.device, gpu_.index);
  const auto host = copy_back(*mem, 0, mem->bytes());
  EXPECT_EQ(std::ranges::count(host, 0), static_cast<long>(host.size()));
  std::cout << "allocated " << mem->bytes() << " B on GPU " << gpu_.index << " (" << gpu_.name << ", "
            << gpu_.pci_bus_id << ")\n";
}

TEST_F(CudaMemory, FillKernelWritesTheHostPattern) {
  auto mem = CudaAllocation::allocate(gpu_.index, 4 * kGpuPageBytes);
  ASSERT_TRUE(mem.has_value()) << mem.error().message();
  const uint64_t offset = kGpuPageBytes, bytes = 70000;
  ASSERT_TRUE(device_fill_pattern(*mem, offset, bytes, 3).has_value());
  std::vector<uint8_t> want(bytes);
  verbs::fill_pattern(want.data(), bytes, 3);
  EXPECT_EQ(copy_back(*mem, offset, bytes), want);
  const auto before = copy_back(*mem, 0, offset);
  EXPECT_EQ(std::ranges::count(before, 0), static_cast<long>(offset)) << "the kernel stays inside its region";
}

TEST_F(CudaMemory, CheckKernelFindsTheFirstDifferentByte) {
  auto mem = CudaAllocation::allocate(gpu_.index, 2 * kGpuPageBytes);
  ASSERT_TRUE(mem.has_value()) << mem.error().message();
  const uint64_t bytes = 70000;
  ASSERT_TRUE(device_fill_pattern(*mem, 0, bytes, 3).has_value());
  EXPECT_EQ(device_find_pattern_mismatch(*mem, 0, bytes, 3).value(), std::nullopt);
  EXPECT_TRUE(device_find_pattern_mismatch(*mem, 0, bytes, 4).value().has_value()) << "another QP's pattern";
  ASSERT_EQ(cudaMemset(mem->data() + 60001, 0x5a, 1), cudaSuccess);
  ASSERT_EQ(cudaMemset(mem->data() + 54321, 0x5a, 1), cudaSuccess);
  EXPECT_EQ(device_find_pattern_mismatch(*mem, 0, bytes, 3).value(), 54321u);
  ASSERT_TRUE(device_zero(*mem, 0, bytes).has_value());
  EXPECT_EQ(device_find_pattern_mismatch(*mem, 0, bytes, 3).value(), 0u) << "nothing arrived";
}

// With an RDMA device (RAILCHECK_TEST_RDMA_DEVICE, else the first), every registration path
// either works or says why; without one, opening it fails cleanly with the reason.
TEST_F(CudaMemory, RegistersWithTheNicOrSaysWhyNot) {
  const GpuDirectPreflight pre = gpudirect_preflight();
  std::cout << "preflight: driver " << pre.driver_version << ", " << pre.gpus.size() << " GPU(s), dma-buf "
            << (pre.dmabuf_supported() ? "supported" : "not supported") << ", peer memory module "
            << (pre.peermem_loaded() ? pre.peermem_module : "none") << "\n";
  auto devices = verbs::list_devices();
  const char* named = std::getenv("RAILCHECK_TEST_RDMA_DEVICE");
  std::string device = named != nullptr ? named : (devices && !devices->empty() ? devices->front().name : "");
  auto ctx = verbs::open_device(device);
  if (!ctx) {
    EXPECT_TRUE(ctx.error().code == Errc::kNotFound || ctx.error().code == Errc::kUnsupported ||
                ctx.error().code == Errc::kSystem);
    EXPECT_FALSE(ctx.error().message().empty());
    std::cout << "registration not possible here, as expected without an RDMA device: " << ctx.error().message()
              << "\n";
    return;
  }
  verbs::PdPtr pd(ibv_alloc_pd(ctx->get()));
  ASSERT_TRUE(pd) << "ibv_alloc_pd on " << device;
  const unsigned access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
  for (verbs::GpuReg reg : {verbs::GpuReg::kAuto, verbs::GpuReg::kDmabuf, verbs::GpuReg::kPeermem}) {
    auto buf = make_buffer(verbs::BufferRequest{.pd = pd.get(), .bytes = 1 << 20, .access = access,
                                                .rdma_device = device,
                                                .memory = {.kind = "cuda", .arg = std::to_string(gpu_.index)},
                                                .gpu_reg = reg},
                           MemoryOptions{});
    if (!buf) {
      EXPECT_TRUE(buf.error().code == Errc::kUnsupported || buf.error().code == Errc::kSystem);
      std::cout << "gpu-reg " << verbs::to_string(reg) << " on " << device << ": " << buf.error().message() << "\n";
      continue;
    }
    const verbs::MemoryInfo& info = (*buf)->info();
    EXPECT_EQ(info.kind, "cuda");
    EXPECT_EQ(info.gpu, gpu_.index);
    EXPECT_TRUE(info.registration == "dmabuf" || info.registration == "peermem");
    EXPECT_FALSE((*buf)->host_visible());
    EXPECT_NE((*buf)->mr()->lkey, 0u);
    ASSERT_TRUE((*buf)->fill_pattern(0, 4096, 1).has_value());
    EXPECT_EQ((*buf)->find_pattern_mismatch(0, 4096, 1).value(), std::nullopt);
    std::cout << "gpu-reg " << verbs::to_string(reg) << " on " << device << ": registered through "
              << info.registration << " (" << info.registration_note << ")\n";
  }
}

}  // namespace
}  // namespace railcheck::gpudirect
