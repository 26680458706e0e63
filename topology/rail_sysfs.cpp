#include "topology/rail_sysfs.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "topology/pcie.hpp"

namespace railcheck::topology {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 8> kPhysStates = {
    "UNKNOWN", "SLEEP", "POLLING", "DISABLED", "PORT_CONFIGURATION_TRAINING",
    "LINK_UP", "LINK_ERROR_RECOVERY", "PHY_TEST"};

// The text of a small sysfs file without trailing whitespace; nullopt when it cannot be read
// (absent, or a GID attribute of an empty slot, which the kernel answers with EINVAL).
std::optional<std::string> read_text(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  std::string s = std::move(text).str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

template <class T>
std::optional<T> parse_number(std::string_view text, int base) {
  if (base == 16 && (text.starts_with("0x") || text.starts_with("0X"))) text.remove_prefix(2);
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::unexpected<Error> bad_file(const fs::path& file, const std::string& text, std::string_view expected) {
  return fail(Errc::kProtocol, fmt::format("{}: '{}' is not {}", file.string(), text, expected),
              "is this a copy of a live /sys? regenerate it, or fix the file");
}

// The entries of a folder, names only, sorted; empty when it does not exist.
std::vector<std::string> entries_of(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
  std::ranges::sort(names);
  return names;
}

// The numeric entries of a folder (gids/N, pkeys/N, ports/N), ascending.
std::vector<uint32_t> numeric_entries(const fs::path& dir) {
  std::vector<uint32_t> out;
  for (const std::string& name : entries_of(dir)) {
    if (auto n = parse_number<uint32_t>(name, 10)) out.push_back(*n);
  }
  std::ranges::sort(out);
  return out;
}

// The PCI function a sysfs device link stands for: the symlink's target name when it is a bus
// id, else the PCI_SLOT_NAME of the folder's uevent (a copied tree). nullopt otherwise.
std::optional<std::string> pci_name_of(const fs::path& link) {
  std::error_code ec;
  if (fs::is_symlink(link, ec)) {
    const fs::path target = fs::read_symlink(link, ec);
    if (!ec) {
      if (auto id = normalize_bus_id(target.filename().string())) return *id;
    }
  }
  auto uevent = read_text(link / "uevent");
  if (!uevent) return std::nullopt;
  std::istringstream lines(*uevent);
  constexpr std::string_view kKey = "PCI_SLOT_NAME=";
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(kKey)) continue;
    if (auto id = normalize_bus_id(std::string_view(line).substr(kKey.size()))) return *id;
  }
  return std::nullopt;
}

// "net10" sorts after "net9": the name without its trailing digits, then their value.
bool natural_less(const std::string& a, const std::string& b) {
  auto split = [](const std::string& s) {
    const size_t digits = s.find_last_not_of("0123456789") + 1;
    const auto n = parse_number<uint64_t>(std::string_view(s).substr(digits), 10);
    return std::tuple(std::string_view(s).substr(0, digits), n.value_or(0), s.size());
  };
  return split(a) < split(b);
}

// "4: ACTIVE" -> "ACTIVE".
std::string after_colon(const std::string& text) {
  const size_t colon = text.find(": ");
  return colon == std::string::npos ? text : text.substr(colon + 2);
}

std::string phys_state_name(const std::string& text) {
  const auto n = parse_number<uint32_t>(std::string_view(text).substr(0, text.find(':')), 10);
  if (n && *n < kPhysStates.size() && *n > 0) return std::string(kPhysStates[*n]);
  return after_colon(text);
}

Result<std::vector<RailGid>> read_gids(const fs::path& port_dir, bool infiniband) {
  std::vector<RailGid> gids;
  for (uint32_t index : numeric_entries(port_dir / "gids")) {
    const fs::path file = port_dir / "gids" / std::to_string(index);
    auto raw = read_text(file);
    if (!raw) continue;
    auto text = gid_text(*raw);
    if (!text) return bad_file(file, *raw, "a GID");
    if (*text == "::") continue;  // an empty slot
    auto type = read_text(port_dir / "gid_attrs/types" / std::to_string(index));
    RailGid gid{.index = index, .gid = *text, .type = {}, .netdev = {}};
    if (type == "RoCE v2") {
      gid.type = "RoCEv2";
    } else if (type == "IB/RoCE v1" || (!type && infiniband)) {
      gid.type = infiniband ? "IB" : "RoCEv1";
    } else {
      continue;  // no usable type: verbs would not offer it either
    }
    gid.netdev = read_text(port_dir / "gid_attrs/ndevs" / std::to_string(index)).value_or("");
    gids.push_back(std::move(gid));
  }
  return gids;
}

// LID, subnet prefix and pkeys: the InfiniBand-only parts of a port.
Result<void> read_ib_parts(const fs::path& port_dir, SysfsPort& port) {
  if (auto lid = read_text(port_dir / "lid")) {
    auto value = parse_number<uint16_t>(*lid, 16);
    if (!value) return bad_file(port_dir / "lid", *lid, "a LID (0x...)");
    port.lid = *value;
  }
  if (auto gid0 = read_text(port_dir / "gids/0"); gid0 && gid_text(*gid0)) {
    if (gid0->size() >= 19) port.subnet_prefix = gid0->substr(0, 19);
    in6_addr addr{};
    if (inet_pton(AF_INET6, gid0->c_str(), &addr) == 1) {
      uint64_t guid = 0;
      for (int i = 8; i < 16; ++i) guid = (guid << 8) | addr.s6_addr[i];
      port.port_guid = guid;
    }
  }
  const std::vector<uint32_t> pkey_slots = numeric_entries(port_dir / "pkeys");
  port.pkey_table_size = static_cast<uint32_t>(pkey_slots.size());
  for (uint32_t index : pkey_slots) {
    const fs::path file = port_dir / "pkeys" / std::to_string(index);
    auto text = read_text(file);
    if (!text) continue;
    auto pkey = parse_number<uint16_t>(*text, 16);
    if (!pkey) return bad_file(file, *text, "a pkey (0x...)");
    if (*pkey != 0) port.pkeys.push_back(*pkey);
  }
  return {};
}

}  // namespace

