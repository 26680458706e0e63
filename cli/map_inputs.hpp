#pragma once
// What `railcheck topo` and `railcheck check` share: where the rail map comes from (the
// pod's podinfo folder, a sysfs root, an hwloc XML: live by default, offline when given) and
// where the output goes (stdout, or -o FILE).

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "topology/rail_map.hpp"

namespace railcheck::cli {

struct MapInputOptions {
  std::string podinfo;     // empty: the default folder when it holds annotations, else none
  std::string hwloc_xml;   // empty: this machine's hwloc
  std::string sysfs_root = "/sys";
  std::string format = "table";  // table | json
  std::string output;      // empty: stdout
  std::vector<std::string> non_rail_nics;  // --non-rail-nic: storage/management NICs on a GPU's switch
};

// Adds --podinfo, --hwloc-xml, --sysfs-root, --non-rail-nic, --format and -o to `sub`.
void add_map_input_options(CLI::App& sub, MapInputOptions& opt, const std::string& json_schema,
                           const std::string& output_what);

// Those inputs for topology::build_rail_map, with the PCIDEVICE_* environment.
topology::RailMapInputs map_inputs(const MapInputOptions& opt);
// This machine's inputs with the podinfo folder `podinfo_dir` (empty: the default when it has
// annotations): where lat/bw/serve place the NIC under test to choose its nearest GPU.
topology::RailMapInputs live_map_inputs(const std::string& podinfo_dir);

// The rail map from those inputs (and the PCIDEVICE_* environment).
Result<topology::RailMap> build_map(const MapInputOptions& opt);

// Writes `text` to stdout or to opt.output; a file that cannot be written is an error line
// naming `command` and the file, and exit code 1.
int write_output(const MapInputOptions& opt, const char* command, const std::string& text);

}  // namespace railcheck::cli
