// The ends of a pair: interface facts from a rail map, measured facts from the engine, and
// their JSON form (the records' "src" and "dst").
#include "reports/pair_ends.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "topology/link_budget.hpp"
#include "verbs/addressing.hpp"

namespace railcheck::reports {
namespace {

using nlohmann::json;

template <typename T>
json opt_json(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

PairEnd interface_end(const topology::RailPort& port, std::string node, std::string pod) {
  PairEnd e;
  e.node = std::move(node);
  e.pod = std::move(pod);
  e.interface = port.interface;
  if (auto ip = topology::first_ipv4(port)) e.ip = *ip;
  else if (!port.ips.empty()) e.ip = port.ips.front().substr(0, port.ips.front().find('/'));
  e.device = port.rdma_device.value_or("");
  if (port.roce_gid) e.gid = port.roce_gid->gid;
  e.pci_address = port.pci_address.value_or("");
  e.link_layer = port.link_layer.value_or("");
  e.active_mtu = port.active_mtu;
  e.rate_gbps = port.rate_gbps;
  if (port.nearest_gpu) {
    e.gpu = port.nearest_gpu->ordinal;
    e.gpu_pci_address = port.nearest_gpu->pci_address;
    e.gpu_class = std::string(topology::to_string(port.nearest_gpu->path));
  }
  // Host memory's budget: the port and the NIC's PCIe path (host buffers sit on the NIC's node).
  const topology::LinkBudget budget = topology::link_budget(topology::budget_facts({}, port, false));
  if (budget.expected_gbps) {
    e.budget_gbps = budget.expected_gbps;
    e.budget_note = budget.sentence;
  }
  return e;
}

void add_measured(PairEnd& e, const verbs::EndpointInfo& m) {
  if (!m.device.empty()) e.device = m.device;
  if (!m.link_layer.empty()) e.link_layer = m.link_layer;
  if (m.mtu_bytes > 0) e.active_mtu = m.mtu_bytes;
  if (!m.gid.empty()) {
    e.gid = m.gid;
    if (const std::string ip = verbs::gid_address(m.gid); !ip.empty()) e.ip = ip;
  }
  const verbs::MemoryInfo& mem = m.memory;
  e.mem = mem.kind;
  e.mem_registration = mem.registration;
  e.mem_note = mem.registration_note;
  if (m.cpu >= 0) e.cpu = m.cpu;
  if (m.numa_node >= 0) e.numa_node = m.numa_node;
  e.placement_note = m.placement_note;
  e.relaxed_ordering = m.relaxed_ordering;
  e.inline_bytes = m.inline_bytes;
  e.scatter_to_cqe = m.scatter_to_cqe;
  if (mem.gpu) {  // the GPU the buffer was on, and its class to this NIC as the choice found it
    e.gpu = mem.gpu;
    e.gpu_pci_address = mem.gpu_pci_address;
    e.gpu_class = mem.gpu_distance;
  }
  // GPU memory: what the NIC-GPU path class allows joins the budget (link_budget.hpp kPathCaps).
  if (e.mem != "host" && e.gpu) {
    if (auto path = topology::parse_path_class(e.gpu_class)) {
      if (auto cap = topology::path_cap_gbps(*path); cap && (!e.budget_gbps || *cap < *e.budget_gbps)) {
        topology::BudgetFacts f;
        f.nic = e.device;
        f.gpu_memory = true;
        f.gpu = fmt::format("GPU{}", *e.gpu);
        f.path = *path;
        const topology::LinkBudget b = topology::link_budget(f);
        e.budget_gbps = b.expected_gbps;
        e.budget_note = b.sentence;
      }
    }
  }
}

json to_json(const PairEnd& e) {
  json j{{"node", e.node},
          {"pod", e.pod},
          {"interface", e.interface},
          {"ip", e.ip},
          {"device", e.device},
          {"gid", e.gid},
          {"pci_address", e.pci_address},
          {"link_layer", e.link_layer},
          {"active_mtu", opt_json(e.active_mtu)},
          {"rate_gbps", opt_json(e.rate_gbps)},
          {"mem", e.mem},
          {"gpu", opt_json(e.gpu)},
          {"gpu_pci_address", e.gpu_pci_address},
          {"gpu_class", e.gpu_class},
          {"mem_registration", e.mem_registration},
          {"mem_note", e.mem_note}};
  // How the engine ran, where recorded (v1.1): left out when unknown, so a v1 end reads back
  // as it was written.
  if (e.cpu) j["cpu"] = *e.cpu;
  if (e.numa_node) j["numa_node"] = *e.numa_node;
  if (!e.placement_note.empty()) j["placement_note"] = e.placement_note;
  if (e.relaxed_ordering) j["relaxed_ordering"] = *e.relaxed_ordering;
  if (e.inline_bytes) j["inline_bytes"] = *e.inline_bytes;
  if (!e.scatter_to_cqe.empty()) j["scatter_to_cqe"] = e.scatter_to_cqe;
  if (e.budget_gbps) j["budget_gbps"] = *e.budget_gbps;  // v1.2
  if (!e.budget_note.empty()) j["budget_note"] = e.budget_note;
  return j;
}

void read_end(JsonReader& r, PairEnd& e) {
  r.require("node", e.node);
  r.get("pod", e.pod);
  r.require("interface", e.interface);
  r.get("ip", e.ip);
  r.get("device", e.device);
  r.get("gid", e.gid);
  r.get("pci_address", e.pci_address);
  r.get("link_layer", e.link_layer);
  r.get("active_mtu", e.active_mtu);
  r.get("rate_gbps", e.rate_gbps);
  r.get("mem", e.mem);
  r.get("gpu", e.gpu);
  r.get("gpu_pci_address", e.gpu_pci_address);
  r.get("gpu_class", e.gpu_class);
  r.get("mem_registration", e.mem_registration);
  r.get("mem_note", e.mem_note);
  r.get("cpu", e.cpu);
  r.get("numa_node", e.numa_node);
  r.get("placement_note", e.placement_note);
  r.get("relaxed_ordering", e.relaxed_ordering);
  r.get("inline_bytes", e.inline_bytes);
  r.get("scatter_to_cqe", e.scatter_to_cqe);
  r.get("budget_gbps", e.budget_gbps);
  r.get("budget_note", e.budget_note);
}

Result<PairEnd> end_from_json(const json& j, std::string_view path) {
  JsonErrors errors;
  JsonReader r(j, std::string(path), errors);
  PairEnd e;
  read_end(r, e);
  if (errors.failed()) return errors.unexpected();
  return e;
}

}  // namespace railcheck::reports
