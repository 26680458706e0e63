#include "pods/api.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <fstream>
#include <iterator>

#include "common/json_reader.hpp"
#include "reports/pair_ends.hpp"
#include "reports/topo_json.hpp"

namespace railcheck::pods {
namespace {

using nlohmann::json;

std::unexpected<RequestError> bad(std::string field, std::string message, int status = 400) {
  return std::unexpected(RequestError{.status = status, .field = std::move(field), .message = std::move(message)});
}

// A reader's or the spec's error as a 400 naming the field it carries.
std::unexpected<RequestError> from(const Error& e) { return bad(e.field, e.message()); }

}  // namespace

std::expected<TestRequest, RequestError> parse_test_request(std::string_view body) {
  if (body.size() > kMaxRequestBytes) {
    return bad("", fmt::format("request body is {} bytes, the limit is {}", body.size(), kMaxRequestBytes));
  }
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("", "request body is not valid JSON");
  if (!j.is_object()) return bad("", "request body must be a JSON object");

  JsonErrors errors;
  JsonReader r(j, "", errors);
  r.only({"role", "interface", "spec", "name", "peer", "port", "peer_end", "timeout_s", "accept_timeout_s"},
         "is not a request field (fields: role, interface, spec, name, peer, port, peer_end, timeout_s, "
         "accept_timeout_s)");
  TestRequest req;
  std::string role;
  r.require("role", role);
  r.require("interface", req.interface);
  r.get("name", req.name);
  r.get_in("timeout_s", req.timeout_s, 0.1, 3600.0);
  r.get_in("accept_timeout_s", req.accept_timeout_s, 0.1, 3600.0);
  if (errors.failed()) return from(errors.error());
  if (role == "server") req.role = Role::kServer;
  else if (role == "client") req.role = Role::kClient;
  else return bad("role", fmt::format("role is \"{}\": use \"server\" or \"client\"", role));
  if (req.interface.empty()) return bad("interface", "interface must be a non-empty string");
  if (req.interface.size() > 64) return bad("interface", "interface is longer than 64 characters");
  if (req.name.size() > 253) return bad("name", "name is longer than a node name can be");

  const json* spec = r.find("spec");
  if (spec == nullptr) return bad("spec", "spec is missing (the test to run, as `railcheck lat/bw` takes it)");
  auto parsed = verbs::spec_from_json(*spec, "spec");
  if (!parsed) return from(parsed.error());
  req.spec = *parsed;
  const uint64_t buffer = uint64_t{req.spec.qps} * 2 * req.spec.max_size_bytes();
  if (buffer > kMaxTestBufferBytes) {
    return bad("spec.sizes", fmt::format("qps x 2 x largest size = {} is more than the agent's limit of {}",
                                         verbs::format_size(buffer), verbs::format_size(kMaxTestBufferBytes)));
  }
  if (req.role == Role::kServer) {
    for (const char* client_only : {"peer", "port", "peer_end"}) {
      if (j.contains(client_only)) {
        return bad(client_only, fmt::format("{} is for a client; a server waits for its client", client_only));
      }
    }
    return req;
  }
  r.require("peer", req.peer);
  uint32_t port = 0;
  if (r.require("port", port) && (port < 1 || port > 65535)) return bad("port", "port must be an integer in [1, 65535]");
  if (errors.failed()) return from(errors.error());
  if (req.peer.empty()) return bad("peer", "peer must be a non-empty string");
  if (req.peer.size() > 253) return bad("peer", "peer is longer than a host name can be");
  req.port = static_cast<uint16_t>(port);
  if (const json* end = r.find("peer_end")) {
    auto e = reports::end_from_json(*end, "peer_end");
    if (!e) return from(e.error());
    req.peer_end = std::move(*e);
  }
  return req;
}

json to_json(const TestRequest& req) {
  json j{{"role", req.role == Role::kServer ? "server" : "client"},
         {"interface", req.interface},
         {"spec", verbs::to_json(req.spec)},
         {"timeout_s", req.timeout_s}};
  if (!req.name.empty()) j["name"] = req.name;
  if (req.role == Role::kClient) {
    j["peer"] = req.peer;
    j["port"] = req.port;
    if (req.peer_end) j["peer_end"] = reports::to_json(*req.peer_end);
  } else {
    j["accept_timeout_s"] = req.accept_timeout_s;
  }
  return j;
}

json error_body(const RequestError& e) {
  json j{{"error", e.message}};
  if (!e.field.empty()) j["field"] = e.field;
  return j;
}

std::optional<std::string_view> bearer_token(std::string_view h) noexcept {
  constexpr std::string_view kScheme = "Bearer ";
  if (h.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {  // the scheme is case-insensitive (RFC 7235)
    const char c = h[i];
    const char want = kScheme[i];
    if (c != want && !(c >= 'A' && c <= 'Z' && c + 32 == want) && !(c >= 'a' && c <= 'z' && c - 32 == want)) {
      return std::nullopt;
    }
  }
  std::string_view token = h.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Touch every byte of the longer string whatever the contents; fold the length difference in.
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned char>(x ^ y);
  }
  // Keep the compiler from turning the loop into an early-exit compare.
  volatile unsigned char result = diff;
  return result == 0;
}

Result<std::string> read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return fail_errno(fmt::format("read token file {}", path), errno,
                      "mount the token Secret there (the chart does), or give --token-file");
  }
  std::string token{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) {
    token.pop_back();
  }
  if (token.empty()) {
    return fail(Errc::kInvalidArgument, fmt::format("token file {} is empty", path),
                "put the shared agent token in it (any string; the chart generates one)");
  }
  return token;
}

json to_json(const Inventory& inv) {
  json interfaces = json::array();
  for (const InterfaceFacts& f : inv.interfaces) {
    interfaces.push_back({{"interface", f.interface},
                          {"network", f.network},
                          {"ipv4", f.ipv4},
                          {"prefix_len", f.prefix_len},
                          {"rdma_device", f.rdma_device}});
  }
  json j{{"node", inv.node},
         {"pod", inv.pod},
         {"version", inv.version},
         {"git_commit", inv.git_commit},
         {"interfaces", std::move(interfaces)},
         {"rail_map", inv.rail_map_json},
         {"checks", inv.checks}};
  if (!inv.error.empty()) j["error"] = inv.error;
  return j;
}

Result<Inventory> inventory_from_json(const json& j) {
  JsonErrors errors("inventory: ");
  JsonReader r(j, "", errors);
  Inventory inv;
  r.get("node", inv.node);
  r.get("pod", inv.pod);
  r.get("version", inv.version);
  r.get("git_commit", inv.git_commit);
  r.get("error", inv.error);
  r.each("interfaces", [&](const json& e, const std::string& path) {
    JsonReader i(e, path, errors);
    InterfaceFacts f;
    i.get("interface", f.interface);
    i.get("network", f.network);
    i.get("ipv4", f.ipv4);
    i.get_in("prefix_len", f.prefix_len, 0u, 32u);
    i.get("rdma_device", f.rdma_device);
    if (!f.interface.empty() && !f.rdma_device.empty()) inv.interfaces.push_back(std::move(f));
  });
  r.get("rail_map", inv.rail_map_json);
  r.get("checks", inv.checks);
  if (errors.failed()) return errors.unexpected();
  if (inv.rail_map_json.is_object()) {
    auto map = reports::topo_from_json(inv.rail_map_json, "rail_map");
    if (!map) return fail(map.error().code, "inventory: " + map.error().what, map.error().hint);
    inv.rail_map = std::move(*map);
  }
  return inv;
}

}  // namespace railcheck::pods
