#pragma once
// The agent: one per node (the rdma-tools DaemonSet pod). It serves the pod's rail map and
// check results, and runs single tests on request, as server or client, on a named interface:
// the coordinator pairs agents up. See pods/api.hpp for the API and docs/cluster.md.
//
// Rules it keeps: one test per interface at a time (409 otherwise), tests on different
// interfaces run at once; every test is bounded (accept and progress timeouts, and a hard
// limit after which the server side's connection is cut); a request it cannot parse gets a 400
// naming the field; a request without the bearer token gets a 401 and a log line.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "pods/api.hpp"
#include "pods/rails.hpp"
#include "topology/rail_map.hpp"

namespace railcheck::pods {

struct AgentOptions {
  std::string listen;          // address to serve on; empty: primary_ipv4(), else 0.0.0.0
  uint16_t port = kDefaultAgentPort;
  std::string token;           // the bearer token every /v1 request must carry
  std::string node;            // Kubernetes node name
  std::string pod;             // pod name
  topology::RailMapInputs map_inputs;
  // The setup checks for a rail map, as a railcheck.check/v1 document (the CLI supplies it,
  // since gathering the live facts belongs to `railcheck check`). Empty: no checks served.
  std::function<nlohmann::json(const topology::RailMap&)> checks;
  double max_test_seconds = 600;  // a test running longer is cut off
  uint32_t http_threads = 16;
};

class Agent {
 public:
  explicit Agent(AgentOptions options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Builds the rail map and binds the listening socket; errors name the address and why.
  Result<void> start();
  // Serves until stop() (from another thread or a signal handler's thread).
  void serve();
  void stop();

  [[nodiscard]] std::string address() const;  // "10.233.0.10:7400", once started
  [[nodiscard]] uint16_t bound_port() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// This pod's primary IPv4: the source address of the default route, else eth0's; empty when
// neither exists.
std::string primary_ipv4();

// Every IPv4 address of every interface with its prefix length, from getifaddrs.
struct InterfaceAddress {
  std::string interface;
  std::string ipv4;
  uint32_t prefix_len = 0;
};
std::vector<InterfaceAddress> interface_addresses();

// What the coordinator groups rails by, for one rail map (prefix lengths from `addresses`).
std::vector<InterfaceFacts> interface_facts(const topology::RailMap& map,
                                            const std::vector<InterfaceAddress>& addresses);

}  // namespace railcheck::pods
