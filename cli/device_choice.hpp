#pragma once
// How `lat`, `bw` and `serve` pick the local RDMA device, in the order an operator names it:
// --device mlx5_3; --netdev net3; --rail net3 through the pod's Multus network-status
// (--podinfo DIR); or, with none of these, the device whose RoCEv2 GID carries our IP on the
// route to the peer.

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "common/error.hpp"
#include "verbs/endpoint.hpp"

namespace railcheck::cli {

struct DeviceChoice {
  std::string device;
  std::string netdev;
  std::string rail;
  std::string podinfo_dir;
  int port = 1;
  int gid_index = -1;
  std::string pkey_text;          // --pkey as given
  std::optional<uint16_t> pkey;   // parsed
};

// Adds --device/--netdev/--rail/--podinfo/--ib-port/--gid-index to a subcommand.
void add_device_options(CLI::App& app, DeviceChoice& choice);

// The device, port and GID address to use; `local_ip` is our address toward the peer.
Result<verbs::DeviceSpec> resolve_device(const DeviceChoice& choice, const std::string& local_ip);

}  // namespace railcheck::cli
