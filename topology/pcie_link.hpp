#pragma once
// PCIe links: the speed and width each rail NIC and each GPU trained at, and every link above
// it up to its root port, against what both ends of each link can do. A Gen5 x16 NIC that
// trained at Gen4 or at x8 caps its rail below its port rate, and nothing else shows it: the
// rail map carries these facts (RailPort::pcie_link, GpuAffinity::pcie_link, NodeNic::pcie_link)
// for the `pcie_link` check and for the bandwidth model (link_budget.hpp).
//
// Sources: sysfs (live, or a copy laid out like /sys): current_link_{speed,width} and
// max_link_{speed,width} of the device and of every PCI function above it on its real path
// (devices/pci0000:15/0000:15:01.0/.../0000:18:00.0); a VF's link fields are reserved by the
// SR-IOV spec, so a VF is read through its PF. Offline without those files: hwloc's link speed,
// which is the current link only, in GB/s (no maximum, no generation).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace railcheck::topology {

// One link's setting: as trained, or as it could train.
struct PcieLinkState {
  std::optional<double> gts;       // GT/s per lane: 2.5, 5, 8, 16, 32, 64; nullopt from hwloc
  std::optional<uint32_t> width;   // lanes; nullopt from hwloc
  double gbytes_per_s = 0;         // per direction after the line encoding (what hwloc calls link speed)

  // True when this link is slower than `other` (1% tolerance: hwloc's figures are floats).
  [[nodiscard]] bool slower_than(const PcieLinkState& other) const noexcept;
};

// The PCIe generation of a per-lane rate: 2.5 -> 1, 5 -> 2, 8 -> 3, 16 -> 4, 32 -> 5, 64 -> 6;
// 0 for any other rate.
int pcie_generation(double gts) noexcept;
// The line encoding's efficiency: 8b/10b (0.8) for Gen1/2, 128b/130b for Gen3-5; 1 for Gen6
// (PAM4 with 1b/1b; its FLIT framing is a protocol overhead, see pcie_usable_gbps).
double line_encoding(double gts) noexcept;
// A link of `width` lanes at `gts` per lane, its GB/s filled in.
PcieLinkState pcie_link_state(double gts, uint32_t width) noexcept;
// A link hwloc reports as `gbytes_per_s` (speed and width unknown).
PcieLinkState pcie_link_state(double gbytes_per_s) noexcept;
// "Gen4 x8"; "Gen4" or "x8" when one is unknown; "31.5 GB/s" when only hwloc's figure is.
std::string to_string(const PcieLinkState& link);

// Transaction-layer efficiency for memory writes of a 256-byte max payload, the typical server
// setting: payload / (payload + per-TLP overhead). Gen1-5: 24 bytes a TLP (a 4-DW header for
// 64-bit addresses, framing, sequence number, LCRC: 6 DW as in Intel AN 456, "Throughput for
// Posted Writes") -> 256 / 280. Gen6 (FLIT mode): a 256-byte FLIT carries 236 bytes of TLPs
// (6 DLLP, 8 CRC, 6 FEC), and a TLP is its 16-byte header plus payload -> 236/256 * 256/272.
// DLLPs (acks, flow-control updates) and SKP ordered sets are not counted: an upper bound.
inline constexpr uint32_t kPcieMaxPayloadBytes = 256;
inline constexpr uint32_t kTlpOverheadBytes = 24;
inline constexpr uint32_t kFlitTlpHeaderBytes = 16;
inline constexpr double kFlitTlpShare = 236.0 / 256.0;
double tlp_efficiency(const PcieLinkState& link) noexcept;
// What a link can carry per direction, in Gb/s: GT/s x lanes x encoding x TLP efficiency
// (from hwloc's GB/s x 8 x the Gen1-5 TLP efficiency when the generation is unknown).
// Gen4 x8: 16 x 8 x 128/130 x 256/280 = 115.2 Gb/s; Gen5 x16: 460.9 Gb/s.
double pcie_usable_gbps(const PcieLinkState& link) noexcept;

// A sysfs link speed: "16.0 GT/s PCIe" (kernels since 5.3), "8 GT/s" / "2.5 GT/s" (older), in
// GT/s; nullopt for "Unknown", "Unknown speed" or an empty file (a VF, a link that is down);
// Errc::kProtocol quoting any other text.
Result<std::optional<double>> parse_link_speed(std::string_view text);
// A sysfs link width ("16"); nullopt for 0 (reserved: a VF); Errc::kProtocol for a non-number.
Result<std::optional<uint32_t>> parse_link_width(std::string_view text);

// What one PCI function says of its link, as read (from sysfs, or hwloc's current link only).
struct FunctionLink {
  std::string bus_id;
  std::optional<PcieLinkState> current;  // current_link_*; hwloc's link speed
  std::optional<PcieLinkState> max;      // max_link_*; nullopt from hwloc
};

// One physical link on a device's path to its root port.
struct PcieHop {
  std::string downstream;  // its lower end: the device, or a switch's upstream port above it
  std::string upstream;    // its upper end: a switch downstream port or a root port; empty: none seen
  std::optional<PcieLinkState> current;    // as trained (the lower end's reading, else the upper's)
  std::optional<PcieLinkState> capable;    // min of both ends' max: what it can train to; nullopt offline
  std::optional<PcieLinkState> lower_max;  // the lower end's own max (to tell a slot's limit from a fault)
  bool idle_speed = false;  // a GPU's own link at full width but below its speed: power saving at idle
};

enum class LinkSource { kSysfs, kHwloc };
std::string_view to_string(LinkSource source) noexcept;  // "sysfs", "hwloc"

// A device's PCIe link facts: its own link and each link above it. The figures the bandwidth
// verdict needs are `current`, `max` and `narrowest` (+ `narrowest_at`).
struct PcieLinkFacts {
  LinkSource source = LinkSource::kSysfs;
  std::string device;                       // the function read: the NIC (a VF's PF), the GPU
  std::vector<PcieHop> hops;                // its own link first, then up to the root port
  std::optional<PcieLinkState> current;     // its own link as trained
  std::optional<PcieLinkState> max;         // what its own link can train to (min of both ends' max)
  std::optional<PcieLinkState> device_max;  // the device's own max_link_*
  // The slowest link from the device to its root port, as it runs under load (a GPU's idle speed
  // counted at the speed it can train to): what bounds the device's PCIe bandwidth.
  std::optional<PcieLinkState> narrowest;
  std::string narrowest_at;  // that link's lower end: `device`, or a switch port above it
};

// Builds the facts from the chain of functions from the device up to its root port (chain[0]
// is the device). Each physical link joins a function to its parent port, and a switch's
// upstream port joins its downstream ports over the switch's internal bus, not a link: the
// links are (chain[0], chain[1]), (chain[2], chain[3]), ... (as NCCL pairs a device with `..`).
// `gpu`: the device is a GPU, whose own link may drop its speed at idle (hop.idle_speed).
PcieLinkFacts link_facts_from_chain(const std::vector<FunctionLink>& chain, LinkSource source, bool gpu);

}  // namespace railcheck::topology
