// The setup checks over the sysfs fixtures (fixtures/sysfs) and literal command outputs: for
// each check a passing case and a failing one, with the exact reason the operator reads.
// (Routing: routing_checks_test.cpp; InfiniBand: ib_checks_test.cpp.)
#include "topology/checks.hpp"

#include "rail_fixtures.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace railcheck::topology {
namespace {

namespace fs = std::filesystem;

using namespace testing;  // rail_fixtures.hpp

RailMap map_of(const std::string& shape, const std::string& hwloc) { return build_ok(inputs_for(shape, hwloc)); }

// /proc/driver/nvidia/version of the two kinds of NVIDIA kernel module.
constexpr const char* kOpen =
    "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.127.05  Release Build  "
    "(dvs-builder@U16-I3-B03-4-3)  Tue Oct  8 16:30:26 UTC 2024\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n";
constexpr const char* kProprietary =
    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.183.01  Sun May 12 19:39:15 UTC 2024\n"
    "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n";

// HGX, 8 RoCE rails net1..net8 on mlx5_10..mlx5_17, 172.16.1K.10, each PIX to its GPU.
RailMap hgx() { return map_of("hgx-roce", "hgx-h100-8gpu.xml"); }

const CheckResult* find(const std::vector<CheckResult>& results, const std::string& subject) {
  return find_subject(results, subject);
}

// --- a. rdma_netns_mode ---

TEST(ChecksNetnsMode, ParsesRdmaSystemShow) {
  EXPECT_EQ(parse_rdma_netns_mode("netns exclusive copy-on-fork on\n"), NetnsMode::kExclusive);
  EXPECT_EQ(parse_rdma_netns_mode("netns shared copy-on-fork on\n"), NetnsMode::kShared);
  EXPECT_EQ(parse_rdma_netns_mode(""), NetnsMode::kUnknown);
  EXPECT_EQ(parse_rdma_netns_mode("netns"), NetnsMode::kUnknown);
  EXPECT_EQ(parse_rdma_netns_mode("netns weird"), NetnsMode::kUnknown);
}

TEST(ChecksNetnsMode, ExclusivePassesSharedWarnsUnknownIsWaived) {
  const CheckResult ex = check_rdma_netns_mode(NetnsMode::kExclusive);
  EXPECT_EQ(ex.name, "rdma_netns_mode");
  EXPECT_EQ(ex.verdict, Verdict::kPass);
  EXPECT_EQ(ex.subject, "");
  const CheckResult sh = check_rdma_netns_mode(NetnsMode::kShared);
  EXPECT_EQ(sh.verdict, Verdict::kWarn);
  EXPECT_EQ(sh.reason, "netns shared: every pod on this node sees every RDMA device");
  EXPECT_NE(sh.fix.find("rdma system set netns exclusive"), std::string::npos);
  EXPECT_EQ(check_rdma_netns_mode(NetnsMode::kUnknown).verdict, Verdict::kWaived);
}

// --- b. devices_visible ---

TEST(ChecksDevicesVisible, FixtureSysfsShowsExactlyTheRails) {
  const RailMap map = hgx();
  const auto visible = visible_rdma_devices(shape_dir("hgx-roce") + "/sys");
  ASSERT_EQ(visible.size(), 8u);
  const CheckResult r = check_devices_visible(map, visible, NetnsMode::kExclusive);
  EXPECT_EQ(r.name, "devices_visible");
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.reason;
  EXPECT_EQ(r.reason,
            "exactly the rail devices: mlx5_10, mlx5_11, mlx5_12, mlx5_13, mlx5_14, mlx5_15, mlx5_16, mlx5_17");
}

TEST(ChecksDevicesVisible, MissingDevicesFailByName) {
  const RailMap map = hgx();
  const std::vector<std::string> visible{"mlx5_10", "mlx5_11", "mlx5_12", "mlx5_13", "mlx5_14", "mlx5_15"};
  const CheckResult r = check_devices_visible(map, visible, NetnsMode::kShared);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.reason, "rail devices not visible in the pod: mlx5_16, mlx5_17 (2 of 8)");
  const CheckResult exclusive = check_devices_visible(map, {}, NetnsMode::kExclusive);
  EXPECT_EQ(exclusive.verdict, Verdict::kFail);
  EXPECT_EQ(exclusive.reason,
            "rail devices not visible in the pod: mlx5_10, mlx5_11, mlx5_12, mlx5_13, mlx5_14, mlx5_15, mlx5_16, "
            "mlx5_17 (8 of 8); netns exclusive: a device shows only in the network namespace it was moved to");
  EXPECT_NE(exclusive.fix.find("move each VF's RDMA device into the pod's namespace"), std::string::npos);
}

