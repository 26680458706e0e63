// The memory half of the engine's interface: how a run names a memory kind, how a side's
// buffer is described to the peer, and that the description survives the wire.
#include "verbs/memory.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "verbs/endpoint.hpp"
#include "verbs/pattern.hpp"
#include "verbs/work.hpp"

namespace railcheck::verbs {
namespace {

TEST(MemorySpec, KindAndArgumentSplitAtTheFirstColon) {
  EXPECT_EQ(parse_memory_spec("host"), (MemorySpec{.kind = "host", .arg = ""}));
  EXPECT_EQ(parse_memory_spec("host:huge"), (MemorySpec{.kind = "host", .arg = "huge"}));
  EXPECT_EQ(parse_memory_spec("cuda:1"), (MemorySpec{.kind = "cuda", .arg = "1"}));
  EXPECT_EQ(parse_memory_spec("cuda:0000:18:00.0"), (MemorySpec{.kind = "cuda", .arg = "0000:18:00.0"}));
  EXPECT_EQ(to_string(MemorySpec{.kind = "cuda", .arg = "0000:18:00.0"}), "cuda:0000:18:00.0");
  EXPECT_EQ(to_string(MemorySpec{}), "host");
  EXPECT_TRUE(MemorySpec{}.is_host());
  for (const char* bad : {"", ":1", "cuda:", "CUDA", "cu da"}) {
    auto m = parse_memory_spec(bad);
    ASSERT_FALSE(m.has_value()) << bad;
    EXPECT_EQ(m.error().code, Errc::kInvalidArgument);
    EXPECT_EQ(m.error().what, std::string("memory \"") + bad + "\"");
  }
}

TEST(GpuReg, ParsesTheThreeWays) {
  EXPECT_EQ(parse_gpu_reg("auto"), GpuReg::kAuto);
  EXPECT_EQ(parse_gpu_reg("dmabuf"), GpuReg::kDmabuf);
  EXPECT_EQ(parse_gpu_reg("peermem"), GpuReg::kPeermem);
  EXPECT_EQ(parse_gpu_reg("dma-buf").error().message(), "GPU registration \"dma-buf\"; use auto, dmabuf or peermem");
}

TEST(MemoryInfo, GpuFieldsTravelOnlyForAGpu) {
  EXPECT_EQ(to_json(MemoryInfo{}), (nlohmann::json{{"kind", "host"}, {"registration", "ibv_reg_mr"}}));
  MemoryInfo gpu{.kind = "cuda",
                 .registration = "peermem",
                 .registration_note = "dma-buf failed: ...",
                 .huge_pages = false,
                 .gpu = 3,
                 .gpu_name = "NVIDIA H100 80GB HBM3",
                 .gpu_pci_address = "0000:5d:00.0",
                 .gpu_distance = "PIX",
                 .gpu_choice = "nearest to mlx5_13 (PIX)"};
  auto back = memory_info_from_json(to_json(gpu));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(*back, gpu);
  auto bad = memory_info_from_json(nlohmann::json{{"kind", "cuda"}});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Errc::kProtocol);
}

TEST(EndpointInfo, CarriesTheBuffersMemory) {
  EndpointInfo e{.device = "mlx5_10", .link_layer = "Ethernet", .lid = 0, .gid = "::ffff:172.16.11.10",
                 .gid_index = 3, .gid_type = "RoCEv2", .mtu_bytes = 4096, .rkey = 0x1234, .rx_addr = 0x7f0000010000,
                 .region_bytes = 65536, .qps = {{.qpn = 17, .psn = 99}},
                 .memory = {.kind = "cuda", .registration = "dmabuf", .registration_note = {}, .huge_pages = false,
                            .gpu = 0, .gpu_name = {}, .gpu_pci_address = "0000:19:00.0", .gpu_distance = "PIX",
                            .gpu_choice = {}},
                 .max_qp_rd_atom = 16, .max_qp_init_rd_atom = 16, .pkey_index = 2, .inline_bytes = 0,
                 .relaxed_ordering = true, .scatter_to_cqe = "off", .cpu = 5, .numa_node = 0,
                 .placement_note = {}};
  auto back = endpoint_from_json(to_json(e));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(back->memory, e.memory);
  EXPECT_EQ(back->rx_addr, e.rx_addr);
  EXPECT_EQ(back->max_qp_rd_atom, 16);
  EXPECT_EQ(back->pkey_index, 2);
  EXPECT_EQ(back->scatter_to_cqe, "off");
  EXPECT_TRUE(back->relaxed_ordering);
  EXPECT_EQ(back->cpu, 5);
  EXPECT_EQ(back->numa_node, 0);
}

TEST(DataPattern, OneDefinitionForHostAndDevice) {
  static_assert(pattern_byte(0, 2, 0) == 2, "usable at compile time, as the kernels use it");
  std::vector<uint8_t> buf(1000);
  fill_pattern(buf.data(), buf.size(), 5);
  for (size_t i = 0; i < buf.size(); ++i) ASSERT_EQ(buf[i], pattern_byte(i, buf.size(), 5)) << i;
}

}  // namespace
}  // namespace railcheck::verbs
