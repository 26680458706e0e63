#include "topology/network_status.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace railcheck::topology {
namespace {

using nlohmann::json;

// Reads an optional string field; a present field of the wrong type is an error.
Result<std::string> opt_string(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::string{};
  if (!it->is_string()) return fail(Errc::kProtocol, fmt::format("{}: \"{}\" must be a string", where, key));
  return it->get<std::string>();
}

Result<std::vector<std::string>> opt_strings(const json& obj, const char* key, const std::string& where) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) return fail(Errc::kProtocol, fmt::format("{}: \"{}\" must be an array", where, key));
  for (const json& v : *it) {
    if (!v.is_string()) {
      return fail(Errc::kProtocol, fmt::format("{}: \"{}\" must hold strings", where, key));
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<std::optional<PciDeviceInfo>> parse_device_info(const json& entry, const std::string& where) {
  auto it = entry.find("device-info");
  if (it == entry.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) return fail(Errc::kProtocol, where + ": \"device-info\" must be an object");
  auto pci = it->find("pci");
  if (pci == it->end() || pci->is_null()) return std::nullopt;  // vdpa, vhost-user, memif
  if (!pci->is_object()) return fail(Errc::kProtocol, where + ": \"device-info.pci\" must be an object");
  const std::string at = where + ": device-info.pci";
  PciDeviceInfo info;
  for (auto [key, field] : {std::pair{"pci-address", &info.pci_address}, std::pair{"rdma-device", &info.rdma_device},
                            std::pair{"pf-pci-address", &info.pf_pci_address}}) {
    auto v = opt_string(*pci, key, at);
    if (!v) return std::unexpected(v.error());
    *field = std::move(*v);
  }
  return info;
}

Result<NetworkStatus> parse_entry(const json& entry, size_t index) {
  std::string where = fmt::format("network-status entry {}", index);
  if (!entry.is_object()) return fail(Errc::kProtocol, where + " is not an object");
  NetworkStatus st;
  auto name = opt_string(entry, "name", where);
  if (!name) return std::unexpected(name.error());
  if (name->empty()) return fail(Errc::kProtocol, where + ": \"name\" is missing");
  st.name = std::move(*name);
  where += " (" + st.name + ")";
  for (auto [key, field] : {std::pair{"interface", &st.interface}, std::pair{"mac", &st.mac}}) {
    auto v = opt_string(entry, key, where);
    if (!v) return std::unexpected(v.error());
    *field = std::move(*v);
  }
  for (auto [key, field] : {std::pair{"ips", &st.ips}, std::pair{"gateway", &st.gateways}}) {
    auto v = opt_strings(entry, key, where);
    if (!v) return std::unexpected(v.error());
    *field = std::move(*v);
  }
  if (auto it = entry.find("default"); it != entry.end() && !it->is_null()) {
    if (!it->is_boolean()) return fail(Errc::kProtocol, where + ": \"default\" must be true or false");
    st.is_default = it->get<bool>();
  }
  auto pci = parse_device_info(entry, where);
  if (!pci) return std::unexpected(pci.error());
  st.pci = std::move(*pci);
  return st;
}

}  // namespace

Result<std::vector<NetworkStatus>> parse_network_status(std::string_view json_text) {
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return fail(Errc::kProtocol, std::string(kNetworkStatusKey) + " is not valid JSON",
                "check the pod's annotation (kubectl get pod -o yaml)");
  }
  if (!doc.is_array()) return fail(Errc::kProtocol, std::string(kNetworkStatusKey) + " must be a JSON array");
  std::vector<NetworkStatus> out;
  for (size_t i = 0; i < doc.size(); ++i) {
    auto entry = parse_entry(doc[i], i);
    if (!entry) return std::unexpected(entry.error());
    out.push_back(std::move(*entry));
  }
  return out;
}

}  // namespace railcheck::topology
