// `railcheck topo` inside each lab pod: the rail map lists exactly the pod's rails with the
// lab map's interface names, IPs and rxe devices, read from the annotation and from
// /sys/class/infiniband (the rxe netdevs stay in the initial netns, so the pod's sysfs has no
// net1: the annotation's rdma-device is trusted). The lab's PCI addresses are synthetic: no PF,
// no NUMA node, a note, and no crash. The guest's hwloc sees virtio devices and no GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <sstream>
#include <nlohmann/json.hpp>

#include "lab/lab_env.hpp"
#include "support/process.hpp"

namespace railcheck {
namespace {

using nlohmann::json;

const std::string kBin = RAILCHECK_BIN;

bool has_note(const json& doc, const std::string& part) {
  return std::ranges::any_of(doc.at("notes"), [&](const json& n) {
    return n.get<std::string>().find(part) != std::string::npos;
  });
}

void expect_rail(const json& port, const lab::RailPort& rail) {
  SCOPED_TRACE(rail.interface);
  EXPECT_EQ(port.at("network"), rail.network);
  EXPECT_EQ(port.at("ips"), json::array({rail.ip}));
  EXPECT_EQ(port.at("mac"), rail.mac);
  EXPECT_EQ(port.at("rdma_device"), rail.rdma_device);
  EXPECT_EQ(port.at("sources").at("rdma_device"), "annotation");
  EXPECT_EQ(port.at("port"), 1);
  EXPECT_EQ(port.at("state"), "ACTIVE");
  EXPECT_EQ(port.at("link_layer"), "Ethernet");
  ASSERT_TRUE(port.at("roce_gid").is_object()) << port.dump(2);
  EXPECT_EQ(port.at("roce_gid").at("gid"), "::ffff:" + rail.ip);
  EXPECT_EQ(port.at("roce_gid").at("type"), "RoCEv2");
  EXPECT_EQ(port.at("roce_gid").at("netdev"), rail.netdev);
  EXPECT_GT(port.at("rate_gbps").get<double>(), 0.0);
  EXPECT_TRUE(port.at("pci_address").is_string());
  EXPECT_TRUE(port.at("pf_pci_address").is_null()) << "synthetic PCI address: no PF to find";
  EXPECT_TRUE(port.at("numa_node").is_null()) << "synthetic PCI address: no NUMA node";
  EXPECT_TRUE(port.at("nearest_gpu").is_null());
}

TEST(TopoLab, EachPodsMapListsExactlyItsRails) {
  RAILCHECK_REQUIRE_LAB(map);
  for (const lab::Pod& pod : map.pods) {
    SCOPED_TRACE(pod.name);
    auto r = testing::run_command(
        lab::in_pod(pod, kBin + " topo --podinfo " + testing::shell_quote(pod.podinfo) + " --format json"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json doc = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(doc.is_discarded()) << r.out;
    EXPECT_EQ(doc.at("schema"), "railcheck.topo/v1");
    const json& ports = doc.at("ports");
    ASSERT_EQ(ports.size(), pod.rails.size()) << r.out;
    for (size_t i = 0; i < pod.rails.size(); ++i) {
      EXPECT_EQ(ports[i].at("interface"), pod.rails[i].interface);
      expect_rail(ports[i], pod.rails[i]);
      const std::string pci = ports[i].at("pci_address").get<std::string>();
      EXPECT_TRUE(has_note(doc, pod.rails[i].interface + ": PCI device " + pci + " is not in sysfs")) << r.out;
    }
    if (map.mode == "guest") {
      EXPECT_TRUE(doc.at("gpus").empty());
      EXPECT_TRUE(has_note(doc, "hwloc sees no GPU")) << r.out;
    }
  }
}

TEST(TopoLab, TableNamesEveryRailOfThePod) {
  RAILCHECK_REQUIRE_LAB(map);
  const lab::Pod& pod = map.pods.front();
  auto r = testing::run_command(lab::in_pod(pod, kBin + " topo --podinfo " + testing::shell_quote(pod.podinfo)));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("IFACE  NETWORK")) << r.out;
  for (const lab::RailPort& rail : pod.rails) {
    // The row's first words: IFACE NETWORK IP RDMA PORT STATE LINK.
    const size_t at = r.out.find("\n" + rail.interface + " ");
    ASSERT_NE(at, std::string::npos) << r.out;
    std::istringstream row(r.out.substr(at + 1, r.out.find('\n', at + 1) - at - 1));
    std::vector<std::string> words{std::istream_iterator<std::string>(row), std::istream_iterator<std::string>()};
    ASSERT_GE(words.size(), 7u) << r.out;
    EXPECT_EQ(std::vector<std::string>(words.begin(), words.begin() + 7),
              (std::vector<std::string>{rail.interface, rail.network, rail.ip, rail.rdma_device, "1", "ACTIVE",
                                        "Ethernet"}))
        << r.out;
  }
}

}  // namespace
}  // namespace railcheck
