#include "topology/network_selection.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace railcheck::topology {
namespace {

using nlohmann::json;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// "ns/name@if" (namespace and interface optional), as Multus reads the text form.
Result<NetworkSelection> parse_item(std::string_view item, size_t index) {
  const std::string where = fmt::format("{} item {} ('{}')", kNetworksKey, index, item);
  NetworkSelection sel;
  std::string_view rest = item;
  if (const size_t at = rest.find('@'); at != std::string_view::npos) {
    sel.interface = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (sel.interface.empty()) return fail(Errc::kProtocol, where + ": empty interface name after '@'");
  }
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    sel.nspace = std::string(rest.substr(0, slash));
    rest = rest.substr(slash + 1);
    if (sel.nspace.empty()) return fail(Errc::kProtocol, where + ": empty namespace before '/'");
  }
  if (rest.empty()) return fail(Errc::kProtocol, where + ": no network name");
  if (rest.find_first_of("/@") != std::string_view::npos) {
    return fail(Errc::kProtocol, where + ": expected [namespace/]name[@interface]");
  }
  sel.name = std::string(rest);
  return sel;
}

Result<std::vector<NetworkSelection>> parse_text_form(std::string_view text) {
  std::vector<NetworkSelection> out;
  size_t index = 0;
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view item = trim(text.substr(0, comma));
    if (item.empty()) {
      return fail(Errc::kProtocol, fmt::format("{} item {} is empty", kNetworksKey, index),
                  "expected a comma-separated list of [namespace/]name[@interface]");
    }
    auto sel = parse_item(item, index);
    if (!sel) return std::unexpected(std::move(sel.error()));
    out.push_back(std::move(*sel));
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
    ++index;
  }
  return out;
}

Result<std::string> string_field(const json& obj, const char* key, const std::string& where, bool required) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return fail(Errc::kProtocol, fmt::format("{}: \"{}\" is missing", where, key));
    return std::string{};
  }
  if (!it->is_string()) return fail(Errc::kProtocol, fmt::format("{}: \"{}\" must be a string", where, key));
  return it->get<std::string>();
}

Result<NetworkSelection> parse_element(const json& e, size_t index) {
  std::string where = fmt::format("{} element {}", kNetworksKey, index);
  if (!e.is_object()) return fail(Errc::kProtocol, where + " is not an object");
  NetworkSelection sel;
  auto name = string_field(e, "name", where, /*required=*/true);
  if (!name) return std::unexpected(std::move(name.error()));
  if (name->empty()) return fail(Errc::kProtocol, where + ": \"name\" is empty");
  sel.name = std::move(*name);
  where += " (" + sel.name + ")";
  for (auto [key, field] : {std::pair{"namespace", &sel.nspace}, std::pair{"interface", &sel.interface},
                            std::pair{"infiniband-guid", &sel.infiniband_guid}}) {
    auto v = string_field(e, key, where, /*required=*/false);
    if (!v) return std::unexpected(std::move(v.error()));
    *field = std::move(*v);
  }
  auto args = e.find("cni-args");
  if (args == e.end() || args->is_null()) return sel;
  if (!args->is_object()) return fail(Errc::kProtocol, where + ": \"cni-args\" must be an object");
  for (const auto& [key, value] : args->items()) {
    sel.cni_args.emplace(key, value.is_string() ? value.get<std::string>()
                                                   : value.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  return sel;
}

}  // namespace

bool NetworkSelection::selects(std::string_view status_name, std::string_view iface) const {
  if (!interface.empty() && interface != iface) return false;
  const size_t slash = status_name.find('/');
  const std::string_view ns = slash == std::string_view::npos ? std::string_view{} : status_name.substr(0, slash);
  const std::string_view nm = slash == std::string_view::npos ? status_name : status_name.substr(slash + 1);
  return nm == name && (nspace.empty() || ns.empty() || ns == nspace);
}

Result<std::vector<NetworkSelection>> parse_network_selections(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::vector<NetworkSelection>{};
  if (text.front() != '[') return parse_text_form(text);
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return fail(Errc::kProtocol, std::string(kNetworksKey) + " is not valid JSON",
                "check the pod's annotation (kubectl get pod -o yaml)");
  }
  if (!doc.is_array()) return fail(Errc::kProtocol, std::string(kNetworksKey) + " must be a JSON array");
  std::vector<NetworkSelection> out;
  for (size_t i = 0; i < doc.size(); ++i) {
    auto sel = parse_element(doc[i], i);
    if (!sel) return std::unexpected(std::move(sel.error()));
    out.push_back(std::move(*sel));
  }
  return out;
}

}  // namespace railcheck::topology
