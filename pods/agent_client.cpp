#include "pods/agent_client.hpp"

#include <fmt/format.h>

#include <httplib.h>

#include <charconv>

namespace railcheck::pods {
namespace {

using nlohmann::json;

void set_timeout(httplib::Client& c, Seconds t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t).count();
  const time_t sec = static_cast<time_t>(us / 1'000'000);
  const time_t usec = static_cast<time_t>(us % 1'000'000);
  c.set_connection_timeout(std::min<time_t>(sec, 5), sec >= 5 ? 0 : usec);
  c.set_read_timeout(sec, usec);
  c.set_write_timeout(std::min<time_t>(sec, 10), sec >= 10 ? 0 : usec);
}

// httplib's error names are terse ("Connection"): say what happened.
std::string transport_error(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection: return "cannot connect: refused, or no route to it";
    case httplib::Error::ConnectionTimeout: return "no answer to the connection attempt in time";
    case httplib::Error::Read: return "the connection dropped, or no answer in time";
    case httplib::Error::Write: return "the connection dropped while sending";
    default: return httplib::to_string(e);
  }
}

}  // namespace

AgentClient::AgentClient(std::string host, uint16_t port, std::string token)
    : host_(std::move(host)), port_(port), token_(std::move(token)) {}

std::string AgentClient::address() const {
  return host_.find(':') != std::string::npos ? fmt::format("[{}]:{}", host_, port_)
                                              : fmt::format("{}:{}", host_, port_);
}

AgentResult<json> AgentClient::call(const char* method, const std::string& path, const std::string& body,
                                    Seconds timeout, bool auth) const {
  httplib::Client c(host_, port_);
  set_timeout(c, timeout);
  c.set_keep_alive(false);
  httplib::Headers headers;
  if (auth) headers.emplace("Authorization", "Bearer " + token_);
  httplib::Result r = std::string_view(method) == "GET" ? c.Get(path, headers)
                                                         : c.Post(path, headers, body, "application/json");
  if (!r) {
    return std::unexpected(AgentError{AgentFailure::kUnreachable, 0,
                                      fmt::format("agent {} unreachable ({} {}: {})", address(), method, path,
                                                  transport_error(r.error()))});
  }
  json j = json::parse(r->body, nullptr, false);
  auto agent_message = [&] {
    if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
    return r->body.substr(0, 200);
  };
  switch (r->status) {
    case 200: break;
    case 401:
      return std::unexpected(AgentError{AgentFailure::kUnauthorized, 401,
                                        fmt::format("agent {} refused our token (401: {}): the coordinator and the "
                                                    "agents must share one token (--token-file)",
                                                    address(), agent_message())});
    case 409:
      return std::unexpected(AgentError{AgentFailure::kBusy, 409, fmt::format("agent {}: {}", address(), agent_message())});
    default:
      return std::unexpected(AgentError{AgentFailure::kRefused, r->status,
                                        fmt::format("agent {} answered {} {} with {}: {}", address(), method, path,
                                                    r->status, agent_message())});
  }
  if (j.is_discarded() || !j.is_object()) {
    return std::unexpected(AgentError{AgentFailure::kRefused, r->status,
                                      fmt::format("agent {}: {} {} did not answer a JSON object", address(), method, path)});
  }
  return j;
}

AgentResult<json> AgentClient::health(Seconds timeout) const { return call("GET", "/healthz", {}, timeout, false); }

AgentResult<json> AgentClient::inventory(Seconds timeout) const {
  return call("GET", "/v1/inventory", {}, timeout, true);
}

AgentResult<json> AgentClient::post_test(const TestRequest& request, Seconds timeout) const {
  auto r = call("POST", "/v1/tests", to_json(request).dump(), timeout, true);
  if (!r) return r;
  if (!r->value("ok", false)) {
    const bool waived = r->value("waived", false);
    return std::unexpected(AgentError{waived ? AgentFailure::kWaived : AgentFailure::kTestFailed, 200,
                                      r->value("error", std::string("test failed"))});
  }
  return r;
}

Result<std::pair<std::string, uint16_t>> parse_agent_address(const std::string& text, uint16_t default_port) {
  std::string host = text;
  std::string port_text;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string::npos) return fail(Errc::kInvalidArgument, fmt::format("agent address '{}': no ']'", text));
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return fail(Errc::kInvalidArgument, fmt::format("agent address '{}'", text));
      port_text = text.substr(close + 2);
    }
  } else if (const size_t colon = text.rfind(':'); colon != std::string::npos) {
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (host.empty()) {
    return fail(Errc::kInvalidArgument, fmt::format("agent address '{}' has no host", text), "write HOST:PORT");
  }
  uint16_t port = default_port;
  if (!port_text.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (ec != std::errc{} || p != port_text.data() + port_text.size() || v == 0 || v > 65535) {
      return fail(Errc::kInvalidArgument, fmt::format("agent address '{}': port '{}' is not 1..65535", text, port_text));
    }
    port = static_cast<uint16_t>(v);
  }
  return std::pair{host, port};
}

}  // namespace railcheck::pods
