#pragma once
// The agent's HTTP/JSON API, shared by the agent (parses requests) and the coordinator (builds
// them). Version 1, under /v1:
//   GET  /healthz        no auth  {"ok": true, "node": ..., "pod": ..., "version": ...}
//   GET  /metrics        no auth  Prometheus text
//   GET  /v1/inventory   bearer   node, pod, version, interfaces (with prefix lengths), the
//                                 rail map (railcheck.topo/v1) and the checks (railcheck.check/v1)
//   POST /v1/tests       bearer   one test on one interface, as server or client (TestRequest)
// Errors are JSON {"error": "...", "field": "..."} with 400 (bad request: the field named),
// 401 (no or wrong token), 404, 409 (the interface is busy), 413 (body too large), 503.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "pods/rails.hpp"
#include "reports/results.hpp"
#include "topology/rail_map.hpp"
#include "verbs/spec.hpp"

namespace railcheck::pods {

inline constexpr uint16_t kDefaultAgentPort = 7400;
inline constexpr size_t kMaxRequestBytes = 64 * 1024;
// An agent never allocates more than this for one test's buffers (qps x 2 regions x size).
inline constexpr uint64_t kMaxTestBufferBytes = 1ull << 30;

enum class Role : uint8_t { kServer, kClient };

struct TestRequest {
  Role role = Role::kServer;
  std::string interface;       // the pod interface to test on: "net1"
  verbs::RunSpec spec;
  // How the records name this agent's node (the coordinator's name for it: the node, or
  // node/pod where agents share a node); empty: the agent's node name.
  std::string name;
  // client only: where the server agent listens for the test's out-of-band exchange
  std::string peer;
  uint16_t port = 0;
  // client only: the server's end as its agent described it (the "end" of its answer to the
  // server request); the client adds what the run measured there. Empty: only what was measured.
  std::optional<reports::PairEnd> peer_end;
  double timeout_s = 10;         // no progress for this long: the peer is gone
  double accept_timeout_s = 30;  // server only: how long to wait for the client
};

// A request the API refused: the HTTP status, and the field at fault (empty: the body).
struct RequestError {
  int status = 400;
  std::string field;
  std::string message;
};

// Parses and validates a POST /v1/tests body. Unknown fields, wrong types, missing fields and
// out-of-range values are refused, naming the field ("spec.qps", "port").
std::expected<TestRequest, RequestError> parse_test_request(std::string_view body);
nlohmann::json to_json(const TestRequest& req);

nlohmann::json error_body(const RequestError& e);

// GET /v1/inventory's answer: written by the agent, read by the coordinator.
struct Inventory {
  std::string node;
  std::string pod;
  std::string version;
  std::string git_commit;
  std::string error;                        // why the pod's rail map could not be built; empty: none
  std::vector<InterfaceFacts> interfaces;   // what rails are grouped by (with prefix lengths)
  std::optional<topology::RailMap> rail_map;
  nlohmann::json rail_map_json;             // the rail map as sent (railcheck.topo/v1), for the report
  nlohmann::json checks;                    // railcheck.check/v1, or null
};
nlohmann::json to_json(const Inventory& inv);
// Errors name the field ("rail_map.ports[1].rate_gbps"); interfaces without a name or an RDMA
// device are left out (they cannot be tested).
Result<Inventory> inventory_from_json(const nlohmann::json& j);

// "Bearer <token>" -> token; nullopt for anything else.
std::optional<std::string_view> bearer_token(std::string_view authorization_header) noexcept;
// Compares in time independent of where the strings differ (length leaks, content does not).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// The token in a file (trailing whitespace and newlines dropped); an empty file is an error.
Result<std::string> read_token_file(const std::string& path);

}  // namespace railcheck::pods