std::optional<double> parse_sysfs_rate(const std::string& text) {
  const size_t space = text.find(' ');
  if (space == std::string::npos || text.compare(space, 7, " Gb/sec") != 0) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + space, value);
  if (ec != std::errc() || end != text.data() + space || value < 0) return std::nullopt;
  return value;
}

std::optional<std::string> gid_text(const std::string& sysfs_gid) {
  in6_addr addr{};
  if (inet_pton(AF_INET6, sysfs_gid.c_str(), &addr) != 1) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(AF_INET6, &addr, buf, sizeof buf) == nullptr) return std::nullopt;
  return std::string(buf);
}

SysfsTree::SysfsTree(std::string root) : root_(std::move(root)) {}

std::string SysfsTree::path(const std::string& relative) const { return root_ + "/" + relative; }

std::vector<std::string> SysfsTree::netdevs() const {
  std::vector<std::string> names = entries_of(path("class/net"));
  std::ranges::sort(names, natural_less);
  return names;
}

bool SysfsTree::has_netdev(const std::string& netdev) const {
  std::error_code ec;
  return !netdev.empty() && fs::exists(path("class/net/" + netdev), ec);
}

std::optional<std::string> SysfsTree::netdev_attr(const std::string& netdev, const std::string& file) const {
  return read_text(path("class/net/" + netdev + "/" + file));
}

std::optional<std::string> SysfsTree::netdev_pci_address(const std::string& netdev) const {
  return pci_name_of(path("class/net/" + netdev + "/device"));
}

std::vector<std::string> SysfsTree::netdev_rdma_devices(const std::string& netdev) const {
  return entries_of(path("class/net/" + netdev + "/device/infiniband"));
}

bool SysfsTree::has_pci_device(const std::string& bus_id) const {
  std::error_code ec;
  return fs::exists(path("bus/pci/devices/" + bus_id), ec);
}

std::optional<std::string> SysfsTree::pci_physfn(const std::string& bus_id) const {
  return pci_name_of(path("bus/pci/devices/" + bus_id + "/physfn"));
}

std::vector<std::string> SysfsTree::pci_rdma_devices(const std::string& bus_id) const {
  return entries_of(path("bus/pci/devices/" + bus_id + "/infiniband"));
}

