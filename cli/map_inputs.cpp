#include "cli/map_inputs.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "cli/command.hpp"
#include "topology/podinfo.hpp"

extern char** environ;  // NOLINT: POSIX

namespace railcheck::cli {
namespace {

std::map<std::string, std::string> pcidevice_env() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || !entry.starts_with("PCIDEVICE_")) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

// The podinfo folder to read: the one given, else the default when it holds annotations.
std::string podinfo_dir(const MapInputOptions& opt) {
  if (!opt.podinfo.empty()) return opt.podinfo;
  const std::string dflt(topology::kDefaultPodinfoDir);
  std::error_code ec;
  return std::filesystem::exists(dflt + "/annotations", ec) ? dflt : std::string{};
}

}  // namespace

void add_map_input_options(CLI::App& sub, MapInputOptions& opt, const std::string& json_schema,
                           const std::string& output_what) {
  sub.add_option("--podinfo", opt.podinfo,
                 fmt::format("Downward-API folder with the pod's annotations (default {} when it has them; "
                             "without: interfaces from sysfs)",
                             topology::kDefaultPodinfoDir))
      ->check(CLI::ExistingDirectory);
  sub.add_option("--hwloc-xml", opt.hwloc_xml, "hwloc XML of the node's PCIe tree (default: this machine's, read live)")
      ->check(CLI::ExistingFile);
  sub.add_option("--sysfs-root", opt.sysfs_root, "Folder laid out like /sys to read instead of it (offline use)")
      ->default_str("/sys")
      ->check(CLI::ExistingDirectory);
  sub.add_option("--non-rail-nic", opt.non_rail_nics,
                 "A NIC on a GPU's PCIe switch that is not a rail (storage, management): RDMA device, netdev or PF bus "
                 "id; repeat or comma-separate")
      ->delimiter(',');
  sub.add_option("--format", opt.format, fmt::format("Output: table (default) or json (schema {})", json_schema))
      ->check(CLI::IsMember({"table", "json"}));
  sub.add_option("-o,--output", opt.output, fmt::format("Write the {} to FILE instead of stdout", output_what));
}

topology::RailMapInputs map_inputs(const MapInputOptions& opt) {
  topology::RailMapInputs inputs{.podinfo_dir = podinfo_dir(opt),
                                 .sysfs_root = opt.sysfs_root,
                                 .hwloc_xml = std::nullopt,
                                 .env = pcidevice_env(),
                                 .non_rail_nics = opt.non_rail_nics};
  if (!opt.hwloc_xml.empty()) inputs.hwloc_xml = opt.hwloc_xml;
  return inputs;
}

topology::RailMapInputs live_map_inputs(const std::string& podinfo_dir) {
  MapInputOptions opt;
  opt.podinfo = podinfo_dir;
  return map_inputs(opt);
}

Result<topology::RailMap> build_map(const MapInputOptions& opt) { return topology::build_rail_map(map_inputs(opt)); }

int write_output(const MapInputOptions& opt, const char* command, const std::string& text) {
  if (opt.output.empty()) {
    std::cout << text;
    return kExitOk;
  }
  std::ofstream out(opt.output);
  if (out) out << text;
  out.close();
  if (!out) {
    std::cerr << fmt::format("railcheck {}: cannot write {}: {}\n", command, opt.output, std::strerror(errno));
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace railcheck::cli
