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
  std::string ip6;          // the rail's global IPv6 address, fd16:(11+r)::(10+i)
  std::string rdma_device;  // rxe device name
  std::string netdev;       // the netdev the rxe device sits on
  std::string mac;
  std::string gateway;  // the rail's router in netns gw, 172.16.(11+r).1
  int table = 0;        // the netdev's policy-routing table
};

struct Pod {
  std::string name;
  std::string netns;
  std::string eth0;     // control-network IP (out-of-band traffic)
  std::string podinfo;  // downward-API style folder
  std::vector<RailPort> rails;
};

struct LabMap {
  std::string mode;        // "guest" or "host"
  std::string rdma_netns;  // "shared" or "exclusive" (lab/run --rdma-netns)
  std::vector<Pod> pods;
};

// The map of the lab this test runs in; nullopt outside the lab. A map that exists but
// cannot be parsed aborts the test run with the reason (the lab itself is broken).
std::optional<LabMap> lab_map();

// A shell command line that runs `command` inside the pod's network namespace.
std::string in_pod(const Pod& pod, const std::string& command);

}  // namespace railcheck::lab

// Skips the current test when not running inside lab/run in shared RDMA netns mode (the
// default; in exclusive mode the pods see no RDMA device, which only the exclusive tests want).
#define RAILCHECK_REQUIRE_LAB(map_var)                                                               \
  auto map_var##_opt = ::railcheck::lab::lab_map();                                                  \
  if (!map_var##_opt) GTEST_SKIP() << "not in the lab ($LAB_MAP unset): run under lab/run";        \
  if (map_var##_opt->rdma_netns != "shared") GTEST_SKIP() << "the lab is in exclusive RDMA netns mode"; \
  const ::railcheck::lab::LabMap& map_var = *map_var##_opt

// Skips the current test unless running inside `lab/run --rdma-netns exclusive`.
#define RAILCHECK_REQUIRE_EXCLUSIVE_LAB(map_var)                                                    \
  auto map_var##_opt = ::railcheck::lab::lab_map();                                                 \
  if (!map_var##_opt || map_var##_opt->rdma_netns != "exclusive")                                   \
    GTEST_SKIP() << "not in an exclusive-mode lab: run under lab/run --rdma-netns exclusive";        \
  const ::railcheck::lab::LabMap& map_var = *map_var##_opt