TEST(ChecksDevicesVisible, ExtraDevicesWarnWhenSharedFailWhenExclusive) {
  const RailMap map = hgx();
  auto visible = visible_rdma_devices(shape_dir("hgx-roce") + "/sys");
  visible.push_back("mlx5_0");
  const CheckResult shared = check_devices_visible(map, visible, NetnsMode::kShared);
  EXPECT_EQ(shared.verdict, Verdict::kWarn);
  EXPECT_EQ(shared.reason, "visible but not a rail: mlx5_0 (netns shared)");
  const CheckResult exclusive = check_devices_visible(map, visible, NetnsMode::kExclusive);
  EXPECT_EQ(exclusive.verdict, Verdict::kFail);
  EXPECT_EQ(exclusive.reason, "visible but not a rail: mlx5_0 (netns exclusive)");
}

TEST(ChecksDevicesVisible, NoSysfsClassInfinibandIsNoDevice) {
  TempDir dir("empty_sys");
  EXPECT_TRUE(visible_rdma_devices(dir.path()).empty());
}

// --- c. port_active ---

TEST(ChecksPortActive, ActiveLinkUpPortsPass) {
  const auto results = check_port_active(hgx());
  ASSERT_EQ(results.size(), 8u);
  for (const CheckResult& r : results) EXPECT_EQ(r.verdict, Verdict::kPass) << r.subject << ": " << r.reason;
  EXPECT_EQ(results[0].name, "port_active");
  EXPECT_EQ(results[0].subject, "net1");
  EXPECT_EQ(results[0].reason, "mlx5_10 port 1: ACTIVE, LINK_UP, Ethernet");
}

TEST(ChecksPortActive, DownPortFailsNamingTheState) {
  RailMap map = hgx();
  map.ports[1].state = "DOWN";
  map.ports[2].phys_state = "DISABLED";
  map.ports[3].rdma_device.reset();
  map.ports[4].link_layer.reset();
  map.ports[5].state.reset();
  const auto results = check_port_active(map);
  EXPECT_EQ(find(results, "net1")->verdict, Verdict::kPass);
  const CheckResult* down = find(results, "net2");
  EXPECT_EQ(down->verdict, Verdict::kFail);
  EXPECT_EQ(down->reason, "mlx5_11 port 1: state DOWN, want ACTIVE");
  EXPECT_FALSE(down->fix.empty());
  EXPECT_EQ(find(results, "net3")->reason, "mlx5_12 port 1: physical state DISABLED, want LINK_UP");
  EXPECT_EQ(find(results, "net4")->reason, "no RDMA device");
  EXPECT_EQ(find(results, "net5")->reason, "mlx5_14 port 1: no link layer");
  EXPECT_EQ(find(results, "net6")->reason, "mlx5_15 port 1: port state unknown");
  for (const std::string ifc : {"net2", "net3", "net4", "net5", "net6"}) {
    EXPECT_EQ(find(results, ifc)->verdict, Verdict::kFail) << ifc;
  }
}

// --- d. interface_addressing ---

TEST(ChecksAddressing, RoceRailsHaveTheirRoceV2Gid) {
  const auto results = check_interface_addressing(hgx());
  ASSERT_EQ(results.size(), 8u);
  for (const CheckResult& r : results) EXPECT_EQ(r.verdict, Verdict::kPass) << r.subject << ": " << r.reason;
  EXPECT_EQ(results[0].name, "interface_addressing");
  EXPECT_EQ(results[0].reason, "172.16.11.10, RoCEv2 GID ::ffff:172.16.11.10");
}

