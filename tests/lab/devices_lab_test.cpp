// `railcheck devices` and verbs::list_devices() against the lab's real rxe devices.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "lab/lab_env.hpp"
#include "support/process.hpp"
#include "verbs/device.hpp"

namespace railcheck {
namespace {

const std::string kBin = RAILCHECK_BIN;

const verbs::DeviceInfo* find_device(const std::vector<verbs::DeviceInfo>& devices, const std::string& name) {
  auto it = std::ranges::find(devices, name, &verbs::DeviceInfo::name);
  return it == devices.end() ? nullptr : &*it;
}

TEST(DevicesLab, EveryPodRailDeviceIsActiveWithItsRoceV2Gid) {
  RAILCHECK_REQUIRE_LAB(map);
  auto devices = verbs::list_devices();
  ASSERT_TRUE(devices.has_value()) << devices.error().message();
  for (const lab::Pod& pod : map.pods) {
    for (const lab::RailPort& rp : pod.rails) {
      SCOPED_TRACE(pod.name + "/" + rp.interface + " " + rp.rdma_device);
      const verbs::DeviceInfo* dev = find_device(*devices, rp.rdma_device);
      ASSERT_NE(dev, nullptr);
      ASSERT_EQ(dev->ports.size(), 1u);
      const verbs::PortInfo& port = dev->ports[0];
      EXPECT_EQ(port.state, "ACTIVE");
      EXPECT_EQ(port.phys_state, "LINK_UP");
      EXPECT_EQ(port.link_layer, "Ethernet");
      EXPECT_GE(port.active_mtu_bytes, 1024u);
      const auto roce_v2 = std::ranges::find_if(port.gids, [&](const verbs::GidInfo& g) {
        return g.type == verbs::GidType::kRoceV2 && g.gid == "::ffff:" + rp.ip;
      });
      ASSERT_NE(roce_v2, port.gids.end()) << "no RoCEv2 GID for " << rp.ip;
      EXPECT_EQ(roce_v2->netdev, rp.netdev);
    }
  }
}

TEST(DevicesLab, CliInsideEachPodListsThePodsDevicesAsJson) {
  RAILCHECK_REQUIRE_LAB(map);
  for (const lab::Pod& pod : map.pods) {
    SCOPED_TRACE(pod.name);
    auto r = testing::run_command(lab::in_pod(pod, kBin + " devices --format json"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto doc = nlohmann::json::parse(r.out);
    EXPECT_EQ(doc.at("schema"), "railcheck.devices/v1");
    for (const lab::RailPort& rp : pod.rails) {
      const auto& list = doc.at("devices");
      auto it = std::ranges::find_if(list, [&](const nlohmann::json& d) { return d.at("name") == rp.rdma_device; });
      ASSERT_NE(it, list.end()) << rp.rdma_device << " missing from:\n" << r.out;
      const auto& port = it->at("ports").at(0);
      EXPECT_EQ(port.at("state"), "ACTIVE");
      EXPECT_EQ(port.at("link_layer"), "Ethernet");
      const auto& gids = port.at("gids");
      EXPECT_TRUE(std::ranges::any_of(gids, [&](const nlohmann::json& g) {
        return g.at("type") == "RoCEv2" && g.at("gid") == "::ffff:" + rp.ip && g.at("netdev") == rp.netdev;
      })) << port.dump();
    }
  }
}

TEST(DevicesLab, TableShowsOneRowPerPort) {
  RAILCHECK_REQUIRE_LAB(map);
  auto r = testing::run_command(lab::in_pod(map.pods.at(0), kBin + " devices"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("DEVICE ")) << r.out;
  for (const lab::RailPort& rp : map.pods.at(0).rails) {
    EXPECT_NE(r.out.find(rp.rdma_device + " "), std::string::npos) << r.out;
  }
}

TEST(DevicesLab, UnknownDeviceNamesTheDevicesThatExist) {
  RAILCHECK_REQUIRE_LAB(map);
  auto r = testing::run_command(kBin + " devices --device mlx5_99");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no RDMA device named mlx5_99"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(map.pods.at(0).rails.at(0).rdma_device), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(DevicesLab, OpenDeviceReportsMissingDeviceWithTheChoices) {
  RAILCHECK_REQUIRE_LAB(map);
  auto missing = verbs::open_device("mlx5_99");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
  EXPECT_NE(missing.error().hint.find(map.pods.at(0).rails.at(0).rdma_device), std::string::npos);
  auto ok = verbs::open_device(map.pods.at(0).rails.at(0).rdma_device);
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  EXPECT_NE(ok->get(), nullptr);
}

}  // namespace
}  // namespace railcheck
