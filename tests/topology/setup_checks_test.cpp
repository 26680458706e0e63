// The catalogue of setup checks: the rows run in the order `railcheck check` has always printed
// them (the same results as calling each check by hand), every result's name is a row, and the
// help is generated from the rows.
#include "topology/setup_checks.hpp"

#include "rail_fixtures.hpp"
#include "spiderpool_routes.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "topology/node_checks.hpp"

namespace railcheck::topology {
namespace {

using namespace testing;  // rail_fixtures.hpp

CheckFacts facts_for(const std::string& sysfs_root) {
  CheckFacts f;
  f.netns_mode = NetnsMode::kShared;
  f.visible_devices = visible_rdma_devices(sysfs_root);
  f.ib = IbFacts{.guid_pool = std::nullopt, .pkey = 0x6};
  f.memlock = MemlockFacts{.rlimit_bytes = 8ull << 20, .proc_status = "CapEff:\t0000000000000000\n",
                           .per_rail_bytes = kDefaultMemlockPerRail};
  f.routing = parse_ip_json(kRules, kRoutes);
  f.probe = [](const ProbeTarget&) -> Result<ProbeAnswer> {
    return ProbeAnswer{.how = ProbeAnswer::How::kIcmp, .rtt_ms = 0.25, .detail = {}};
  };
  f.gateway_timeout_ms = 500;
  f.gpudirect = GpudirectFacts{.sysfs_root = sysfs_root, .kernel_release = "6.1.0-18-amd64", .nvidia_version = {},
                               .cuda = std::nullopt, .warn_from = PathClass::kPhb, .fail_from = PathClass::kSys};
  return f;
}

void append(std::vector<CheckResult>& out, std::vector<CheckResult> more) {
  for (CheckResult& r : more) out.push_back(std::move(r));
}

bool same(const CheckResult& a, const CheckResult& b) {
  return a.name == b.name && a.verdict == b.verdict && a.subject == b.subject && a.reason == b.reason && a.fix == b.fix;
}

TEST(SetupChecks, TheRowsInTheirOrder) {
  std::vector<std::string> names;
  for (const SetupCheck& c : setup_checks()) {
    names.emplace_back(c.name);
    EXPECT_FALSE(c.help.empty()) << c.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"rdma_netns_mode", "devices_visible", "port_active",
                                             "interface_addressing", "ib_guid", "ib_pkey", "ib_pkey_table", "memlock",
                                             "policy_routes", "main_route", "gateway_reachable", "gpudirect_ready",
                                             "pcie_link", "rail_per_gpu"}));
}

// The same results, in the same order, as the checks called one by one the way `railcheck check`
// called them before the table (the first eleven), then the rows added since.
TEST(SetupChecks, RunsEveryCheckAsCalledByHand) {
  for (const auto& [shape, xml] : std::vector<std::pair<std::string, std::string>>{
           {"hgx-roce", "hgx-h100-8gpu.xml"}, {"ib-kubernetes", "no-gpu.xml"}, {"hgx-links", "hgx-h100-8gpu.xml"}}) {
    SCOPED_TRACE(shape);
    const RailMap map = build_ok(inputs_for(shape, xml));
    const CheckFacts f = facts_for(shape_dir(shape) + "/sys");
    std::vector<CheckResult> by_hand;
    by_hand.push_back(check_rdma_netns_mode(f.netns_mode));
    by_hand.push_back(check_devices_visible(map, f.visible_devices, f.netns_mode));
    append(by_hand, check_port_active(map));
    append(by_hand, check_interface_addressing(map));
    append(by_hand, check_ib_guid(map, f.ib));
    append(by_hand, check_ib_pkey(map, f.ib));
    by_hand.push_back(check_memlock(map, f.memlock));
    append(by_hand, check_policy_routes(map, kRules, kRoutes));
    by_hand.push_back(check_main_route(map, kRoutes));
    append(by_hand, check_gateway_reachable(map, kRules, kRoutes, f.probe, f.gateway_timeout_ms));
    append(by_hand, check_gpudirect_ready(map, f.gpudirect));
    append(by_hand, check_pcie_links(map));
    append(by_hand, check_rail_per_gpu(map, f.gpudirect.fail_from));

    const std::vector<CheckResult> table = run_setup_checks(map, f);
    ASSERT_EQ(table.size(), by_hand.size());
    for (size_t i = 0; i < table.size(); ++i) {
      EXPECT_TRUE(same(table[i], by_hand[i])) << i << ": " << table[i].name << " " << table[i].subject << " / "
                                              << by_hand[i].name << " " << by_hand[i].subject;
    }
    for (const CheckResult& r : table) {
      EXPECT_TRUE(std::ranges::any_of(setup_checks(), [&](const SetupCheck& c) { return c.name == r.name; }))
          << r.name << " has no row";
    }
  }
}

TEST(SetupChecks, HelpIsOneEntryPerRowWrapped) {
  const std::string help = setup_checks_help(100);
  std::istringstream lines(help);
  std::vector<std::string> heads;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 100u) << line;
    EXPECT_TRUE(line.starts_with("  ")) << line;
    if (line[2] != ' ') heads.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  ASSERT_EQ(heads.size(), setup_checks().size());
  for (size_t i = 0; i < heads.size(); ++i) EXPECT_EQ(heads[i], setup_checks()[i].name);
  // The text after the names starts in one column.
  EXPECT_NE(help.find("  rdma_netns_mode       the RDMA netns mode"), std::string::npos) << help;
  EXPECT_NE(help.find("  rail_per_gpu          per GPU of the node"), std::string::npos) << help;
}

}  // namespace
}  // namespace railcheck::topology
