#include "topology/pcie_link.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

namespace railcheck::topology {
namespace {

constexpr std::array<double, 6> kLaneGts = {2.5, 5, 8, 16, 32, 64};
constexpr double kTolerance = 0.99;

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  return text;
}

// The smaller of two optional settings, field by field (a known value wins over an unknown one).
std::optional<PcieLinkState> min_of(const std::optional<PcieLinkState>& a, const std::optional<PcieLinkState>& b) {
  if (!a) return b;
  if (!b) return a;
  if (a->gts && b->gts && a->width && b->width) {
    return pcie_link_state(std::min(*a->gts, *b->gts), std::min(*a->width, *b->width));
  }
  return a->gbytes_per_s <= b->gbytes_per_s ? a : b;
}

// A hop as it runs under load: an idle GPU's speed counted at what its link can train to.
PcieLinkState under_load(const PcieHop& hop) {
  if (hop.idle_speed && hop.capable && hop.capable->gts && hop.current && hop.current->width) {
    return pcie_link_state(*hop.capable->gts, *hop.current->width);
  }
  return *hop.current;
}

}  // namespace

bool PcieLinkState::slower_than(const PcieLinkState& other) const noexcept {
  if (gts && width && other.gts && other.width) return *gts < *other.gts || *width < *other.width;
  return gbytes_per_s < other.gbytes_per_s * kTolerance;
}

int pcie_generation(double gts) noexcept {
  for (size_t i = 0; i < kLaneGts.size(); ++i) {
    if (std::fabs(gts - kLaneGts[i]) < 0.01) return static_cast<int>(i) + 1;
  }
  return 0;
}

double line_encoding(double gts) noexcept {
  if (gts < 8) return 8.0 / 10.0;
  if (gts < 64) return 128.0 / 130.0;
  return 1.0;
}

PcieLinkState pcie_link_state(double gts, uint32_t width) noexcept {
  return PcieLinkState{.gts = gts, .width = width, .gbytes_per_s = gts * width * line_encoding(gts) / 8};
}

PcieLinkState pcie_link_state(double gbytes_per_s) noexcept {
  return PcieLinkState{.gts = std::nullopt, .width = std::nullopt, .gbytes_per_s = gbytes_per_s};
}

std::string to_string(const PcieLinkState& link) {
  std::string speed;
  if (link.gts) {
    const int gen = pcie_generation(*link.gts);
    speed = gen > 0 ? fmt::format("Gen{}", gen) : fmt::format("{:g} GT/s", *link.gts);
  }
  const std::string width = link.width ? fmt::format("x{}", *link.width) : "";
  if (speed.empty() && width.empty()) return fmt::format("{:.1f} GB/s", link.gbytes_per_s);
  if (speed.empty() || width.empty()) return speed + width;
  return speed + " " + width;
}

double tlp_efficiency(const PcieLinkState& link) noexcept {
  if (link.gts && *link.gts >= 64) {
    return kFlitTlpShare * kPcieMaxPayloadBytes / (kPcieMaxPayloadBytes + kFlitTlpHeaderBytes);
  }
  return static_cast<double>(kPcieMaxPayloadBytes) / (kPcieMaxPayloadBytes + kTlpOverheadBytes);
}

double pcie_usable_gbps(const PcieLinkState& link) noexcept { return link.gbytes_per_s * 8 * tlp_efficiency(link); }

Result<std::optional<double>> parse_link_speed(std::string_view raw) {
  const std::string_view text = trimmed(raw);
  if (text.empty() || text.starts_with("Unknown")) return std::optional<double>{};
  double gts = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), gts);
  const std::string_view rest(end, static_cast<size_t>(text.data() + text.size() - end));
  if (ec != std::errc() || gts <= 0 || !(rest == " GT/s" || rest == " GT/s PCIe")) {
    return fail(Errc::kProtocol, fmt::format("'{}' is not a PCIe link speed", text),
                "expected \"16.0 GT/s PCIe\", \"8 GT/s\" or \"Unknown\"");
  }
  return std::optional<double>(gts);
}

Result<std::optional<uint32_t>> parse_link_width(std::string_view raw) {
  const std::string_view text = trimmed(raw);
  uint32_t width = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), width);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || width > 32) {
    return fail(Errc::kProtocol, fmt::format("'{}' is not a PCIe link width", text), "expected a lane count, 1..32");
  }
  return width == 0 ? std::optional<uint32_t>{} : std::optional<uint32_t>(width);
}

std::string_view to_string(LinkSource source) noexcept {
  return source == LinkSource::kHwloc ? "hwloc" : "sysfs";
}

PcieLinkFacts link_facts_from_chain(const std::vector<FunctionLink>& chain, LinkSource source, bool gpu) {
  PcieLinkFacts facts;
  facts.source = source;
  if (chain.empty()) return facts;
  facts.device = chain.front().bus_id;
  facts.device_max = chain.front().max;
  for (size_t i = 0; i < chain.size(); i += 2) {
    const FunctionLink& lower = chain[i];
    const FunctionLink* upper = i + 1 < chain.size() ? &chain[i + 1] : nullptr;
    PcieHop hop{.downstream = lower.bus_id,
                .upstream = upper != nullptr ? upper->bus_id : std::string{},
                .current = lower.current ? lower.current : (upper != nullptr ? upper->current : std::nullopt),
                .capable = upper != nullptr && upper->max && lower.max ? min_of(lower.max, upper->max) : lower.max,
                .lower_max = lower.max,
                .idle_speed = false};
    if (gpu && i == 0 && hop.current && hop.capable && hop.current->gts && hop.capable->gts &&
        hop.current->width && hop.capable->width) {
      hop.idle_speed = *hop.current->gts < *hop.capable->gts && *hop.current->width >= *hop.capable->width;
    }
    facts.hops.push_back(std::move(hop));
  }
  facts.current = facts.hops.front().current;
  facts.max = facts.hops.front().capable;
  for (const PcieHop& hop : facts.hops) {
    if (!hop.current) continue;
    const PcieLinkState load = under_load(hop);
    if (!facts.narrowest || load.slower_than(*facts.narrowest)) {
      facts.narrowest = load;
      facts.narrowest_at = hop.downstream;
    }
  }
  return facts;
}

}  // namespace railcheck::topology
