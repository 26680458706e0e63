#pragma once
// The catalogue of setup checks (`railcheck check`): one row per check, its name, the line
// `check --help` prints for it and the function that judges it over the rail map and the facts
// the caller gathered. `railcheck check` runs the rows in order and generates its help from them;
// the agent serves the same results. Adding a check = a row here, its function, and its facts in
// CheckFacts (gathered in cli/check_cmd.cpp).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "topology/checks.hpp"
#include "topology/ib_checks.hpp"
#include "topology/rail_map.hpp"
#include "topology/routing_checks.hpp"

namespace railcheck::topology {

// Every live fact a check reads besides the rail map (which carries the sysfs and hwloc facts).
struct CheckFacts {
  NetnsMode netns_mode = NetnsMode::kUnknown;
  std::vector<std::string> visible_devices;  // visible_rdma_devices(sysfs root)
  IbFacts ib;
  MemlockFacts memlock;
  RoutingFacts routing;
  // probe_gateway (gateway_probe.hpp) live; canned in tests. Unset: every gateway "cannot tell".
  GatewayProber probe = [](const ProbeTarget&) -> Result<ProbeAnswer> {
    return ProbeAnswer{.how = ProbeAnswer::How::kUnknown, .rtt_ms = 0, .detail = "no gateway prober given"};
  };
  uint32_t gateway_timeout_ms = 1000;
  GpudirectFacts gpudirect;  // its fail_from also grades rail_per_gpu
};

struct SetupCheck {
  std::string_view name;
  std::string_view help;  // for `check --help`: what passes, warns, fails (wrapped when printed)
  // The results; nullptr for a name whose results the row above it emits (ib_pkey_table, which
  // check_ib_pkey interleaves with ib_pkey per interface).
  std::vector<CheckResult> (*run)(const RailMap& map, const CheckFacts& facts);
};

// The rows, in the order `railcheck check` runs and prints them.
std::span<const SetupCheck> setup_checks() noexcept;

// Every row's results, in order.
std::vector<CheckResult> run_setup_checks(const RailMap& map, const CheckFacts& facts);

// "  name   help..." per row, the help wrapped to `width` columns and aligned after the longest name.
std::string setup_checks_help(size_t width = 100);

}  // namespace railcheck::topology
