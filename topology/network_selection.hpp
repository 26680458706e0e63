#pragma once
// The `k8s.v1.cni.cncf.io/networks` annotation: which networks the pod asked Multus for, either
// as text ("ns/name@if, name2") or as a JSON list of selection elements. It is the only place a
// pod can read what ib-kubernetes decided for it: the GUID it allocated and the pkey of the
// network (`cni-args`: {"guid": "02:00:...", "pkey": "0x6", "mellanox.infiniband.app":
// "configured"}), which the InfiniBand checks compare with the VF's sysfs. network-status (what
// Multus did) carries neither.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace railcheck::topology {

inline constexpr std::string_view kNetworksKey = "k8s.v1.cni.cncf.io/networks";

struct NetworkSelection {
  std::string name;        // "ib-rail1"
  std::string nspace;      // "default"; empty: the pod's own namespace
  std::string interface;   // "net1"; empty: Multus names it
  std::string infiniband_guid;  // the element's "infiniband-guid" (runtime config); empty when absent
  // cni-args: strings as they are, numbers and booleans as their JSON text, objects and
  // arrays as compact JSON.
  std::map<std::string, std::string> cni_args;

  // Does this element select the network-status entry `status_name` ("ns/name") at `iface`?
  [[nodiscard]] bool selects(std::string_view status_name, std::string_view iface) const;
};

// Parses the annotation's value; Errc::kProtocol names the element and field that is wrong.
Result<std::vector<NetworkSelection>> parse_network_selections(std::string_view text);

}  // namespace railcheck::topology