TEST(ChecksAddressing, NoIpv4OrNoRoceV2GidFails) {
  RailMap map = hgx();
  map.ports[0].ips = {"fd00::1"};
  map.ports[1].ips.clear();
  RailPort& p = map.ports[2];
  p.gids = {RailGid{.index = 0, .gid = "fe80::1", .type = "RoCEv1", .netdev = "net3"},
            RailGid{.index = 3, .gid = "::ffff:172.16.13.10", .type = "RoCEv1", .netdev = "net3"}};
  const auto results = check_interface_addressing(map);
  EXPECT_EQ(find(results, "net1")->verdict, Verdict::kFail);
  EXPECT_EQ(find(results, "net1")->reason, "no IPv4 address: fd00::1");
  EXPECT_EQ(find(results, "net2")->reason, "no IP address");
  const CheckResult* gid = find(results, "net3");
  EXPECT_EQ(gid->verdict, Verdict::kFail);
  EXPECT_EQ(gid->reason, "no RoCEv2 GID for 172.16.13.10: mlx5_12 has 0 fe80::1 RoCEv1, 3 ::ffff:172.16.13.10 RoCEv1");
  EXPECT_EQ(find(results, "net4")->verdict, Verdict::kPass);
}

TEST(ChecksAddressing, InfinibandNeedsOnlyAnIpv4) {
  const RailMap map = map_of("ib-sriov", "hgx-h100-8gpu.xml");
  const auto results = check_interface_addressing(map);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(map.ports[0].link_layer, "InfiniBand");
  EXPECT_EQ(results[0].verdict, Verdict::kPass);
  EXPECT_EQ(results[0].reason, "192.168.101.10");
  EXPECT_EQ(results[1].reason, "192.168.102.10");
}

// --- e. memlock ---

TEST(ChecksMemlock, ParsesCapEff) {
  EXPECT_EQ(parse_cap_eff("Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t00000000a80425fb\n"), 0xa80425fbu);
  EXPECT_EQ(parse_cap_eff("Name:\tx\n"), std::nullopt);
  EXPECT_EQ(parse_cap_eff("NotCapEff:\t1\n"), std::nullopt);
}

TEST(ChecksMemlock, UnlimitedLargeEnoughOrIpcLockPasses) {
  const RailMap map = hgx();  // 8 rails: 512 MiB needed
  const CheckResult unlimited = check_memlock(map, MemlockFacts{});
  EXPECT_EQ(unlimited.name, "memlock");
  EXPECT_EQ(unlimited.verdict, Verdict::kPass);
  EXPECT_EQ(unlimited.reason, "RLIMIT_MEMLOCK unlimited");
  const CheckResult big = check_memlock(map, MemlockFacts{.rlimit_bytes = 1ull << 30, .proc_status = ""});
  EXPECT_EQ(big.verdict, Verdict::kPass);
  EXPECT_EQ(big.reason, "RLIMIT_MEMLOCK 1024 MiB >= 512 MiB needed (64 MiB x 8 rails)");
  // The default docker CapEff (a80425fb) lacks bit 14; a80465fb has it.
  const CheckResult cap =
      check_memlock(map, MemlockFacts{.rlimit_bytes = 8ull << 20, .proc_status = "CapEff:\t00000000a80465fb\n"});
  EXPECT_EQ(cap.verdict, Verdict::kPass);
  EXPECT_EQ(cap.reason, "CAP_IPC_LOCK (RLIMIT_MEMLOCK 8 MiB < 512 MiB needed (64 MiB x 8 rails))");
}

TEST(ChecksMemlock, SmallLimitWithoutIpcLockFailsWithTheFix) {
  const RailMap map = hgx();
  const CheckResult r = check_memlock(
      map, MemlockFacts{.rlimit_bytes = 8ull << 20, .proc_status = "CapEff:\t00000000a80425fb\n",
                        .per_rail_bytes = 32ull << 20});
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.reason, "RLIMIT_MEMLOCK 8 MiB < 256 MiB needed (32 MiB x 8 rails) and no CAP_IPC_LOCK");
  EXPECT_NE(r.fix.find("IPC_LOCK"), std::string::npos);
  EXPECT_NE(r.fix.find("ulimit -l"), std::string::npos);
}

// --- f. policy_routes: routing_checks_test.cpp ---

// --- g. gpudirect_ready ---

// The facts with the default thresholds and no CUDA answer.
GpudirectFacts facts_of(const std::string& sysfs_root, const std::string& kernel, const std::string& nvidia) {
  GpudirectFacts f;
  f.sysfs_root = sysfs_root;
  f.kernel_release = kernel;
  f.nvidia_version = nvidia;
  return f;
}

