#include "reports/topo_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace railcheck::reports {
namespace {

using Row = std::vector<std::string>;

constexpr const char* kUnknown = "-";

template <class T>
std::string cell(const std::optional<T>& value) {
  return value ? fmt::format("{}", *value) : kUnknown;
}

std::string cell(const std::string& value) { return value.empty() ? kUnknown : value; }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ",") + s;
  return cell(out);
}

// Left-aligned columns two spaces apart, no trailing blanks.
std::string render(const std::vector<Row>& rows) {
  std::vector<size_t> widths;
  for (const Row& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const Row& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

// "Gen5 x16"; "Gen4 x8 of Gen5 x16" below what it can train to; "-" unknown.
std::string link_cell(const std::optional<topology::PcieLinkFacts>& f) {
  if (!f || !f->current) return kUnknown;
  std::string out = to_string(*f->current);
  if (f->max && f->current->slower_than(*f->max)) out += " of " + to_string(*f->max);
  return out;
}

Row port_row(const topology::RailPort& p) {
  std::string rate = p.rate_gbps ? fmt::format("{:g} Gb/s", *p.rate_gbps) : kUnknown;
  std::string gpu = p.nearest_gpu ? fmt::format("GPU{}", p.nearest_gpu->ordinal) : kUnknown;
  std::string path = p.nearest_gpu ? std::string(to_string(p.nearest_gpu->path)) : kUnknown;
  return {p.interface,      cell(p.network),   join(p.ips),          cell(p.rdma_device), cell(p.port),
          cell(p.state),    cell(p.link_layer), cell(p.active_mtu),  std::move(rate),     cell(p.pci_address),
          cell(p.pf_pci_address), cell(p.numa_node), std::move(gpu), std::move(path), link_cell(p.pcie_link)};
}

Row gpu_row(const topology::GpuAffinity& g) {
  const auto& n = g.nearest;
  return {fmt::format("GPU{}", g.ordinal),
          g.pci_address,
          cell(g.numa_node),
          n ? n->interface : kUnknown,
          n ? cell(n->rdma_device) : kUnknown,
          n ? n->pci_address : kUnknown,
          n ? std::string(to_string(n->path)) : kUnknown,
          link_cell(g.pcie_link)};
}

// The node view: every RDMA NIC, then the GPU x NIC matrix in nvidia-smi's classes.
std::string node_tables(const topology::NodeView& node) {
  if (node.nics.empty()) return "\nnode NICs: none (hwloc sees no RDMA NIC on this node)\n";
  std::vector<Row> nics{{"NIC", "PCI", "NUMA", "VFS", "PCIE", "NEAREST-GPU", "CLASS", "ROLE"}};
  for (size_t i = 0; i < node.nics.size(); ++i) {
    const auto& n = node.nics[i];
    std::string role = n.role;
    const auto own = std::ranges::find(node.gpu_rail, std::optional(i));
    if (own != node.gpu_rail.end()) role += fmt::format(" of GPU{}", own - node.gpu_rail.begin());
    nics.push_back({n.name, n.pci_address, cell(n.numa_node), n.vfs.empty() ? kUnknown : std::to_string(n.vfs.size()),
                    link_cell(n.pcie_link), n.nearest_gpu ? fmt::format("GPU{}", n.nearest_gpu->ordinal) : kUnknown,
                    n.nearest_gpu ? std::string(to_string(n.nearest_gpu->path)) : kUnknown, std::move(role)});
  }
  std::string out = "\nnode NICs:\n" + render(nics);
  if (node.gpu_nic.empty()) return out;
  Row head{"GPU x NIC"};
  for (const auto& n : node.nics) head.push_back(n.name);
  std::vector<Row> matrix{std::move(head)};
  for (size_t g = 0; g < node.gpu_nic.size(); ++g) {
    Row row{fmt::format("GPU{}", g)};
    for (const auto& c : node.gpu_nic[g]) row.push_back(c ? std::string(to_string(*c)) : kUnknown);
    matrix.push_back(std::move(row));
  }
  return out + "\n" + render(matrix);
}

}  // namespace

std::string topo_table(const topology::RailMap& map) {
  std::vector<Row> ports{{"IFACE", "NETWORK", "IP", "RDMA", "PORT", "STATE", "LINK", "MTU", "RATE", "PCI", "PF",
                          "NUMA", "NEAREST-GPU", "CLASS", "PCIE"}};
  for (const auto& p : map.ports) ports.push_back(port_row(p));
  std::string out = render(ports);
  if (!map.gpus.empty()) {
    std::vector<Row> gpus{{"GPU", "PCI", "NUMA", "NEAREST-RAIL", "RDMA", "RAIL-PCI", "CLASS", "PCIE"}};
    for (const auto& g : map.gpus) gpus.push_back(gpu_row(g));
    out += "\n" + render(gpus);
  }
  if (map.node) out += node_tables(*map.node);
  if (!map.notes.empty()) {
    out += "\nnotes:\n";
    for (const std::string& note : map.notes) out += "  - " + note + "\n";
  }
  return out;
}

}  // namespace railcheck::reports
