#pragma once
// The pods of the running lab (lab/run writes their map as JSON to $LAB_MAP), for lab tests.
// Outside the lab there is no map and every lab test skips itself.

#include <optional>
#include <string>
#include <vector>

namespace railcheck::lab {

struct RailPort {
  int rail = 0;
  std::string interface;    // "net1"
  std::string network;      // Multus network name
  std::string ip;
  std::string rdma_device;  // rxe device name
  std::string netdev;       // the netdev the rxe device sits on
  std::string mac;
};

struct Pod {
  std::string name;
  std::string netns;
  std::string eth0;     // control-network IP (out-of-band traffic)
  std::string podinfo;  // downward-API style folder
  std::vector<RailPort> rails;
};

struct LabMap {
  std::string mode;  // "guest" or "host"
  std::vector<Pod> pods;
};

// The map of the lab this test runs in; nullopt outside the lab. A map that exists but
// cannot be parsed aborts the test run with the reason (the lab itself is broken).
std::optional<LabMap> lab_map();

// A shell command line that runs `command` inside the pod's network namespace.
std::string in_pod(const Pod& pod, const std::string& command);

}  // namespace railcheck::lab

// Skips the current test when not running inside lab/run.
#define RAILCHECK_REQUIRE_LAB(map_var)                                                        \
  auto map_var##_opt = ::railcheck::lab::lab_map();                                           \
  if (!map_var##_opt) GTEST_SKIP() << "not in the lab ($LAB_MAP unset): run under lab/run"; \
  const ::railcheck::lab::LabMap& map_var = *map_var##_opt