TEST(ChecksGpudirect, NoGpuIsWaived) {
  RailMap map = hgx();
  map.gpus.clear();
  const auto results = check_gpudirect_ready(map, facts_of(shape_dir("hgx-roce") + "/sys", "", ""));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].name, "gpudirect_ready");
  EXPECT_EQ(results[0].verdict, Verdict::kWaived);
  EXPECT_EQ(results[0].reason, "no GPU on this node");
}

TEST(ChecksGpudirect, PeermemLoadedAndPixRailsPass) {
  TempDir sys("peermem");
  fs::create_directories(sys.path() + "/module/nvidia_peermem");
  const auto results = check_gpudirect_ready(hgx(), facts_of(sys.path(), "", ""));
  ASSERT_EQ(results.size(), 9u);
  EXPECT_EQ(results[0].subject, "");
  EXPECT_EQ(results[0].verdict, Verdict::kPass);
  EXPECT_EQ(results[0].reason, "nvidia_peermem loaded");
  EXPECT_EQ(find(results, "net1")->verdict, Verdict::kPass);
  EXPECT_EQ(find(results, "net1")->reason, "nearest GPU0 (0000:19:00.0) is PIX");
}

TEST(ChecksGpudirect, NoPeermemFailsFarRailsWarnOrFail) {
  RailMap map = hgx();
  map.ports[1].nearest_gpu->path = PathClass::kNode;
  map.ports[2].nearest_gpu->path = PathClass::kSys;
  map.ports[3].nearest_gpu.reset();
  const auto results = check_gpudirect_ready(map, facts_of(shape_dir("hgx-roce") + "/sys", "6.8.0-45-generic", kProprietary));
  EXPECT_EQ(results[0].verdict, Verdict::kFail);
  EXPECT_EQ(results[0].reason,
            "nvidia_peermem not loaded, and dma-buf not possible: the proprietary NVIDIA kernel module 535.183.01 "
            "exports no dma-buf (the open one does)");
  EXPECT_NE(results[0].fix.find("modprobe nvidia_peermem"), std::string::npos);
  EXPECT_NE(results[0].fix.find("driver.kernelModuleType=open"), std::string::npos);
  EXPECT_EQ(find(results, "net2")->verdict, Verdict::kWarn);
  EXPECT_EQ(find(results, "net2")->reason,
            "nearest GPU1 (0000:3b:00.0) is NODE: GPUDirect RDMA crosses the host bridge");
  EXPECT_EQ(find(results, "net3")->verdict, Verdict::kFail);
  EXPECT_EQ(find(results, "net3")->reason,
            "nearest GPU2 (0000:4c:00.0) is SYS: GPUDirect RDMA crosses CPU sockets");
  EXPECT_EQ(find(results, "net4")->verdict, Verdict::kWaived);
}

TEST(ChecksGpudirect, DmabufNeedsTheOpenModuleAndKernel512) {
  const DmabufIndication ok = dmabuf_indication("6.8.0-45-generic", kOpen);
  EXPECT_TRUE(ok.possible);
  EXPECT_EQ(ok.reason, "kernel 6.8.0-45-generic >= 5.12, NVIDIA open kernel module 550.127.05");
  const DmabufIndication old = dmabuf_indication("5.10.0-28-amd64", kOpen);
  EXPECT_FALSE(old.possible);
  EXPECT_EQ(old.reason, "kernel 5.10.0-28-amd64 < 5.12 has no RDMA dma-buf memory regions");
  EXPECT_TRUE(dmabuf_indication("5.12.0", kOpen).possible);
  const DmabufIndication none = dmabuf_indication("", "");
  EXPECT_FALSE(none.possible);
  EXPECT_EQ(none.reason, "kernel release unknown; no NVIDIA driver visible (/proc/driver/nvidia/version)");
  EXPECT_EQ(dmabuf_indication("bogus", kOpen).reason, "kernel release 'bogus' unreadable");
}

