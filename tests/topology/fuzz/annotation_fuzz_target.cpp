#include "annotation_fuzz_target.hpp"

#include <fstream>
#include <string_view>

#include "topology/network_selection.hpp"
#include "topology/network_status.hpp"
#include "topology/podinfo.hpp"
#include "topology/rail_map.hpp"

namespace railcheck::topology::fuzz {
namespace {

// Checks one error against the invariants; counts a violation.
template <class T>
void expect_named(const Result<T>& r, const char* what, bool protocol, int& bad, std::string& problem) {
  if (r) return;
  const bool named = !r.error().what.empty();
  const bool right_code = !protocol || r.error().code == Errc::kProtocol;
  if (named && right_code) return;
  if (bad++ == 0) {
    problem = std::string(what) + (named ? ": error code is not kProtocol: " : ": error names nothing") +
              r.error().message();
  }
}

}  // namespace

int fuzz_one_input(const uint8_t* data, size_t size, const FuzzEnv& env, std::string& problem) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  int bad = 0;
  expect_named(unquote_go_string(text), "unquote_go_string", true, bad, problem);
  expect_named(parse_network_status(text), "parse_network_status", true, bad, problem);
  expect_named(parse_network_selections(text), "parse_network_selections", true, bad, problem);
  auto annotations = parse_annotations(text);
  expect_named(annotations, "parse_annotations", true, bad, problem);
  if (annotations) {
    if (auto it = annotations->find(kNetworkStatusKey); it != annotations->end()) {
      expect_named(parse_network_status(it->second), "parse_network_status (annotation)", true, bad, problem);
    }
    if (auto it = annotations->find(kNetworksKey); it != annotations->end()) {
      expect_named(parse_network_selections(it->second), "parse_network_selections (annotation)", true, bad,
                   problem);
    }
  }
  if (!env.podinfo_dir.empty()) {
    {
      std::ofstream out(env.podinfo_dir + "/annotations", std::ios::binary | std::ios::trunc);
      out.write(text.data(), static_cast<std::streamsize>(text.size()));
    }
    RailMapInputs in{.podinfo_dir = env.podinfo_dir, .sysfs_root = env.sysfs_root, .hwloc_xml = std::nullopt,
                     .env = {}, .non_rail_nics = {}};
    auto map = build_rail_map(in);
    expect_named(map, "build_rail_map", false, bad, problem);
    if (map) {
      for (const RailPort& p : map->ports) {
        // What became a sysfs path must be a plain name (rail_map.cpp's is_plain_name).
        for (const auto* name : {&p.interface, p.rdma_device ? &*p.rdma_device : nullptr}) {
          if (name != nullptr && name->find('/') != std::string::npos && bad++ == 0) {
            problem = "build_rail_map kept a name with '/': " + *name;
          }
        }
      }
    }
  }
  return bad;
}

}  // namespace railcheck::topology::fuzz

#ifdef RAILCHECK_LIBFUZZER
// libFuzzer's entry, for a clang build with a libc++ that has std::expected (clang 14 with
// libstdc++ 12 lacks it, so the CI runs the mutation driver instead): parsers only.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string problem;
  if (railcheck::topology::fuzz::fuzz_one_input(data, size, {}, problem) != 0) __builtin_trap();
  return 0;
}
#endif
