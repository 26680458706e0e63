#pragma once
// What the rail-map and check tests share: the pod shapes under fixtures/sysfs (a sysfs tree,
// a podinfo folder and the PCIDEVICE_* env of each), turned into rail maps, and a scratch
// folder removed at the end of a test.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "topology/checks.hpp"
#include "topology/rail_map.hpp"

namespace railcheck::topology::testing {

inline const std::string kFixtures = RAILCHECK_FIXTURES;

inline std::string shape_dir(const std::string& shape) { return kFixtures + "/sysfs/" + shape; }

// The shape's PCIDEVICE_* variables (its `env` file, KEY=VALUE lines).
inline std::map<std::string, std::string> shape_env(const std::string& shape) {
  std::map<std::string, std::string> env;
  std::ifstream in(shape_dir(shape) + "/env");
  for (std::string line; std::getline(in, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

inline RailMapInputs inputs_for(const std::string& shape, const std::string& hwloc) {
  return RailMapInputs{.podinfo_dir = shape_dir(shape) + "/podinfo",
                       .sysfs_root = shape_dir(shape) + "/sys",
                       .hwloc_xml = kFixtures + "/hwloc/" + hwloc,
                       .env = shape_env(shape),
                       .non_rail_nics = {}};
}

// The map of `in`; a failure to build it fails the test (and an empty map comes back).
inline RailMap build_ok(const RailMapInputs& in) {
  auto map = build_rail_map(in);
  EXPECT_TRUE(map.has_value()) << map.error().message();
  return map ? std::move(*map) : RailMap{};
}

// The first result about `subject` ("net1", "GPU0", "" for a pod-wide one); nullptr when none.
inline const CheckResult* find_subject(const std::vector<CheckResult>& results, const std::string& subject) {
  for (const CheckResult& r : results) {
    if (r.subject == subject) return &r;
  }
  return nullptr;
}

// A folder under the temp dir, removed at the end of the test.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("railcheck_" + std::to_string(::getpid()) + "_" + name)) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace railcheck::topology::testing
