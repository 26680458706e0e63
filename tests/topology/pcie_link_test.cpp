// PCIe links: the sysfs texts, the link arithmetic, the hops of a device's path, and the
// pcie_link check over the hgx-links sysfs fixture (a NIC trained at Gen4 x8, a GPU at x8, a
// switch uplink at x8, an idle GPU, a Gen5 NIC behind a Gen4 port, the rest healthy) and, offline,
// over hwloc's link speeds (hgx-roce: healthy; hgx-degraded.xml: a switch uplink at half width).
#include "topology/pcie_link.hpp"

#include "rail_fixtures.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "topology/node_checks.hpp"

namespace railcheck::topology {
namespace {

using namespace testing;  // rail_fixtures.hpp

TEST(LinkSpeedText, EveryKernelSpellingAndUnknown) {
  struct Case {
    const char* text;
    std::optional<double> gts;
  };
  for (const Case& c : std::vector<Case>{{"2.5 GT/s PCIe", 2.5},  {"5.0 GT/s PCIe", 5},   {"8.0 GT/s PCIe", 8},
                                         {"16.0 GT/s PCIe", 16},  {"32.0 GT/s PCIe", 32}, {"64.0 GT/s PCIe\n", 64},
                                         {"2.5 GT/s", 2.5},       {"8 GT/s", 8},          {"16 GT/s\n", 16},
                                         {"Unknown", std::nullopt}, {"Unknown speed\n", std::nullopt},
                                         {"", std::nullopt}}) {
    SCOPED_TRACE(c.text);
    auto gts = parse_link_speed(c.text);
    ASSERT_TRUE(gts.has_value()) << gts.error().message();
    EXPECT_EQ(*gts, c.gts);
  }
  for (const char* bad : {"fast", "32.0 GB/s", "-8 GT/s", "0 GT/s", "8GT/s", "x16"}) {
    SCOPED_TRACE(bad);
    auto gts = parse_link_speed(bad);
    ASSERT_FALSE(gts.has_value());
    EXPECT_EQ(gts.error().code, Errc::kProtocol);
  }
}

TEST(LinkWidthText, LanesZeroIsUnknownGarbageIsAnError) {
  EXPECT_EQ(*parse_link_width("16\n"), 16u);
  EXPECT_EQ(*parse_link_width("1"), 1u);
  EXPECT_EQ(*parse_link_width("0"), std::nullopt);  // a VF's reserved register
  for (const char* bad : {"", "x16", "sixteen", "64", "-1"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(parse_link_width(bad).has_value());
  }
}

// Per direction, after the line encoding and the TLP overhead at a 256-byte payload.
TEST(LinkRate, GenerationsWidthsAndUsableBandwidth) {
  struct Case {
    double gts;
    uint32_t width;
    int gen;
    const char* text;
    double gbytes;
    double usable_gbps;
  };
  for (const Case& c : std::vector<Case>{{2.5, 1, 1, "Gen1 x1", 0.25, 1.83},
                                         {5, 8, 2, "Gen2 x8", 4.0, 29.26},
                                         {8, 16, 3, "Gen3 x16", 15.754, 115.23},
                                         {16, 8, 4, "Gen4 x8", 15.754, 115.23},
                                         {16, 16, 4, "Gen4 x16", 31.508, 230.45},
                                         {32, 8, 5, "Gen5 x8", 31.508, 230.45},
                                         {32, 16, 5, "Gen5 x16", 63.015, 460.91},
                                         {64, 16, 6, "Gen6 x16", 128.0, 888.47}}) {
    SCOPED_TRACE(c.text);
    const PcieLinkState link = pcie_link_state(c.gts, c.width);
    EXPECT_EQ(pcie_generation(c.gts), c.gen);
    EXPECT_EQ(to_string(link), c.text);
    EXPECT_NEAR(link.gbytes_per_s, c.gbytes, 0.001);
    EXPECT_NEAR(pcie_usable_gbps(link), c.usable_gbps, 0.01);
  }
  // hwloc's figure alone: the Gen1-5 overhead.
  EXPECT_EQ(to_string(pcie_link_state(31.507692)), "31.5 GB/s");
  EXPECT_NEAR(pcie_usable_gbps(pcie_link_state(31.507692)), 230.45, 0.01);
  EXPECT_EQ(pcie_generation(20), 0);
  EXPECT_TRUE(pcie_link_state(16, 8).slower_than(pcie_link_state(32, 16)));
  EXPECT_TRUE(pcie_link_state(32, 8).slower_than(pcie_link_state(32, 16)));
  EXPECT_FALSE(pcie_link_state(32, 16).slower_than(pcie_link_state(32, 16)));
  EXPECT_FALSE(pcie_link_state(63.0).slower_than(pcie_link_state(63.015385)));  // within 1%
}

FunctionLink fn(std::string bus, std::optional<PcieLinkState> current, std::optional<PcieLinkState> max) {
  return FunctionLink{.bus_id = std::move(bus), .current = current, .max = max};
}

const PcieLinkState kG5x16 = pcie_link_state(32, 16);
const PcieLinkState kG5x8 = pcie_link_state(32, 8);
const PcieLinkState kG4x8 = pcie_link_state(16, 8);
const PcieLinkState kG4x16 = pcie_link_state(16, 16);

TEST(LinkChain, LinksPairAFunctionWithItsParentPort) {
  // device, switch downstream port, switch upstream port, root port: two links.
  const auto f = link_facts_from_chain({fn("d", kG4x8, kG5x16), fn("dsp", kG4x8, kG5x16), fn("usp", kG5x16, kG5x16),
                                        fn("rp", kG5x16, kG5x16)},
                                       LinkSource::kSysfs, false);
  ASSERT_EQ(f.hops.size(), 2u);
  EXPECT_EQ(f.hops[0].downstream, "d");
  EXPECT_EQ(f.hops[0].upstream, "dsp");
  EXPECT_EQ(f.hops[1].downstream, "usp");
  EXPECT_EQ(f.hops[1].upstream, "rp");
  EXPECT_EQ(to_string(*f.current), "Gen4 x8");
  EXPECT_EQ(to_string(*f.max), "Gen5 x16");
  EXPECT_EQ(to_string(*f.narrowest), "Gen4 x8");
  EXPECT_EQ(f.narrowest_at, "d");

  // The uplink narrower than the device's own link.
  const auto up = link_facts_from_chain({fn("d", kG5x16, kG5x16), fn("dsp", kG5x16, kG5x16), fn("usp", kG5x8, kG5x16),
                                         fn("rp", kG5x8, kG5x16)},
                                        LinkSource::kSysfs, false);
  EXPECT_EQ(to_string(*up.narrowest), "Gen5 x8");
  EXPECT_EQ(up.narrowest_at, "usp");

  // A port that can do less than the device: capable is the smaller of both ends.
  const auto slot = link_facts_from_chain({fn("d", kG4x16, kG5x16), fn("rp", kG4x16, kG4x16)}, LinkSource::kSysfs, false);
  EXPECT_EQ(to_string(*slot.max), "Gen4 x16");
  EXPECT_EQ(to_string(*slot.device_max), "Gen5 x16");

  // A device on the root bus: one link, no upper end.
  const auto alone = link_facts_from_chain({fn("d", kG5x16, kG5x16)}, LinkSource::kSysfs, false);
  ASSERT_EQ(alone.hops.size(), 1u);
  EXPECT_TRUE(alone.hops[0].upstream.empty());
}

TEST(LinkChain, AnIdleGpuIsCountedAtTheSpeedItCanTrainTo) {
  const PcieLinkState idle = pcie_link_state(2.5, 16);
  const auto gpu = link_facts_from_chain({fn("g", idle, kG5x16), fn("dsp", idle, kG5x16)}, LinkSource::kSysfs, true);
  EXPECT_TRUE(gpu.hops[0].idle_speed);
  EXPECT_EQ(to_string(*gpu.current), "Gen1 x16");
  EXPECT_EQ(to_string(*gpu.narrowest), "Gen5 x16");
  // Not for a NIC, and not when the width dropped too.
  const auto nic = link_facts_from_chain({fn("n", idle, kG5x16), fn("dsp", idle, kG5x16)}, LinkSource::kSysfs, false);
  EXPECT_FALSE(nic.hops[0].idle_speed);
  const PcieLinkState narrow = pcie_link_state(2.5, 8);
  const auto x8 = link_facts_from_chain({fn("g", narrow, kG5x16), fn("dsp", narrow, kG5x16)}, LinkSource::kSysfs, true);
  EXPECT_FALSE(x8.hops[0].idle_speed);
}

const CheckResult* find(const std::vector<CheckResult>& results, const std::string& subject) {
  return find_subject(results, subject);
}

TEST(PcieLinkFacts, TheRailMapCarriesEachNicsAndGpusLinkFromSysfs) {
  const RailMap map = build_ok(inputs_for("hgx-links", "hgx-h100-8gpu.xml"));
  ASSERT_EQ(map.ports.size(), 8u);
  const RailPort& net1 = map.ports[0];
  ASSERT_TRUE(net1.pcie_link.has_value());
  EXPECT_EQ(net1.pcie_link->source, LinkSource::kSysfs);
  EXPECT_EQ(net1.pcie_link->device, "0000:18:00.0");  // the PF, not the VF
  ASSERT_EQ(net1.pcie_link->hops.size(), 2u);
  EXPECT_EQ(net1.pcie_link->hops[0].upstream, "0000:17:00.0");
  EXPECT_EQ(net1.pcie_link->hops[1].downstream, "0000:16:00.0");
  EXPECT_EQ(net1.pcie_link->hops[1].upstream, "0000:15:01.0");
  EXPECT_EQ(to_string(*net1.pcie_link->current), "Gen5 x16");
  const RailPort& net2 = map.ports[1];
  EXPECT_EQ(to_string(*net2.pcie_link->current), "Gen4 x8");
  EXPECT_EQ(to_string(*net2.pcie_link->max), "Gen5 x16");
  const RailPort& net4 = map.ports[3];
  EXPECT_EQ(net4.pcie_link->narrowest_at, "0000:5a:00.0");
  EXPECT_EQ(to_string(*net4.pcie_link->narrowest), "Gen5 x8");
  ASSERT_EQ(map.gpus.size(), 8u);
  EXPECT_EQ(to_string(*map.gpus[2].pcie_link->current), "Gen5 x8");
  EXPECT_EQ(to_string(*map.gpus[4].pcie_link->current), "Gen1 x16");
  EXPECT_EQ(to_string(*map.gpus[4].pcie_link->narrowest), "Gen5 x16");  // idle, counted at Gen5
  for (const auto& note : map.notes) EXPECT_EQ(note.find("link"), std::string::npos) << note;
}

TEST(PcieLinkCheck, DegradedNicGpuAndUplinkFailAnIdleGpuAndASlowSlotWarn) {
  const auto results = check_pcie_links(build_ok(inputs_for("hgx-links", "hgx-h100-8gpu.xml")));
  ASSERT_EQ(results.size(), 16u);
  for (const CheckResult& r : results) EXPECT_EQ(r.name, "pcie_link");
  for (const char* ok : {"net1", "net3", "net5", "net7", "net8", "GPU0", "GPU1", "GPU5", "GPU6", "GPU7"}) {
    EXPECT_EQ(find(results, ok)->verdict, Verdict::kPass) << ok << ": " << find(results, ok)->reason;
  }
  EXPECT_EQ(find(results, "net1")->reason,
            "mlx5_10 PF 0000:18:00.0: Gen5 x16 of Gen5 x16, 2 links as fast up to the root port: at most 460 Gb/s "
            "over PCIe");
  const CheckResult* nic = find(results, "net2");
  EXPECT_EQ(nic->verdict, Verdict::kFail);
  EXPECT_EQ(nic->reason,
            "mlx5_11 PF 0000:3a:00.0: its own link trained at Gen4 x8, both ends can do Gen5 x16: at most 115 Gb/s "
            "over PCIe");
  EXPECT_NE(nic->fix.find("reseat"), std::string::npos);
  const CheckResult* gpu = find(results, "GPU2");
  EXPECT_EQ(gpu->verdict, Verdict::kFail);
  EXPECT_EQ(gpu->reason,
            "0000:4c:00.0: its own link trained at Gen5 x8, both ends can do Gen5 x16: at most 230 Gb/s over PCIe");
  const CheckResult* uplink = find(results, "net4");
  EXPECT_EQ(uplink->verdict, Verdict::kFail);
  EXPECT_EQ(uplink->reason,
            "mlx5_13 PF 0000:5c:00.0: the link above it, 0000:5a:00.0 to 0000:59:01.0, trained at Gen5 x8, both ends "
            "can do Gen5 x16: at most 230 Gb/s over PCIe");
  // GPU3 shares that uplink.
  EXPECT_EQ(find(results, "GPU3")->verdict, Verdict::kFail);
  const CheckResult* idle = find(results, "GPU4");
  EXPECT_EQ(idle->verdict, Verdict::kWarn);
  EXPECT_NE(idle->reason.find("trained at Gen1 x16, both ends can do Gen5 x16: a GPU lowers its link speed when idle"),
            std::string::npos)
      << idle->reason;
  EXPECT_NE(idle->fix.find("nvidia-smi -q -d PCIE"), std::string::npos);
  const CheckResult* slot = find(results, "net6");
  EXPECT_EQ(slot->verdict, Verdict::kWarn);
  EXPECT_EQ(slot->reason,
            "mlx5_15 PF 0000:ba:00.0: its own link runs at Gen4 x16: the device can do Gen5 x16, 0000:b9:00.0 only "
            "Gen4 x16: at most 230 Gb/s over PCIe");
}

TEST(PcieLinkCheck, OfflineFromHwlocHealthyLinksPass) {
  const RailMap map = build_ok(inputs_for("hgx-roce", "hgx-h100-8gpu.xml"));
  const auto results = check_pcie_links(map);
  ASSERT_EQ(results.size(), 16u);
  for (const CheckResult& r : results) EXPECT_EQ(r.verdict, Verdict::kPass) << r.subject << ": " << r.reason;
  EXPECT_EQ(map.ports[0].pcie_link->source, LinkSource::kHwloc);
  EXPECT_EQ(find(results, "net1")->reason,
            "mlx5_10 PF 0000:18:00.0: 63.0 GB/s, no slower link above it (hwloc's tree records current links only, "
            "no maximum): at most 460 Gb/s over PCIe");
}

TEST(PcieLinkCheck, OfflineASlowerUplinkWarns) {
  TempDir empty("pcie_offline");
  const RailMap map = build_ok(RailMapInputs{.podinfo_dir = {},
                                             .sysfs_root = empty.path(),
                                             .hwloc_xml = kFixtures + "/hwloc/hgx-degraded.xml",
                                             .env = {},
                                             .non_rail_nics = {}});
  const auto results = check_pcie_links(map);
  ASSERT_EQ(results.size(), 6u);  // no pod here: the node's two rail NICs and its four GPUs
  EXPECT_EQ(find(results, "GPU0")->verdict, Verdict::kPass);
  const CheckResult* nic = find(results, "mlx5_0");
  EXPECT_EQ(nic->verdict, Verdict::kWarn);
  EXPECT_EQ(nic->reason,
            "0000:18:00.0: its own link runs at 15.8 GB/s, slower than the 63.0 GB/s above it (hwloc's tree records "
            "current links only, no maximum): trained down, or a slower device");
  EXPECT_EQ(find(results, "mlx5_1")->verdict, Verdict::kWarn);  // behind the half-width uplink
  EXPECT_EQ(find(results, "mlx5_2"), nullptr);                   // storage: not a rail
  const CheckResult* shared = find(results, "GPU1");
  EXPECT_EQ(shared->verdict, Verdict::kWarn);
  EXPECT_EQ(shared->reason,
            "0000:3b:00.0: the link above it at 0000:38:00.0 runs at 31.5 GB/s, slower than its own 63.0 GB/s "
            "(hwloc's tree records current links only, no maximum): at most 230 Gb/s over PCIe");
  // The node view carries the NICs' links too: mlx5_0 trained at Gen4 x8 below its switch.
  ASSERT_TRUE(map.node.has_value());
  EXPECT_EQ(to_string(*map.node->nics[0].pcie_link->current), "15.8 GB/s");
}

TEST(PcieLinkCheck, UnknownLinksAreWaived) {
  RailMap map;
  map.ports.push_back(RailPort{});
  map.ports[0].interface = "net1";
  map.ports[0].rdma_device = "mlx5_0";
  const auto results = check_pcie_links(map);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].verdict, Verdict::kWaived);
  EXPECT_EQ(results[0].reason, "mlx5_0: link unknown (no link files in sysfs, not in hwloc's tree)");
  EXPECT_EQ(check_pcie_links(RailMap{})[0].verdict, Verdict::kWaived);
}

// Odd sysfs content becomes a note and an unknown link, never an error.
TEST(PcieLinkFacts, OddLinkFilesAreNotesNotErrors) {
  TempDir copy("pcie_odd");
  std::filesystem::copy(shape_dir("hgx-links"), copy.path(),
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  const std::string devices = copy.path() + "/sys/bus/pci/devices/";
  std::ofstream(devices + "0000:18:00.0/current_link_speed") << "warp 9\n";
  std::ofstream(devices + "0000:17:00.0/current_link_speed") << "Unknown\n";  // the port's end of that link
  std::ofstream(devices + "0000:3a:00.0/max_link_width") << "lots\n";
  RailMapInputs in = inputs_for("hgx-links", "hgx-h100-8gpu.xml");
  in.sysfs_root = copy.path() + "/sys";
  in.podinfo_dir = copy.path() + "/podinfo";
  const RailMap map = build_ok(in);
  ASSERT_EQ(map.ports.size(), 8u);
  const auto& net1 = map.ports[0].pcie_link;
  ASSERT_TRUE(net1.has_value());
  EXPECT_EQ(net1->source, LinkSource::kSysfs);
  EXPECT_FALSE(net1->current.has_value());
  EXPECT_TRUE(net1->max.has_value());
  EXPECT_FALSE(map.ports[1].pcie_link->device_max.has_value());
  const auto has = [&](const std::string& part) {
    return std::ranges::any_of(map.notes, [&](const std::string& n) { return n.find(part) != std::string::npos; });
  };
  EXPECT_TRUE(has("0000:18:00.0/current_link_speed: 'warp 9' is not a PCIe link speed"));
  EXPECT_TRUE(has("0000:3a:00.0/max_link_width: 'lots' is not a PCIe link width"));
  const auto results = check_pcie_links(map);
  EXPECT_EQ(find(results, "net1")->verdict, Verdict::kWaived);
  EXPECT_EQ(find(results, "net1")->reason, "mlx5_10 PF 0000:18:00.0: current link unknown (sysfs says Unknown)");
}

}  // namespace
}  // namespace railcheck::topology
