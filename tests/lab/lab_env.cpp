#include "lab/lab_env.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/process.hpp"

namespace railcheck::lab {

std::optional<LabMap> lab_map() {
  const char* path = std::getenv("LAB_MAP");
  if (path == nullptr || *path == '\0') return std::nullopt;
  std::ifstream in(path);
  try {
    const nlohmann::json doc = nlohmann::json::parse(in);
    LabMap map{.mode = doc.at("mode").get<std::string>(), .rdma_netns = doc.value("rdma_netns", "shared"),
               .pods = {}};
    for (const auto& p : doc.at("pods")) {
      Pod pod{.name = p.at("name"), .netns = p.at("netns"), .eth0 = p.at("eth0"), .podinfo = p.at("podinfo"),
              .rails = {}};
      for (const auto& r : p.at("rails")) {
        pod.rails.push_back(RailPort{.rail = r.at("rail"), .interface = r.at("interface"),
                                     .network = r.at("network"), .ip = r.at("ip"), .ip6 = r.value("ip6", ""),
                                     .rdma_device = r.at("rdma_device"), .netdev = r.at("netdev"),
                                     .mac = r.at("mac"), .gateway = r.value("gateway", ""),
                                     .table = r.value("table", 0)});
      }
      map.pods.push_back(std::move(pod));
    }
    return map;
  } catch (const nlohmann::json::exception& e) {
    std::fprintf(stderr, "lab map %s is unreadable: %s\n", path, e.what());
    std::abort();
  }
}

std::string in_pod(const Pod& pod, const std::string& command) {
  return "ip netns exec " + testing::shell_quote(pod.netns) + " " + command;
}

}  // namespace railcheck::lab
