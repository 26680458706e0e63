#pragma once
// What this binary is: its version, the commit it was built from, and which optional parts
// were compiled in. Generated at build time (cmake/WriteBuildInfo.cmake), so `railcheck
// version` always names the commit that was actually built.

#include <string_view>

namespace railcheck {

struct BuildInfo {
  std::string_view version;
  std::string_view git_commit;  // `git describe --always --dirty`, or "unknown"
  std::string_view build_type;
  bool cuda_built_in;
  std::string_view cuda_toolkit_version;  // empty when CUDA is not built in
  bool sanitizers;
};

const BuildInfo& build_info() noexcept;

}  // namespace railcheck
