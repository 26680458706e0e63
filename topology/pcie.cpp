#include "topology/pcie.hpp"

#include <fmt/format.h>
#include <hwloc.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace railcheck::topology {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 5> kPathNames = {"PIX", "PXB", "PHB", "NODE", "SYS"};

constexpr uint16_t kVendorNvidia = 0x10de;
constexpr uint16_t kVendorMellanox = 0x15b3;
constexpr uint16_t kClassVga = 0x0300;
constexpr uint16_t kClass3d = 0x0302;
constexpr uint16_t kClassEthernet = 0x0200;
constexpr uint16_t kClassInfiniband = 0x0207;

// ConnectX device ids from pci.ids: Connect-IB .. ConnectX-6 Dx virtual functions (0x101e is
// the VF of every mlx5 generation since ConnectX-6 Dx), and the physical functions.
constexpr std::array<uint16_t, 7> kMellanoxVfIds = {0x1012, 0x1014, 0x1016, 0x1018,
                                                    0x101a, 0x101c, 0x101e};
constexpr std::array<uint16_t, 10> kMellanoxPfIds = {0x1011, 0x1013, 0x1015, 0x1017, 0x1019,
                                                     0x101b, 0x101d, 0x101f, 0x1021, 0x1023};

constexpr std::string_view kSysfsPciDevices = "/sys/bus/pci/devices";
constexpr std::string_view kExportHint =
    "export one with `lstopo-no-graphics --whole-io --of xml FILE` (package hwloc)";

std::string format_bus_id(unsigned domain, unsigned bus, unsigned dev, unsigned fn) {
  return fmt::format("{:04x}:{:02x}:{:02x}.{:x}", domain, bus, dev, fn);
}