Result<std::optional<int>> SysfsTree::pci_numa_node(const std::string& bus_id) const {
  const fs::path file = path("bus/pci/devices/" + bus_id + "/numa_node");
  auto text = read_text(file);
  if (!text) return std::optional<int>{};
  auto node = parse_number<int>(*text, 10);
  if (!node || *node < -1) return bad_file(file, *text, "a NUMA node number");
  return *node >= 0 ? std::optional<int>(*node) : std::nullopt;
}

std::optional<std::string> SysfsTree::pci_attr(const std::string& bus_id, const std::string& file) const {
  return read_text(path("bus/pci/devices/" + bus_id + "/" + file));
}

std::vector<std::string> SysfsTree::pci_chain(const std::string& bus_id) const {
  std::error_code ec;
  const fs::path link = path("bus/pci/devices/" + bus_id);
  if (!fs::exists(link, ec)) return {};
  const fs::path real = fs::canonical(link, ec);
  if (ec) return {bus_id};
  std::vector<std::string> chain;
  for (fs::path dir = real; dir.has_filename(); dir = dir.parent_path()) {
    const std::string name = dir.filename().string();
    auto id = normalize_bus_id(name);
    if (!id || *id != name) break;
    chain.push_back(name);
  }
  if (chain.empty() || chain.front() != bus_id) return {bus_id};
  return chain;
}

bool SysfsTree::has_rdma_device(const std::string& device) const {
  std::error_code ec;
  return !device.empty() && fs::exists(path("class/infiniband/" + device), ec);
}

std::vector<uint32_t> SysfsTree::rdma_ports(const std::string& device) const {
  return numeric_entries(path("class/infiniband/" + device + "/ports"));
}

Result<std::optional<uint64_t>> SysfsTree::rdma_node_guid(const std::string& device) const {
  const fs::path file = path("class/infiniband/" + device + "/node_guid");
  auto text = read_text(file);
  if (!text) return std::optional<uint64_t>{};
  // Four groups of four hex digits.
  std::string hex;
  for (size_t i = 0; i < text->size(); ++i) {
    if ((*text)[i] == ':' && i % 5 == 4) continue;
    hex += (*text)[i];
  }
  auto guid = hex.size() == 16 && text->size() == 19 ? parse_number<uint64_t>(hex, 16) : std::nullopt;
  if (!guid) return bad_file(file, *text, "a node GUID (\"0200:0000:0000:0001\")");
  return std::optional<uint64_t>(*guid);
}

Result<SysfsPort> SysfsTree::read_port(const std::string& device, uint32_t port_num) const {
  const fs::path dir = path(fmt::format("class/infiniband/{}/ports/{}", device, port_num));
  SysfsPort port;
  port.port = port_num;
  for (auto [name, field] : {std::pair{"state", &port.state}, std::pair{"link_layer", &port.link_layer}}) {
    auto text = read_text(dir / name);
    if (!text) {
      return fail(Errc::kNotFound, fmt::format("{} is missing", (dir / name).string()),
                  "every RDMA port has it: is the root a copy of /sys with class/infiniband?");
    }
    *field = after_colon(*text);
  }
  if (port.link_layer != "Ethernet" && port.link_layer != "InfiniBand") {
    return bad_file(dir / "link_layer", port.link_layer, "Ethernet or InfiniBand");
  }
  if (auto text = read_text(dir / "phys_state")) port.phys_state = phys_state_name(*text);
  if (auto text = read_text(dir / "rate")) {
    port.rate_gbps = parse_sysfs_rate(*text);
    if (!port.rate_gbps) return bad_file(dir / "rate", *text, "a rate (\"400 Gb/sec (4X NDR)\")");
  }
  const bool infiniband = port.link_layer == "InfiniBand";
  auto gids = read_gids(dir, infiniband);
  if (!gids) return std::unexpected(std::move(gids.error()));
  port.gids = std::move(*gids);
  if (infiniband) {
    if (auto ok = read_ib_parts(dir, port); !ok) return std::unexpected(std::move(ok.error()));
  }
  return port;
}

}  // namespace railcheck::topology
