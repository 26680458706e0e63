// `railcheck check` inside the lab pods. The lab runs in shared RDMA netns mode (rxe devices
// cannot leave the initial netns): each pod's rails are ACTIVE and addressed, the netns mode
// warns, and every other pod's device shows up as "visible but not a rail". The pods' netdevs
// and policy rules live in the initial netns, so policy_routes fails inside a pod netns: expected
// in the lab, not asserted. Exclusive mode is tried too (restored to shared afterwards); the
// kernel refuses the switch while other network namespaces exist (EBUSY), which skips that test.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "lab/lab_env.hpp"
#include "support/process.hpp"

namespace railcheck {
namespace {

using nlohmann::json;

const std::string kBin = RAILCHECK_BIN;

const json* find(const json& checks, const std::string& name, const json& subject) {
  for (const json& c : checks) {
    if (c.at("name") == name && c.at("subject") == subject) return &c;
  }
  return nullptr;
}

json check_in_pod(const lab::Pod& pod) {
  auto r = testing::run_command(
      lab::in_pod(pod, kBin + " check --podinfo " + testing::shell_quote(pod.podinfo) + " --format json"));
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.exit_code << ": " << r.err;
  json doc = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(doc.is_discarded()) << r.out << r.err;
  if (!doc.is_discarded()) {
    EXPECT_EQ(doc.at("schema"), "railcheck.check/v1");
  }
  return doc;
}

// Sets the RDMA netns mode to exclusive for the test's length; puts `shared` back at the end,
// also when an assertion fails.
class ExclusiveNetnsGuard {
 public:
  ExclusiveNetnsGuard() {
    auto r = testing::run_command("rdma system set netns exclusive");
    ok_ = r.exit_code == 0;
    error_ = r.err + r.out;
  }
  ~ExclusiveNetnsGuard() {
    if (ok_) (void)testing::run_command("rdma system set netns shared");
  }
  ExclusiveNetnsGuard(const ExclusiveNetnsGuard&) = delete;
  ExclusiveNetnsGuard& operator=(const ExclusiveNetnsGuard&) = delete;
  [[nodiscard]] bool ok() const noexcept { return ok_; }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  bool ok_ = false;
  std::string error_;
};

TEST(CheckLab, EachPodsRailsAreActiveAndAddressed) {
  RAILCHECK_REQUIRE_LAB(map);
  for (const lab::Pod& pod : map.pods) {
    SCOPED_TRACE(pod.name);
    const json doc = check_in_pod(pod);
    ASSERT_FALSE(doc.is_discarded());
    const json& checks = doc.at("checks");
    for (const lab::RailPort& rail : pod.rails) {
      SCOPED_TRACE(rail.interface);
      const json* active = find(checks, "port_active", rail.interface);
      ASSERT_NE(active, nullptr) << doc.dump(2);
      EXPECT_EQ(active->at("verdict"), "pass") << active->dump();
      EXPECT_EQ(active->at("reason"), rail.rdma_device + " port 1: ACTIVE, LINK_UP, Ethernet");
      const json* addr = find(checks, "interface_addressing", rail.interface);
      ASSERT_NE(addr, nullptr);
      EXPECT_EQ(addr->at("verdict"), "pass") << addr->dump();
      EXPECT_EQ(addr->at("reason"), rail.ip + ", RoCEv2 GID ::ffff:" + rail.ip);
      EXPECT_NE(find(checks, "policy_routes", rail.interface), nullptr);  // fails in the lab: not asserted
    }
    const json* mode = find(checks, "rdma_netns_mode", nullptr);
    ASSERT_NE(mode, nullptr);
    EXPECT_EQ(mode->at("verdict"), "warn") << mode->dump();
    if (map.pods.size() > 1) {
      const json* visible = find(checks, "devices_visible", nullptr);
      ASSERT_NE(visible, nullptr);
      EXPECT_EQ(visible->at("verdict"), "warn") << visible->dump();
      const lab::Pod& other = map.pods[&pod == &map.pods.front() ? 1 : 0];
      const std::string reason = visible->at("reason").get<std::string>();
      EXPECT_TRUE(reason.starts_with("visible but not a rail: ")) << reason;
      EXPECT_NE(reason.find(other.rails.front().rdma_device), std::string::npos) << reason;
      EXPECT_TRUE(reason.ends_with(" (netns shared)")) << reason;
    }
  }
}

TEST(CheckLab, ExclusiveModeHidesTheRailDevices) {
  RAILCHECK_REQUIRE_LAB(map);
  ASSERT_GE(map.pods.size(), 2u);
  ExclusiveNetnsGuard exclusive;
  if (!exclusive.ok()) {
    GTEST_SKIP() << "rdma system set netns exclusive refused (the kernel allows it only while no other netns "
                    "exists): "
                 << exclusive.error();
  }
  const lab::Pod& pod = map.pods[1];
  const json doc = check_in_pod(pod);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc.at("ok"), false);
  const json* visible = find(doc.at("checks"), "devices_visible", nullptr);
  ASSERT_NE(visible, nullptr);
  EXPECT_EQ(visible->at("verdict"), "fail") << visible->dump();
  std::string names;
  for (const lab::RailPort& rail : pod.rails) names += (names.empty() ? "" : ", ") + rail.rdma_device;
  EXPECT_EQ(visible->at("reason"), "rail devices not visible in the pod: " + names + " (" +
                                       std::to_string(pod.rails.size()) + " of " + std::to_string(pod.rails.size()) +
                                       ")");
}

}  // namespace
}  // namespace railcheck