// Reads all of `text` as hex with `min_digits`..`max_digits` digits; nullopt otherwise.
std::optional<unsigned> parse_hex(std::string_view text, size_t min_digits, size_t max_digits) {
  if (text.size() < min_digits || text.size() > max_digits) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool is_bridge(const hwloc_obj* obj) { return obj->type == HWLOC_OBJ_BRIDGE; }

bool is_host_bridge(const hwloc_obj* obj) {
  return is_bridge(obj) && obj->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_HOST;
}

// The NUMA node of the first CPU-side ancestor (where hwloc attached the device's host
// bridge), when that ancestor spans exactly one node; -1 otherwise.
int numa_node_of(const hwloc_obj* obj) {
  while (obj != nullptr && hwloc_obj_type_is_io(obj->type)) obj = obj->parent;
  if (obj == nullptr || obj->nodeset == nullptr || hwloc_bitmap_weight(obj->nodeset) != 1) {
    return -1;
  }
  return hwloc_bitmap_first(obj->nodeset);
}

// The nvidia-smi class of the path between two PCI functions, from their lowest common
// ancestor in hwloc's tree. A PCIe switch is, in hwloc, an upstream-port bridge with one
// downstream-port bridge per port, so "a single bridge" in NVIDIA's sense (one switch) means:
// the common ancestor is a bridge and each device is at most one port bridge below it. Deeper
// on either side means another switch on the way: PXB. This is how NCCL reads sysfs too.
// hwloc_get_common_ancestor_obj compares depths, which are negative (virtual) for I/O
// objects, so it cannot be used on them: the walk goes through ->parent.
PathClass classify_objects(const hwloc_obj* a, const hwloc_obj* b) {
  std::vector<const hwloc_obj*> chain_a;  // a, then its ancestors up to the root
  for (const hwloc_obj* obj = a; obj != nullptr; obj = obj->parent) chain_a.push_back(obj);

  int bridges_b = 0;  // bridges strictly between b and the common ancestor
  const hwloc_obj* common = b;
  auto in_chain_a = chain_a.end();
  for (; common != nullptr; common = common->parent) {
    in_chain_a = std::ranges::find(chain_a, common);
    if (in_chain_a != chain_a.end()) break;
    if (is_bridge(common)) ++bridges_b;
  }
  if (common == nullptr) return PathClass::kSys;  // not one tree: cannot happen in hwloc
  const auto bridges_a = std::count_if(chain_a.begin(), in_chain_a, is_bridge);

  if (is_host_bridge(common)) return PathClass::kPhb;
  if (hwloc_obj_type_is_io(common->type)) {
    return bridges_a <= 1 && bridges_b <= 1 ? PathClass::kPix : PathClass::kPxb;
  }
  // Different host bridges: the NUMA nodes they hang off decide. Unknown locality on either
  // side cannot prove a shared node, so it is SYS (the pessimistic answer).
  const int node_a = numa_node_of(a);
  return node_a >= 0 && node_a == numa_node_of(b) ? PathClass::kNode : PathClass::kSys;
}

std::string bus_id_of(const hwloc_obj* obj) {
  const auto& pci = obj->attr->pcidev;
  return format_bus_id(pci.domain, pci.bus, pci.dev, pci.func);
}

uint64_t sort_key(const hwloc_obj* obj) {
  const auto& pci = obj->attr->pcidev;
  return (uint64_t{pci.domain} << 16) | (uint64_t{pci.bus} << 8) | (uint64_t{pci.dev} << 3) |
         pci.func;
}

std::string info_of(hwloc_obj* obj, const char* name) {
  const char* value = hwloc_obj_get_info_by_name(obj, name);
  return value != nullptr ? value : "";
}

PciFunction describe(hwloc_obj* obj) {
  const auto& pci = obj->attr->pcidev;
  PciFunction fn{
      .bus_id = bus_id_of(obj),
      .vendor_id = pci.vendor_id,
      .device_id = pci.device_id,
      .class_id = pci.class_id,
      .vendor_name = info_of(obj, "PCIVendor"),
      .device_name = info_of(obj, "PCIDevice"),
      .numa_node = numa_node_of(obj),
      .link_gbytes_per_s = std::nullopt,
  };
  if (pci.linkspeed > 0) fn.link_gbytes_per_s = pci.linkspeed;
  return fn;
}

bool is_gpu(const hwloc_obj* obj) {
  const auto& pci = obj->attr->pcidev;
  return pci.vendor_id == kVendorNvidia && (pci.class_id == kClassVga || pci.class_id == kClass3d);
}

bool is_nic(const hwloc_obj* obj) {
  const uint16_t class_id = obj->attr->pcidev.class_id;
  return class_id == kClassEthernet || class_id == kClassInfiniband;
}

// What the PCI ids and hwloc's name say about SR-IOV; nullopt when they say nothing.
std::optional<bool> vf_from_ids(const PciFunction& fn) {
  if (fn.device_name.find("Virtual Function") != std::string::npos) return true;
  if (fn.vendor_id == kVendorMellanox) {
    if (std::ranges::find(kMellanoxVfIds, fn.device_id) != kMellanoxVfIds.end()) return true;
    if (std::ranges::find(kMellanoxPfIds, fn.device_id) != kMellanoxPfIds.end()) return false;
  }
  return std::nullopt;
}

Nic describe_nic(hwloc_obj* obj) {
  Nic nic;
  nic.pci = describe(obj);
  for (hwloc_obj* child = obj->io_first_child; child != nullptr; child = child->next_sibling) {
    if (child->type != HWLOC_OBJ_OS_DEVICE || child->name == nullptr) continue;
    if (child->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS) {
      nic.rdma_devices.emplace_back(child->name);
    } else if (child->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK) {
      nic.netdevs.emplace_back(child->name);
    }
  }
  nic.is_vf = vf_from_ids(nic.pci);
  return nic;
}

// On a live load sysfs knows for sure: a VF has a `physfn` link to its PF; a function
// without one is not a VF. Left as guessed from the ids when sysfs has no such device.
void read_sriov_from_sysfs(Nic& nic) {
  const fs::path dev = fs::path(kSysfsPciDevices) / nic.pci.bus_id;
  std::error_code ec;
  if (!fs::exists(dev, ec)) return;
  const fs::path physfn = fs::read_symlink(dev / "physfn", ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) nic.is_vf = false;
    return;
  }
  nic.is_vf = true;
  nic.pf_bus_id = physfn.filename().string();
}

