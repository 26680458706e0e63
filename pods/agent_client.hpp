#pragma once
// The coordinator's side of the agent API (pods/api.hpp): one agent, one address, the token.
// Every call is bounded by a timeout; errors say which agent and what happened (unreachable,
// 401 wrong token, 409 busy, the agent's own error message).

#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "pods/api.hpp"

namespace railcheck::pods {

using Seconds = std::chrono::duration<double>;

// What went wrong talking to an agent, beyond Error's text.
enum class AgentFailure : uint8_t { kNone, kUnreachable, kUnauthorized, kBusy, kRefused, kTestFailed, kWaived };

struct AgentError {
  AgentFailure kind = AgentFailure::kNone;
  int http_status = 0;
  std::string message;
};

template <class T>
using AgentResult = std::expected<T, AgentError>;

class AgentClient {
 public:
  AgentClient(std::string host, uint16_t port, std::string token);

  [[nodiscard]] const std::string& host() const noexcept { return host_; }
  [[nodiscard]] uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string address() const;

  AgentResult<nlohmann::json> health(Seconds timeout) const;
  AgentResult<nlohmann::json> inventory(Seconds timeout) const;
  // POST /v1/tests. A 200 whose body says {"ok": false} is kTestFailed with the agent's message
  // (kWaived when it says the test cannot apply there: GPU memory without a GPU).
  AgentResult<nlohmann::json> post_test(const TestRequest& request, Seconds timeout) const;

 private:
  AgentResult<nlohmann::json> call(const char* method, const std::string& path, const std::string& body,
                                   Seconds timeout, bool auth) const;
  std::string host_;
  uint16_t port_;
  std::string token_;
};

// "host:port" or "host" (default port) -> host, port; "[v6]:port" too.
Result<std::pair<std::string, uint16_t>> parse_agent_address(const std::string& text, uint16_t default_port);

}  // namespace railcheck::pods
