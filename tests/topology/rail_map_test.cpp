// The rail map over fake sysfs trees (fixtures/sysfs, written by make_sysfs_fixtures.py) and
// the hwloc XML shapes of fixtures/hwloc: which interface is which VF, PF, RDMA device and
// nearest GPU, for each shape; and the errors that name the file and field that is wrong.
#include "topology/rail_map.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "topology/network_status.hpp"
#include "topology/podinfo.hpp"
#include "rail_fixtures.hpp"

namespace railcheck::topology {
namespace {

namespace fs = std::filesystem;

using namespace testing;  // rail_fixtures.hpp

bool has_note(const RailMap& map, const std::string& part) {
  return std::ranges::any_of(map.notes, [&](const std::string& n) { return n.find(part) != std::string::npos; });
}

std::string all_notes(const RailMap& map) {
  std::string out;
  for (const std::string& n : map.notes) out += n + "\n";
  return out;
}

std::string go_quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A podinfo folder whose network-status is the HGX fixture's, changed by `edit`.
void write_edited_hgx_status(const std::string& dir, const std::function<void(nlohmann::json&)>& edit) {
  auto ann = read_annotations_file(shape_dir("hgx-roce") + "/podinfo/annotations");
  ASSERT_TRUE(ann.has_value()) << ann.error().message();
  auto doc = nlohmann::json::parse(ann->at(std::string(kNetworkStatusKey)));
  edit(doc);
  write_file(dir + "/annotations", std::string(kNetworkStatusKey) + "=" + go_quote(doc.dump(4)));
}

TEST(RailMapHgx, EveryNetKIsPixToItsOwnGpuThroughItsPf) {
  const RailMap map = build_ok(inputs_for("hgx-roce", "hgx-h100-8gpu.xml"));
  const std::vector<std::string> pfs = {"18", "3a", "4b", "5c", "98", "ba", "cb", "dc"};
  const std::vector<std::string> gpus = {"19", "3b", "4c", "5d", "99", "bb", "cc", "dd"};
  ASSERT_EQ(map.ports.size(), 8u);
  std::set<int> nearest;
  for (size_t i = 0; i < 8; ++i) {
    const RailPort& p = map.ports[i];
    const int k = static_cast<int>(i) + 1;
    SCOPED_TRACE(p.interface);
    EXPECT_EQ(p.interface, "net" + std::to_string(k));
    EXPECT_EQ(p.network, "spiderpool/gpu" + std::to_string(k) + "-sriov");
    EXPECT_EQ(p.ips, std::vector<std::string>{"172.16." + std::to_string(10 + k) + ".10"});
    EXPECT_EQ(p.rdma_device, "mlx5_" + std::to_string(9 + k));
    EXPECT_EQ(p.pci_address, "0000:" + pfs[i] + ":00.1");
    EXPECT_EQ(p.pf_pci_address, "0000:" + pfs[i] + ":00.0");
    EXPECT_EQ(p.resource, "PCIDEVICE_SPIDERNET_IO_GPU" + std::to_string(k) + "SRIOV");
    ASSERT_TRUE(p.nearest_gpu.has_value());
    EXPECT_EQ(p.nearest_gpu->ordinal, k - 1);
    EXPECT_EQ(p.nearest_gpu->pci_address, "0000:" + gpus[i] + ":00.0");
    EXPECT_EQ(p.nearest_gpu->path, PathClass::kPix);
    EXPECT_TRUE(p.nearest_gpu->from_pf);
    nearest.insert(p.nearest_gpu->ordinal);
    EXPECT_EQ(p.numa_node, k <= 4 ? 0 : 1);
    EXPECT_EQ(p.sources.pci_address, Source::kAnnotation);
    EXPECT_EQ(p.sources.pf_pci_address, Source::kAnnotation);
    EXPECT_EQ(p.sources.rdma_device, Source::kAnnotation);
    EXPECT_EQ(p.sources.numa_node, Source::kSysfs);
  }
  EXPECT_EQ(nearest.size(), 8u) << "every rail has its own GPU";
  ASSERT_EQ(map.gpus.size(), 8u);
  for (const GpuAffinity& g : map.gpus) {
    ASSERT_TRUE(g.nearest.has_value()) << g.ordinal;
    EXPECT_EQ(g.nearest->interface, "net" + std::to_string(g.ordinal + 1));
    EXPECT_EQ(g.nearest->path, PathClass::kPix);
  }
  ASSERT_EQ(map.notes.size(), 1u) << all_notes(map);
  EXPECT_TRUE(has_note(map, "does not list the VF of net1, net2, net3, net4, net5, net6, net7, net8"));
}

TEST(RailMapHgx, RocePortFactsComeFromSysfs) {
  const RailMap map = build_ok(inputs_for("hgx-roce", "hgx-h100-8gpu.xml"));
  ASSERT_FALSE(map.ports.empty());
  const RailPort& p = map.ports.front();
  EXPECT_EQ(p.mac, "0a:c1:01:00:00:0a");
  EXPECT_EQ(p.port, 1u);
  EXPECT_EQ(p.state, "ACTIVE");
  EXPECT_EQ(p.phys_state, "LINK_UP");
  EXPECT_EQ(p.link_layer, "Ethernet");
  EXPECT_EQ(p.netdev_mtu, 9000u);
  EXPECT_EQ(p.active_mtu, 4096u);
  EXPECT_EQ(p.rate_gbps, 400.0);
  ASSERT_TRUE(p.roce_gid.has_value());
  EXPECT_EQ(p.roce_gid->gid, "::ffff:172.16.11.10");
  EXPECT_EQ(p.roce_gid->index, 3u);
  EXPECT_EQ(p.roce_gid->type, "RoCEv2");
  EXPECT_EQ(p.roce_gid->netdev, "net1");
  EXPECT_EQ(p.gids.size(), 4u) << "the two empty slots are skipped";
  EXPECT_EQ(p.gids[0].gid, "fe80::8c1:1ff:fe00:a");
  EXPECT_EQ(p.gids[0].type, "RoCEv1");
  EXPECT_FALSE(p.lid.has_value());
  EXPECT_TRUE(p.pkeys.empty()) << "pkeys are read on InfiniBand only";
}

TEST(RailMapIb, LinkLayerLidPkeysAndRdmaDeviceFromSysfs) {
  const RailMap map = build_ok(inputs_for("ib-sriov", "more-nics-than-gpus.xml"));
  ASSERT_EQ(map.ports.size(), 2u) << all_notes(map);
  const RailPort& net1 = map.ports[0];
  const RailPort& net2 = map.ports[1];
  EXPECT_EQ(net1.interface, "net1");
  EXPECT_EQ(net1.rdma_device, "mlx5_4");
  EXPECT_EQ(net1.sources.rdma_device, Source::kSysfs) << "IB-SR-IOV device-info has no rdma-device";
  EXPECT_EQ(net1.pci_address, "0000:84:00.2");
  EXPECT_EQ(net1.pf_pci_address, "0000:84:00.0");
  EXPECT_EQ(net1.sources.pf_pci_address, Source::kSysfs);
  EXPECT_EQ(net1.link_layer, "InfiniBand");
  EXPECT_EQ(net1.lid, 0x1a);
  EXPECT_EQ(net1.subnet_prefix, "fe80:0000:0000:0000");
  EXPECT_EQ(net1.pkeys, (std::vector<uint16_t>{0xffff, 0x8001}));
  EXPECT_EQ(net1.rate_gbps, 200.0);
  EXPECT_EQ(net1.netdev_mtu, 4092u);
  EXPECT_FALSE(net1.active_mtu.has_value()) << "IB active MTU is not in sysfs";
  EXPECT_FALSE(net1.roce_gid.has_value());
  ASSERT_EQ(net1.gids.size(), 1u);
  EXPECT_EQ(net1.gids[0].type, "IB");
  EXPECT_EQ(net1.numa_node, 1);
  EXPECT_EQ(net1.resource, "PCIDEVICE_NVIDIA_COM_IB_RAIL");
  ASSERT_TRUE(net1.nearest_gpu.has_value());
  EXPECT_EQ(net1.nearest_gpu->ordinal, 1);
  EXPECT_EQ(net1.nearest_gpu->path, PathClass::kPix);
  EXPECT_FALSE(net1.nearest_gpu->from_pf) << "hwloc lists this VF itself";

  EXPECT_EQ(net2.rdma_device, "mlx5_5");
  EXPECT_EQ(net2.pci_address, "0000:0a:00.1");
  EXPECT_EQ(net2.pf_pci_address, "0000:0a:00.0");
  EXPECT_EQ(net2.lid, 0x1b);
  EXPECT_EQ(net2.numa_node, 0);
  ASSERT_TRUE(net2.nearest_gpu.has_value());
  EXPECT_EQ(net2.nearest_gpu->ordinal, 0);
  EXPECT_EQ(net2.nearest_gpu->path, PathClass::kPxb);
  EXPECT_TRUE(net2.nearest_gpu->from_pf);

  ASSERT_EQ(map.gpus.size(), 2u);
  ASSERT_TRUE(map.gpus[0].nearest && map.gpus[1].nearest);
  EXPECT_EQ(map.gpus[0].nearest->interface, "net2");
  EXPECT_EQ(map.gpus[0].nearest->path, PathClass::kPxb);
  EXPECT_EQ(map.gpus[1].nearest->interface, "net1");
  EXPECT_EQ(map.gpus[1].nearest->path, PathClass::kPix);
  EXPECT_TRUE(has_note(map, "does not list the VF of net2:")) << all_notes(map);
}

TEST(RailMapFallback, WithoutAnnotationTheInterfacesComeFromSysfs) {
  const RailMap map = build_ok(inputs_for("no-annotation", "no-gpu.xml"));
  ASSERT_EQ(map.ports.size(), 2u) << all_notes(map);  // eth0, lo and ens9 have no RDMA device
  EXPECT_TRUE(has_note(map, "no network-status annotation in ")) << all_notes(map);
  EXPECT_TRUE(has_note(map, "hwloc sees no GPU")) << all_notes(map);
  EXPECT_FALSE(has_note(map, "measured from the PF")) << "no GPU to measure to: " << all_notes(map);
  EXPECT_TRUE(map.gpus.empty());
  const std::vector<std::string> ips = {"172.16.21.5", "172.16.22.5"};
  for (size_t i = 0; i < 2; ++i) {
    const RailPort& p = map.ports[i];
    SCOPED_TRACE(p.interface);
    EXPECT_EQ(p.interface, "net" + std::to_string(i + 1));
    EXPECT_EQ(p.sources.interface, Source::kSysfs);
    EXPECT_TRUE(p.network.empty());
    EXPECT_EQ(p.ips, std::vector<std::string>{ips[i]});
    EXPECT_EQ(p.sources.ips, Source::kSysfs) << "from the RoCEv2 GIDs";
    EXPECT_EQ(p.mac, "0a:c2:00:00:0" + std::to_string(i + 1) + ":05");
    EXPECT_EQ(p.rdma_device, "mlx5_" + std::to_string(i + 2));
    EXPECT_EQ(p.sources.rdma_device, Source::kSysfs);
    EXPECT_EQ(p.pci_address, "0000:0" + std::to_string(i + 1) + ":00.2");
    EXPECT_EQ(p.sources.pci_address, Source::kSysfs);
    EXPECT_EQ(p.pf_pci_address, "0000:0" + std::to_string(i + 1) + ":00.0");
    EXPECT_EQ(p.active_mtu, 1024u) << "netdev MTU 1500";
    EXPECT_EQ(p.resource, "PCIDEVICE_MELLANOX_COM_CX6DX_VF");
    EXPECT_FALSE(p.nearest_gpu.has_value());
  }
}

TEST(RailMapFallback, NoPodinfoFolderAtAllSaysSo) {
  RailMapInputs in = inputs_for("no-annotation", "no-gpu.xml");
  in.podinfo_dir.clear();
  const RailMap map = build_ok(in);
  EXPECT_EQ(map.ports.size(), 2u);
  EXPECT_TRUE(has_note(map, "no podinfo folder")) << all_notes(map);
}

TEST(RailMapSys, AVfAcrossTheSocketFromEveryGpuIsSysAndNoted) {
  const RailMap map = build_ok(inputs_for("sys-split", "sys-split.xml"));
  ASSERT_EQ(map.ports.size(), 1u);
  const RailPort& p = map.ports[0];
  EXPECT_EQ(p.interface, "net1");
  EXPECT_EQ(p.rdma_device, "mlx5_1");
  EXPECT_EQ(p.sources.rdma_device, Source::kSysfs);
  EXPECT_EQ(p.pci_address, "0000:b1:00.1");
  EXPECT_EQ(p.pf_pci_address, "0000:b1:00.0");
  EXPECT_EQ(p.sources.pf_pci_address, Source::kSysfs);
  EXPECT_EQ(p.numa_node, 1);
  EXPECT_EQ(p.active_mtu, 4096u) << "netdev MTU 4200 leaves 4104 after 96 bytes of headers";
  ASSERT_TRUE(p.nearest_gpu.has_value());
  EXPECT_EQ(p.nearest_gpu->ordinal, 0);
  EXPECT_EQ(p.nearest_gpu->path, PathClass::kSys);
  ASSERT_EQ(map.gpus.size(), 1u);
  ASSERT_TRUE(map.gpus[0].nearest.has_value());
  EXPECT_EQ(map.gpus[0].nearest->interface, "net1");
  EXPECT_EQ(map.gpus[0].nearest->path, PathClass::kSys);
  EXPECT_TRUE(has_note(map, "net1: its nearest GPU, GPU0, is SYS (across the CPU sockets)")) << all_notes(map);
}

TEST(RailMapSources, DeviceInfoWinsOverSysfsAndTheDisagreementIsNoted) {
  TempDir dir("disagree");
  write_edited_hgx_status(dir.path(), [](nlohmann::json& doc) {
    doc[1]["device-info"]["pci"]["rdma-device"] = "mlx5_99";
    doc[2]["device-info"]["pci"]["pci-address"] = "0000:18:00.1";  // net2 claims net1's VF
  });
  RailMapInputs in = inputs_for("hgx-roce", "hgx-h100-8gpu.xml");
  in.podinfo_dir = dir.path();
  const RailMap map = build_ok(in);
  ASSERT_EQ(map.ports.size(), 8u);
  EXPECT_EQ(map.ports[0].rdma_device, "mlx5_99");
  EXPECT_TRUE(has_note(map, "net1: device-info names RDMA device mlx5_99, sysfs finds mlx5_10")) << all_notes(map);
  EXPECT_TRUE(has_note(map, "net1: RDMA device mlx5_99 is not in sysfs class/infiniband")) << all_notes(map);
  EXPECT_FALSE(map.ports[0].state.has_value());
  EXPECT_EQ(map.ports[1].pci_address, "0000:18:00.1");
  EXPECT_TRUE(has_note(map, "net2: device-info says PCI 0000:18:00.1, sysfs class/net/net2/device says 0000:3a:00.1"))
      << all_notes(map);
}

TEST(RailMapErrors, PodinfoFolderWithoutAnnotationsNamesTheFile) {
  TempDir dir("empty_podinfo");
  RailMapInputs in = inputs_for("hgx-roce", "hgx-h100-8gpu.xml");
  in.podinfo_dir = dir.path();
  auto map = build_rail_map(in);
  ASSERT_FALSE(map.has_value());
  EXPECT_EQ(map.error().code, Errc::kNotFound);
  EXPECT_NE(map.error().message().find(dir.path() + "/annotations"), std::string::npos) << map.error().message();
}

TEST(RailMapErrors, MalformedAnnotationNamesTheFileAndField) {
  TempDir dir("malformed");
  RailMapInputs in = inputs_for("hgx-roce", "hgx-h100-8gpu.xml");
  in.podinfo_dir = dir.path();
  const std::string file = dir.path() + "/annotations";

  write_file(file, std::string(kNetworkStatusKey) + "=\"[{\"");
  auto bad_json = build_rail_map(in);
  ASSERT_FALSE(bad_json.has_value());
  EXPECT_EQ(bad_json.error().code, Errc::kProtocol);
  EXPECT_NE(bad_json.error().message().find(file + ": "), std::string::npos) << bad_json.error().message();
  EXPECT_NE(bad_json.error().message().find("not valid JSON"), std::string::npos) << bad_json.error().message();

  write_edited_hgx_status(dir.path(), [](nlohmann::json& doc) { doc[3]["ips"] = "172.16.13.10"; });
  auto bad_ips = build_rail_map(in);
  ASSERT_FALSE(bad_ips.has_value());
  EXPECT_NE(bad_ips.error().message().find(file), std::string::npos) << bad_ips.error().message();
  EXPECT_NE(bad_ips.error().message().find("\"ips\" must be an array"), std::string::npos)
      << bad_ips.error().message();

  write_edited_hgx_status(dir.path(), [](nlohmann::json& doc) { doc[2]["device-info"]["pci"]["pci-address"] = "3a"; });
  auto bad_pci = build_rail_map(in);
  ASSERT_FALSE(bad_pci.has_value());
  EXPECT_EQ(bad_pci.error().code, Errc::kProtocol);
  const std::string msg = bad_pci.error().message();
  EXPECT_NE(msg.find(file), std::string::npos) << msg;
  EXPECT_NE(msg.find("(net2): device-info.pci.pci-address '3a' is not a PCI bus id"), std::string::npos) << msg;

  write_edited_hgx_status(dir.path(), [](nlohmann::json& doc) { doc[1]["interface"] = "../../etc"; });
  auto bad_name = build_rail_map(in);
  ASSERT_FALSE(bad_name.has_value());
  EXPECT_NE(bad_name.error().message().find("interface '../../etc' is not a device name"), std::string::npos)
      << bad_name.error().message();
}

TEST(RailMapErrors, BadPcideviceVariableIsNamed) {
  RailMapInputs in = inputs_for("sys-split", "sys-split.xml");
  in.env["PCIDEVICE_SPIDERNET_IO_GPU2SRIOV"] = "0000:b1:00.2,b1:00.x";
  auto map = build_rail_map(in);
  ASSERT_FALSE(map.has_value());
  EXPECT_EQ(map.error().code, Errc::kInvalidArgument);
  EXPECT_NE(map.error().message().find("PCIDEVICE_SPIDERNET_IO_GPU2SRIOV: 'b1:00.x'"), std::string::npos)
      << map.error().message();
}

TEST(RailMapErrors, MissingHwlocXmlIsNamed) {
  RailMapInputs in = inputs_for("sys-split", "no-such-machine.xml");
  auto map = build_rail_map(in);
  ASSERT_FALSE(map.has_value());
  EXPECT_EQ(map.error().code, Errc::kNotFound);
  EXPECT_NE(map.error().message().find("no-such-machine.xml"), std::string::npos) << map.error().message();
}

TEST(RailMapErrors, BrokenOrMissingPortFilesAreNamed) {
  TempDir dir("sysfs_copy");
  fs::copy(shape_dir("sys-split") + "/sys", dir.path(), fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  RailMapInputs in = inputs_for("sys-split", "sys-split.xml");
  in.sysfs_root = dir.path();
  const std::string port_dir = dir.path() + "/bus/pci/devices/0000:b1:00.1/infiniband/mlx5_1/ports/1";

  write_file(port_dir + "/rate", "fast\n");
  auto bad_rate = build_rail_map(in);
  ASSERT_FALSE(bad_rate.has_value());
  EXPECT_EQ(bad_rate.error().code, Errc::kProtocol);
  EXPECT_NE(bad_rate.error().message().find("mlx5_1/ports/1/rate: 'fast' is not a rate"), std::string::npos)
      << bad_rate.error().message();

  fs::remove(port_dir + "/state");
  auto no_state = build_rail_map(in);
  ASSERT_FALSE(no_state.has_value());
  EXPECT_EQ(no_state.error().code, Errc::kNotFound);
  EXPECT_NE(no_state.error().message().find("mlx5_1/ports/1/state is missing"), std::string::npos)
      << no_state.error().message();
}

TEST(RailMapHwloc, AForeignSysfsRootWithoutXmlSkipsTheGpuView) {
  RailMapInputs in = inputs_for("sys-split", "sys-split.xml");
  in.hwloc_xml.reset();
  const RailMap map = build_ok(in);
  ASSERT_EQ(map.ports.size(), 1u);
  EXPECT_FALSE(map.ports[0].nearest_gpu.has_value());
  EXPECT_TRUE(map.gpus.empty());
  EXPECT_TRUE(has_note(map, "no hwloc XML for the sysfs root")) << all_notes(map);
}

TEST(RoceMtu, LargestIbMtuThatFitsTheNetdevMtuLessHeaders) {
  EXPECT_EQ(roce_mtu_for(9000), 4096u);
  EXPECT_EQ(roce_mtu_for(4192), 4096u);
  EXPECT_EQ(roce_mtu_for(4191), 2048u);
  EXPECT_EQ(roce_mtu_for(1500), 1024u);
  EXPECT_EQ(roce_mtu_for(1120), 1024u);
  EXPECT_EQ(roce_mtu_for(1119), 512u);
  EXPECT_EQ(roce_mtu_for(352), 256u);
  EXPECT_FALSE(roce_mtu_for(351).has_value());
}

TEST(FirstIpv4, SkipsIpv6AndAnythingNotADottedQuad) {
  RailPort p;
  EXPECT_FALSE(first_ipv4(p).has_value());
  p.ips = {"fd00:12::10", "::ffff:172.16.12.9", "", "not.an.ip.addr", "172.16.12.10", "172.16.12.11"};
  EXPECT_EQ(first_ipv4(p), "172.16.12.10");
  p.ips = {"fe80::1", "172.16.11.10/24"};
  EXPECT_EQ(first_ipv4(p), "172.16.11.10") << "the prefix length dropped";
  p.ips = {"fd00::1"};
  EXPECT_FALSE(first_ipv4(p).has_value());
}

TEST(SysfsText, RatesAndGids) {
  EXPECT_EQ(parse_sysfs_rate("2.5 Gb/sec (1X SDR)"), 2.5);
  EXPECT_EQ(parse_sysfs_rate("10 Gb/sec (1X FDR10)"), 10.0);
  EXPECT_EQ(parse_sysfs_rate("400 Gb/sec (4X NDR)"), 400.0);
  EXPECT_FALSE(parse_sysfs_rate("fast").has_value());
  EXPECT_FALSE(parse_sysfs_rate("400 Mb/sec").has_value());
  EXPECT_EQ(gid_text("0000:0000:0000:0000:0000:ffff:ac10:0b0a"), "::ffff:172.16.11.10");
  EXPECT_EQ(gid_text("fe80:0000:0000:0000:a088:c203:00a1:0001"), "fe80::a088:c203:a1:1");
  EXPECT_EQ(gid_text("0000:0000:0000:0000:0000:0000:0000:0000"), "::");
  EXPECT_FALSE(gid_text("not a gid").has_value());
}

TEST(PcideviceEnv, ListsPerVariableSkippingInfoAndOthers) {
  auto env = parse_pcidevice_env({{"PCIDEVICE_A", "0000:19:00.2, 1a:00.3,"},
                                  {"PCIDEVICE_A_INFO", "{\"0000:19:00.2\":{}}"},
                                  {"PATH", "/bin"}});
  ASSERT_TRUE(env.has_value()) << env.error().message();
  ASSERT_EQ(env->size(), 1u);
  EXPECT_EQ(env->at("PCIDEVICE_A"), (std::vector<std::string>{"0000:19:00.2", "0000:1a:00.3"}));
}

}  // namespace
}  // namespace railcheck::topology