// A new topology set up to keep the I/O tree. KEEP_IMPORTANT would keep the bridges on the
// way to GPUs and NICs too, but drops PCI functions of classes hwloc deems minor (NVSwitches,
// some accelerators) and non-PCI OS devices; KEEP_ALL hides nothing, at a small cost.
Result<HwlocTopologyPtr> new_topology() {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) return fail_errno("hwloc_topology_init", errno);
  HwlocTopologyPtr topo(raw);
  if (hwloc_topology_set_io_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_ALL) != 0) {
    return fail_errno("hwloc_topology_set_io_types_filter(KEEP_ALL)", errno);
  }
  // A pod pinned to one socket must still see the other: without this flag hwloc removes the
  // disallowed socket and re-hangs its host bridges under the Machine (NUMA node unknown).
  if (hwloc_topology_set_flags(raw, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED) != 0) {
    return fail_errno("hwloc_topology_set_flags(INCLUDE_DISALLOWED)", errno);
  }
  return topo;
}

Result<std::string> read_xml_file(const std::string& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return fail_errno(fmt::format("checking hwloc XML file {}", path), ec.value());
  }
  if (!fs::exists(status)) {
    return fail(Errc::kNotFound, fmt::format("hwloc XML file {} does not exist", path),
                std::string(kExportHint));
  }
  if (fs::is_directory(status)) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{} is a directory, not an hwloc XML file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail_errno(fmt::format("opening hwloc XML file {}", path), errno);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail_errno(fmt::format("reading hwloc XML file {}", path), errno);
  std::string xml = std::move(text).str();
  if (xml.empty()) {
    return fail(Errc::kProtocol, fmt::format("hwloc XML file {} is empty", path),
                std::string(kExportHint));
  }
  if (xml.size() >= static_cast<size_t>(INT_MAX)) {
    return fail(Errc::kProtocol,
                fmt::format("hwloc XML file {} is too large ({} bytes)", path, xml.size()));
  }
  return xml;
}

// What to check when hwloc refuses a file: comments first, since they look harmless.
std::string import_hint(const std::string& xml, const std::string& path) {
  const size_t comment = xml.find("<!--");
  if (comment != std::string::npos) {
    const auto line =
        1 + std::count(xml.begin(), xml.begin() + static_cast<ptrdiff_t>(comment), '\n');
    return fmt::format(
        "line {} holds an XML comment (<!--); hwloc's built-in XML parser rejects comments: "
        "remove them",
        line);
  }
  return fmt::format(
      "is it an hwloc XML export (`lstopo-no-graphics --whole-io --of xml`)? "
      "`lstopo-no-graphics -i {}` prints hwloc's own complaint",
      path);
}

}  // namespace

std::string_view to_string(PathClass path) noexcept {
  const auto index = static_cast<size_t>(path);
  return index < kPathNames.size() ? kPathNames[index] : "?";
}

std::string_view path_place(PathClass path) noexcept {
  switch (path) {
    case PathClass::kPix: return "behind one PCIe switch";
    case PathClass::kPxb: return "behind several PCIe switches";
    case PathClass::kPhb: return "through the CPU's PCIe host bridge";
    case PathClass::kNode: return "between host bridges of one NUMA node";
    case PathClass::kSys: return "across the CPU sockets";
  }
  return "";
}

