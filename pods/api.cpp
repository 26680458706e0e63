#include "pods/api.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <fstream>
#include <iterator>

namespace railcheck::pods {
namespace {

using nlohmann::json;

std::unexpected<RequestError> bad(std::string field, std::string message, int status = 400) {
  return std::unexpected(RequestError{.status = status, .field = std::move(field), .message = std::move(message)});
}

// The spec field an error from spec_from_json()/validate() is about: "spec.<field>: ..." from
// the JSON reader, "qps 100: ..." / "warmup iters 5" / "tx-depth 0" from validate().
std::string spec_field(const std::string& what) {
  if (what.starts_with("spec.")) return what.substr(0, what.find_first_of(": "));
  static constexpr std::pair<std::string_view, std::string_view> kWords[] = {
      {"sizes", "sizes"},   {"size ", "sizes"},   {"duration", "duration_s"}, {"iters", "iters"},
      {"warmup", "warmup_iters"}, {"qps", "qps"}, {"tx-depth", "tx_depth"},   {"bidir", "bidir"},
      {"test", "test"},     {"op", "op"}};
  for (const auto& [word, field] : kWords) {
    if (what.starts_with(word)) return fmt::format("spec.{}", field);
  }
  return "spec";
}

}  // namespace

std::expected<TestRequest, RequestError> parse_test_request(std::string_view body) {
  if (body.size() > kMaxRequestBytes) {
    return bad("", fmt::format("request body is {} bytes, the limit is {}", body.size(), kMaxRequestBytes));
  }
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("", "request body is not valid JSON");
  if (!j.is_object()) return bad("", "request body must be a JSON object");

  static constexpr std::string_view kFields[] = {"role", "interface", "spec", "peer", "port", "timeout_s",
                                                 "accept_timeout_s"};
  for (const auto& [key, value] : j.items()) {
    if (std::ranges::find(kFields, key) == std::end(kFields)) {
      return bad(key, fmt::format("unknown field \"{}\" (fields: role, interface, spec, peer, port, timeout_s, "
                                  "accept_timeout_s)",
                                  key));
    }
  }
  TestRequest req;
  auto str = [&](const char* key, std::string& out) -> std::optional<RequestError> {
    auto it = j.find(key);
    if (it == j.end()) return RequestError{400, key, fmt::format("missing field \"{}\"", key)};
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      return RequestError{400, key, fmt::format("\"{}\" must be a non-empty string", key)};
    }
    out = it->get<std::string>();
    return std::nullopt;
  };
  auto seconds = [&](const char* key, double& out, double lo, double hi) -> std::optional<RequestError> {
    auto it = j.find(key);
    if (it == j.end()) return std::nullopt;
    if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < lo || it->get<double>() > hi) {
      return RequestError{400, key, fmt::format("\"{}\" must be a number of seconds in [{}, {}]", key, lo, hi)};
    }
    out = it->get<double>();
    return std::nullopt;
  };

  std::string role;
  if (auto e = str("role", role)) return std::unexpected(*e);
  if (role == "server") req.role = Role::kServer;
  else if (role == "client") req.role = Role::kClient;
  else return bad("role", fmt::format("\"role\" is \"{}\": use \"server\" or \"client\"", role));
  if (auto e = str("interface", req.interface)) return std::unexpected(*e);
  if (req.interface.size() > 64) return bad("interface", "\"interface\" is longer than 64 characters");

  auto spec_it = j.find("spec");
  if (spec_it == j.end()) return bad("spec", "missing field \"spec\" (the test to run, as `railcheck lat/bw` takes it)");
  auto spec = verbs::spec_from_json(*spec_it);
  if (!spec) {
    // spec_from_json names "spec.<field>" at the start of its message.
    return bad(spec_field(spec.error().what), spec.error().message());
  }
  req.spec = *spec;
  const uint64_t buffer = uint64_t{req.spec.qps} * 2 * req.spec.max_size_bytes();
  if (buffer > kMaxTestBufferBytes) {
    return bad("spec.sizes", fmt::format("qps x 2 x largest size = {} is more than the agent's limit of {}",
                                               verbs::format_size(buffer), verbs::format_size(kMaxTestBufferBytes)));
  }

  if (auto e = seconds("timeout_s", req.timeout_s, 0.1, 3600)) return std::unexpected(*e);
  if (auto e = seconds("accept_timeout_s", req.accept_timeout_s, 0.1, 3600)) return std::unexpected(*e);
  if (req.role == Role::kClient) {
    if (auto e = str("peer", req.peer)) return std::unexpected(*e);
    if (req.peer.size() > 253) return bad("peer", "\"peer\" is longer than a host name can be");
    auto it = j.find("port");
    if (it == j.end()) return bad("port", "missing field \"port\" (the server agent's test port)");
    if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 65535) {
      return bad("port", "\"port\" must be an integer in [1, 65535]");
    }
    req.port = static_cast<uint16_t>(it->get<int64_t>());
  } else {
    if (j.contains("peer")) return bad("peer", "\"peer\" is for a client; a server waits for its client");
    if (j.contains("port")) return bad("port", "\"port\" is for a client; a server picks a free port and answers it");
  }
  return req;
}

json to_json(const TestRequest& req) {
  json j{{"role", req.role == Role::kServer ? "server" : "client"},
         {"interface", req.interface},
         {"spec", verbs::to_json(req.spec)},
         {"timeout_s", req.timeout_s}};
  if (req.role == Role::kClient) {
    j["peer"] = req.peer;
    j["port"] = req.port;
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

}  // namespace railcheck::pods
