#pragma once
// The shipped profiles (profiles/*.json), compiled in at build time so the binary needs no
// files: reports/CMakeLists.txt generates the table from the files themselves.

#include <span>
#include <string_view>

namespace railcheck::reports {

struct BuiltinProfile {
  std::string_view name;  // the file's name without ".json"
  std::string_view json;  // its text
};

extern const std::span<const BuiltinProfile> kBuiltinProfiles;

}  // namespace railcheck::reports