Result<PathClass> parse_path_class(std::string_view text) {
  for (size_t i = 0; i < kPathNames.size(); ++i) {
    const bool same = std::ranges::equal(text, kPathNames[i], [](char x, char y) {
      return std::toupper(static_cast<unsigned char>(x)) == y;
    });
    if (same) return static_cast<PathClass>(i);
  }
  return fail(Errc::kInvalidArgument, fmt::format("unknown PCIe path class '{}'", text),
              "use one of PIX, PXB, PHB, NODE, SYS");
}

Result<std::string> normalize_bus_id(std::string_view bus_id) {
  auto bad = [&] {
    return fail(Errc::kInvalidArgument, fmt::format("'{}' is not a PCI bus id", bus_id),
                "write DOMAIN:BUS:DEVICE.FUNCTION, e.g. 0000:18:00.0, or BUS:DEVICE.FUNCTION");
  };
  const size_t dot = bus_id.rfind('.');
  const size_t last_colon = bus_id.rfind(':');
  if (dot == std::string_view::npos || last_colon == std::string_view::npos || last_colon > dot) {
    return bad();
  }
  const size_t first_colon = bus_id.find(':');
  std::optional<unsigned> domain = 0;
  if (first_colon != last_colon) domain = parse_hex(bus_id.substr(0, first_colon), 1, 8);
  const size_t bus_start = first_colon == last_colon ? 0 : first_colon + 1;
  const auto bus = parse_hex(bus_id.substr(bus_start, last_colon - bus_start), 2, 2);
  const auto dev = parse_hex(bus_id.substr(last_colon + 1, dot - last_colon - 1), 2, 2);
  const auto fn = parse_hex(bus_id.substr(dot + 1), 1, 1);
  if (!domain || !bus || !dev || !fn || *dev > 0x1f || *fn > 7) return bad();
  return format_bus_id(*domain, *bus, *dev, *fn);
}

void HwlocTopologyDeleter::operator()(hwloc_topology* topo) const noexcept {
  hwloc_topology_destroy(topo);
}

PcieTopology::PcieTopology(HwlocTopologyPtr topo) : topo_(std::move(topo)) {
  std::vector<hwloc_obj*> objs;
  for (hwloc_obj* obj = nullptr; (obj = hwloc_get_next_pcidev(topo_.get(), obj)) != nullptr;) {
    objs.push_back(obj);
  }
  std::ranges::sort(objs, {}, sort_key);
  for (hwloc_obj* obj : objs) {
    functions_.push_back(Entry{.bus_id = bus_id_of(obj), .obj = obj});
    if (is_gpu(obj)) {
      gpus_.push_back(Gpu{.pci = describe(obj), .ordinal = static_cast<int>(gpus_.size())});
    } else if (is_nic(obj)) {
      nics_.push_back(describe_nic(obj));
    }
  }
}

Result<PcieTopology> PcieTopology::load_live() {
  auto topo = new_topology();
  if (!topo) return std::unexpected(std::move(topo.error()));
  if (hwloc_topology_load(topo->get()) != 0) {
    return fail_errno("hwloc_topology_load (this machine)", errno,
                      "hwloc reads /sys/bus/pci and /sys/devices/system: is /sys mounted?");
  }
  PcieTopology result(std::move(*topo));
  for (Nic& nic : result.nics_) read_sriov_from_sysfs(nic);
  return result;
}

Result<PcieTopology> PcieTopology::load_xml(const std::string& path) {
  auto xml = read_xml_file(path);
  if (!xml) return std::unexpected(std::move(xml.error()));
  auto topo = new_topology();
  if (!topo) return std::unexpected(std::move(topo.error()));
  // The size includes the terminating NUL, as hwloc_topology_export_xmlbuffer reports it.
  const int size = static_cast<int>(xml->size() + 1);
  if (hwloc_topology_set_xmlbuffer(topo->get(), xml->c_str(), size) != 0 ||
      hwloc_topology_load(topo->get()) != 0) {
    return fail(Errc::kProtocol, fmt::format("hwloc could not import {}", path),
                import_hint(*xml, path));
  }
  return PcieTopology(std::move(*topo));
}

