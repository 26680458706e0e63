// GPU memory for real, on a machine with a GPU (skipped, with the reason, elsewhere): the
// driver loaded at run time, allocation, the pattern copies the data check runs, the flush
// decision, and registration with the NIC, which without an RDMA device must fail cleanly with
// the reason. Each test prints what it did, so a run on a lent GPU machine can be recorded
// (scripts/gpu-check runs it):
//   build/dev/bin/gpudirect_cuda_test --gtest_filter='CudaMemory.*'
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "gpudirect/cuda_driver.hpp"
#include "gpudirect/cuda_memory.hpp"
#include "gpudirect/cuda_probe.hpp"
#include "gpudirect/memory.hpp"
#include "gpudirect/preflight.hpp"
#include "verbs/device.hpp"
#include "verbs/pattern.hpp"
#include "verbs/work.hpp"

namespace railcheck::gpudirect {
namespace {

class CudaMemory : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cuda = probe_cuda();
    if (!cuda) GTEST_SKIP() << "no GPU to test: " << cuda.error().message();
    gpu_ = cuda->gpus[0];
    driver_ = *cuda_driver();
    std::cout << "driver " << cuda->driver_version << " (" << cuda_version_text(cuda->driver_version) << "), "
              << cuda->gpus.size() << " GPU(s); testing GPU " << gpu_.index << " " << gpu_.name << " "
              << gpu_.pci_bus_id << "\n";
  }
  // What the GPU holds, read back with the driver.
  std::vector<uint8_t> copy_back(const CudaAllocation& mem, uint64_t offset, uint64_t bytes) {
    std::vector<uint8_t> host(bytes);
    EXPECT_TRUE(mem.context().make_current().has_value());
    EXPECT_EQ(driver_->fn().memcpy_dtoh(host.data(), reinterpret_cast<cu::DevicePtr>(mem.data() + offset), bytes),
              cu::Status::kSuccess);
    return host;
  }
  void poke(const CudaAllocation& mem, uint64_t offset, uint8_t value) {
    ASSERT_EQ(driver_->fn().memcpy_htod(reinterpret_cast<cu::DevicePtr>(mem.data() + offset), &value, 1),
              cu::Status::kSuccess);
  }
  GpuInfo gpu_;
  const CudaDriver* driver_ = nullptr;
};

TEST_F(CudaMemory, AllocatesAlignedZeroedGpuPages) {
  auto mem = CudaAllocation::allocate(gpu_.index, 100000);
  ASSERT_TRUE(mem.has_value()) << mem.error().message();
  EXPECT_EQ(mem->bytes(), 2 * kGpuPageBytes);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(mem->data()) % kGpuPageBytes, 0u);
  const auto host = copy_back(*mem, 0, mem->bytes());
  EXPECT_EQ(std::ranges::count(host, 0), static_cast<long>(host.size()));
  std::cout << "allocated " << mem->bytes() << " B on GPU " << gpu_.index << "; " << mem->flush().note << "\n";
}

TEST_F(CudaMemory, FillWritesTheHostPattern) {
  auto mem = CudaAllocation::allocate(gpu_.index, 4 * kGpuPageBytes);
  ASSERT_TRUE(mem.has_value()) << mem.error().message();
  const uint64_t offset = kGpuPageBytes, bytes = 70000;
  ASSERT_TRUE(device_fill_pattern(*mem, offset, bytes, 3).has_value());
  std::vector<uint8_t> want(bytes);
  verbs::fill_pattern(want.data(), bytes, 3);
  EXPECT_EQ(copy_back(*mem, offset, bytes), want);
  const auto before = copy_back(*mem, 0, offset);
  EXPECT_EQ(std::ranges::count(before, 0), static_cast<long>(offset)) << "the fill stays inside its region";
  std::cout << "filled and read back " << bytes << " B\n";
}

TEST_F(CudaMemory, CheckFindsTheFirstDifferentByte) {
  auto mem = CudaAllocation::allocate(gpu_.index, 2 * kGpuPageBytes);
  ASSERT_TRUE(mem.has_value()) << mem.error().message();
  const uint64_t bytes = 70000;
  ASSERT_TRUE(device_fill_pattern(*mem, 0, bytes, 3).has_value());
  EXPECT_EQ(device_find_pattern_mismatch(*mem, 0, bytes, 3).value(), std::nullopt);
  EXPECT_TRUE(device_find_pattern_mismatch(*mem, 0, bytes, 4).value().has_value()) << "another QP's pattern";
  poke(*mem, 60001, static_cast<uint8_t>(verbs::pattern_byte(60001, bytes, 3) ^ 0x5a));
  poke(*mem, 54321, static_cast<uint8_t>(verbs::pattern_byte(54321, bytes, 3) ^ 0x5a));
  EXPECT_EQ(device_find_pattern_mismatch(*mem, 0, bytes, 3).value(), 54321u);
  ASSERT_TRUE(device_zero(*mem, 0, bytes).has_value());
  EXPECT_EQ(device_find_pattern_mismatch(*mem, 0, bytes, 3).value(), 0u) << "nothing arrived";
  std::cout << "verified: mismatches found where planted; flush: " << mem->flush().note << "\n";
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
  const unsigned access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
                          IBV_ACCESS_RELAXED_ORDERING;
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