TEST(ChecksGpudirect, DmabufPossibleWithoutPeermemPasses) {
  const auto results = check_gpudirect_ready(hgx(), facts_of(shape_dir("hgx-roce") + "/sys", "6.8.0-45-generic", kOpen));
  EXPECT_EQ(results[0].verdict, Verdict::kPass);
  EXPECT_EQ(results[0].reason,
            "dma-buf possible (kernel 6.8.0-45-generic >= 5.12, NVIDIA open kernel module 550.127.05; no "
            "registration tried); nvidia_peermem not loaded");
  TempDir sys("peermem_dmabuf");
  fs::create_directories(sys.path() + "/module/nv_peer_mem");
  const auto both = check_gpudirect_ready(
      hgx(), facts_of(sys.path(), "6.8.0", kOpen));
  EXPECT_EQ(both[0].reason,
            "nv_peer_mem loaded; dma-buf possible too (kernel 6.8.0 >= 5.12, NVIDIA open kernel module 550.127.05)");
}

TEST(ChecksGpudirect, CudaHasTheLastWordOnDmabuf) {
  const std::string sys = shape_dir("hgx-roce") + "/sys";
  // The kernel and driver say possible, CUDA says the GPUs do not support it: fail.
  GpudirectFacts no = facts_of(sys, "6.8.0", kOpen);
  no.cuda = GpudirectFacts::Cuda{.driver_error = "", .gpus = 8, .dmabuf_supported = false};
  auto r = check_gpudirect_ready(hgx(), no);
  EXPECT_EQ(r[0].verdict, Verdict::kFail);
  EXPECT_NE(r[0].reason.find("CUDA reports no dma-buf support on 8 GPU(s)"), std::string::npos) << r[0].reason;
  // Nothing visible from the kernel side, but CUDA reports support: pass on dma-buf.
  GpudirectFacts yes = facts_of(sys, "", "");
  yes.cuda = GpudirectFacts::Cuda{.driver_error = "", .gpus = 8, .dmabuf_supported = true};
  r = check_gpudirect_ready(hgx(), yes);
  EXPECT_EQ(r[0].verdict, Verdict::kPass);
  EXPECT_NE(r[0].reason.find("CUDA reports dma-buf support on all 8 GPU(s)"), std::string::npos) << r[0].reason;
  // GPUs on the node, none usable in the pod: a warning that GPU tests will be waived, first.
  GpudirectFacts none = facts_of(sys, "6.8.0", kOpen);
  none.cuda = GpudirectFacts::Cuda{.driver_error = "no CUDA driver: cudaErrorInsufficientDriver", .gpus = 0,
                                   .dmabuf_supported = false};
  r = check_gpudirect_ready(hgx(), none);
  EXPECT_EQ(r[0].verdict, Verdict::kWarn);
  EXPECT_EQ(r[0].reason, "no CUDA driver: cudaErrorInsufficientDriver: GPU tests will be waived");
  EXPECT_NE(r[0].fix.find("nvidia.com/gpu"), std::string::npos);
}

TEST(ChecksGpudirect, PathThresholdsAreConfigurable) {
  TempDir sys("peermem_thresholds");
  fs::create_directories(sys.path() + "/module/nvidia_peermem");
  RailMap map = hgx();
  map.ports[0].nearest_gpu->path = PathClass::kPxb;
  map.ports[1].nearest_gpu->path = PathClass::kNode;
  // Strict: PXB already warns, NODE fails.
  GpudirectFacts strict = facts_of(sys.path(), "", "");
  strict.warn_from = PathClass::kPxb;
  strict.fail_from = PathClass::kNode;
  auto r = check_gpudirect_ready(map, strict);
  EXPECT_EQ(find(r, "net1")->verdict, Verdict::kWarn);
  EXPECT_EQ(find(r, "net1")->reason, "nearest GPU0 (0000:19:00.0) is PXB: GPUDirect RDMA crosses several PCIe bridges");
  EXPECT_EQ(find(r, "net2")->verdict, Verdict::kFail);
  EXPECT_EQ(find(r, "net3")->verdict, Verdict::kPass);  // PIX
  // Defaults: PXB passes, NODE warns.
  r = check_gpudirect_ready(map, facts_of(sys.path(), "", ""));
  EXPECT_EQ(find(r, "net1")->verdict, Verdict::kPass);
  EXPECT_EQ(find(r, "net2")->verdict, Verdict::kWarn);
}

TEST(ChecksVerdict, Names) {
  EXPECT_EQ(to_string(Verdict::kPass), "pass");
  EXPECT_EQ(to_string(Verdict::kWarn), "warn");
  EXPECT_EQ(to_string(Verdict::kFail), "fail");
  EXPECT_EQ(to_string(Verdict::kWaived), "waived");
}

}  // namespace
}  // namespace railcheck::topology
