// An endpoint's description as it travels in the handshake (the hello and the accept) and
// lands in the run record: what the peer needs to connect and address memory, and what this
// side turned out to be.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/json_reader.hpp"
#include "verbs/endpoint.hpp"

namespace railcheck::verbs {

nlohmann::json to_json(const EndpointInfo& info) {
  nlohmann::json qps = nlohmann::json::array();
  for (const QpAddress& q : info.qps) qps.push_back({{"qpn", q.qpn}, {"psn", q.psn}});
  return {{"device", info.device},
          {"link_layer", info.link_layer},
          {"lid", info.lid},
          {"gid", info.gid},
          {"gid_index", info.gid_index},
          {"gid_type", info.gid_type},
          {"mtu", info.mtu_bytes},
          {"rkey", info.rkey},
          {"rx_addr", info.rx_addr},
          {"region_bytes", info.region_bytes},
          {"qps", std::move(qps)},
          {"memory", to_json(info.memory)},
          {"max_qp_rd_atom", info.max_qp_rd_atom},
          {"max_qp_init_rd_atom", info.max_qp_init_rd_atom},
          {"pkey_index", info.pkey_index},
          {"inline_bytes", info.inline_bytes},
          {"relaxed_ordering", info.relaxed_ordering},
          {"scatter_to_cqe", info.scatter_to_cqe},
          {"cpu", info.cpu},
          {"numa_node", info.numa_node},
          {"placement_note", info.placement_note}};
}

Result<EndpointInfo> endpoint_from_json(const nlohmann::json& j) {
  JsonErrors errors("peer's endpoint: ", "is the peer a railcheck of the same version?", Errc::kProtocol);
  JsonReader r(j, "endpoint", errors);
  EndpointInfo info;
  r.require("device", info.device);
  r.require("link_layer", info.link_layer);
  r.require("lid", info.lid);
  r.require("gid", info.gid);
  r.require("gid_index", info.gid_index);
  r.require("gid_type", info.gid_type);
  r.require("mtu", info.mtu_bytes);
  r.require("rkey", info.rkey);
  r.require("rx_addr", info.rx_addr);
  r.require("region_bytes", info.region_bytes);
  r.each("qps", [&](const nlohmann::json& q, const std::string& path) {
    JsonReader qr(q, path, errors);
    QpAddress a;
    qr.require("qpn", a.qpn);
    qr.require("psn", a.psn);
    info.qps.push_back(a);
  });
  r.get("max_qp_rd_atom", info.max_qp_rd_atom);
  r.get("max_qp_init_rd_atom", info.max_qp_init_rd_atom);
  r.get("pkey_index", info.pkey_index);
  r.get("inline_bytes", info.inline_bytes);
  r.get("relaxed_ordering", info.relaxed_ordering);
  r.get("scatter_to_cqe", info.scatter_to_cqe);
  r.get("cpu", info.cpu);
  r.get("numa_node", info.numa_node);
  r.get("placement_note", info.placement_note);
  if (errors.failed()) return errors.unexpected();
  if (const nlohmann::json* m = r.find("memory")) {
    auto memory = memory_info_from_json(*m);
    if (!memory) return std::unexpected(memory.error());
    info.memory = std::move(*memory);
  }
  return info;
}

}  // namespace railcheck::verbs