hwloc_obj* PcieTopology::object_of(std::string_view canonical_bus_id) const noexcept {
  const auto it = std::ranges::find(functions_, canonical_bus_id, &Entry::bus_id);
  return it != functions_.end() ? it->obj : nullptr;
}

Result<hwloc_obj*> PcieTopology::find(std::string_view bus_id) const {
  auto canonical = normalize_bus_id(bus_id);
  if (!canonical) return std::unexpected(std::move(canonical.error()));
  hwloc_obj* obj = object_of(*canonical);
  if (obj == nullptr) {
    return fail(Errc::kNotFound,
                fmt::format("PCI device {} is not in the hwloc topology", *canonical),
                "list what hwloc sees with `lstopo-no-graphics --whole-io`");
  }
  return obj;
}

Result<PathClass> PcieTopology::classify(std::string_view bus_a, std::string_view bus_b) const {
  auto a = find(bus_a);
  if (!a) return std::unexpected(std::move(a.error()));
  auto b = find(bus_b);
  if (!b) return std::unexpected(std::move(b.error()));
  return classify_objects(*a, *b);
}

Result<std::optional<GpuMatch>> PcieTopology::nearest_gpu(std::string_view bus_id) const {
  auto from = find(bus_id);
  if (!from) return std::unexpected(std::move(from.error()));
  std::optional<GpuMatch> best;
  for (const Gpu& gpu : gpus_) {  // in ordinal order: the first of equals wins
    const hwloc_obj* to = object_of(gpu.pci.bus_id);
    if (to == nullptr || to == *from) continue;
    const PathClass path = classify_objects(*from, to);
    if (!best || path < best->path) best = GpuMatch{.gpu = gpu, .path = path};
  }
  return best;
}

Result<std::optional<NicMatch>> PcieTopology::nearest_nic(std::string_view bus_id,
                                                          NicFilter filter) const {
  auto from = find(bus_id);
  if (!from) return std::unexpected(std::move(from.error()));
  std::optional<NicMatch> best;
  for (const Nic& nic : nics_) {  // in bus-id order: the first of equals wins
    if (filter == NicFilter::kRdmaOnly && !nic.has_rdma()) continue;
    const hwloc_obj* to = object_of(nic.pci.bus_id);
    if (to == nullptr || to == *from) continue;
    const PathClass path = classify_objects(*from, to);
    if (!best || path < best->path) best = NicMatch{.nic = nic, .path = path};
  }
  return best;
}

Result<std::vector<FunctionLink>> PcieTopology::link_chain(std::string_view bus_id) const {
  auto from = find(bus_id);
  if (!from) return std::unexpected(std::move(from.error()));
  std::vector<FunctionLink> chain;
  for (const hwloc_obj* obj = *from; obj != nullptr; obj = obj->parent) {
    const bool pci = obj->type == HWLOC_OBJ_PCI_DEVICE ||
                     (is_bridge(obj) && obj->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_PCI);
    if (!pci) break;
    // A bridge's own PCI attributes (upstream.pci) have the layout of a device's (pcidev).
    const float speed = obj->type == HWLOC_OBJ_PCI_DEVICE ? obj->attr->pcidev.linkspeed
                                                          : obj->attr->bridge.upstream.pci.linkspeed;
    FunctionLink link{.bus_id = bus_id_of(obj), .current = std::nullopt, .max = std::nullopt};
    if (speed > 0) link.current = pcie_link_state(static_cast<double>(speed));
    chain.push_back(std::move(link));
  }
  return chain;
}

bool PcieTopology::same_parent(std::string_view bus_a, std::string_view bus_b) const {
  auto a = find(bus_a);
  auto b = find(bus_b);
  return a && b && (*a)->parent == (*b)->parent;
}

}  // namespace railcheck::topology
