#pragma once
// One fuzz input through everything that reads a pod's annotations: the downward-API file
// parser (and Go unquoting), Multus's network-status, the networks annotation, and, when a
// podinfo folder is given, build_rail_map over a fixture sysfs tree (where annotation values
// become sysfs paths). The invariants beyond "no crash, no sanitizer report": every error
// names something (a non-empty `what`) and parse errors are Errc::kProtocol.
//
// Returns the number of invariant violations and describes the first in `problem`.

#include <cstddef>
#include <cstdint>
#include <string>

namespace railcheck::topology::fuzz {

struct FuzzEnv {
  std::string podinfo_dir;  // empty: no build_rail_map; else its `annotations` gets the input
  std::string sysfs_root;   // a fixture tree for build_rail_map
};

int fuzz_one_input(const uint8_t* data, size_t size, const FuzzEnv& env, std::string& problem);

}  // namespace railcheck::topology::fuzz
