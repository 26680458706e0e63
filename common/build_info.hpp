#pragma once
// What this binary is: its version, the commit it was built from, its build type. Generated at
// build time (cmake/WriteBuildInfo.cmake), so `railcheck version` always names the commit that
// was actually built. (GPUDirect is in every build: the CUDA driver is loaded at run time.)

#include <string_view>

namespace railcheck {

struct BuildInfo {
  std::string_view version;
  std::string_view git_commit;  // `git describe --always --dirty`, or "unknown"
  std::string_view build_type;
  bool sanitizers;
};

const BuildInfo& build_info() noexcept;

}  // namespace railcheck
