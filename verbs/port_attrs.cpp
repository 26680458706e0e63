#include "verbs/port_attrs.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <array>
#include <cstring>

namespace railcheck::verbs {

std::string_view to_string(GidType type) noexcept {
  switch (type) {
    case GidType::kIb: return "IB";
    case GidType::kRoceV1: return "RoCEv1";
    case GidType::kRoceV2: return "RoCEv2";
  }
  return "unknown";
}

std::optional<GidType> gid_type_from_verbs(uint32_t ibv_gid_type) noexcept {
  switch (ibv_gid_type) {
    case IBV_GID_TYPE_IB: return GidType::kIb;
    case IBV_GID_TYPE_ROCE_V1: return GidType::kRoceV1;
    case IBV_GID_TYPE_ROCE_V2: return GidType::kRoceV2;
    default: return std::nullopt;
  }
}

uint32_t mtu_bytes(ibv_mtu mtu) noexcept {
  switch (mtu) {
    case IBV_MTU_256: return 256;
    case IBV_MTU_512: return 512;
    case IBV_MTU_1024: return 1024;
    case IBV_MTU_2048: return 2048;
    case IBV_MTU_4096: return 4096;
  }
  return 0;
}

std::optional<ibv_mtu> mtu_from_bytes(uint32_t bytes) noexcept {
  for (ibv_mtu m : {IBV_MTU_256, IBV_MTU_512, IBV_MTU_1024, IBV_MTU_2048, IBV_MTU_4096}) {
    if (mtu_bytes(m) == bytes) return m;
  }
  return std::nullopt;
}

double rate_gbps(uint16_t active_speed, uint8_t active_width) noexcept {
  // Per-lane data rates as ibv_devinfo names them (SDR .. XDR).
  double lane = 0;
  switch (active_speed) {
    case 1: lane = 2.5; break;     // SDR
    case 2: lane = 5.0; break;     // DDR
    case 4: lane = 10.0; break;    // QDR
    case 8: lane = 10.0; break;    // FDR10
    case 16: lane = 14.0; break;   // FDR
    case 32: lane = 25.0; break;   // EDR
    case 64: lane = 50.0; break;   // HDR
    case 128: lane = 100.0; break; // NDR
    case 256: lane = 200.0; break; // XDR (active_speed_ex only)
    default: return 0;
  }
  int lanes = 0;
  switch (active_width) {
    case 1: lanes = 1; break;
    case 2: lanes = 4; break;
    case 4: lanes = 8; break;
    case 8: lanes = 12; break;
    case 16: lanes = 2; break;
    default: return 0;
  }
  return lane * lanes;
}

double port_rate_gbps(uint8_t active_speed, uint8_t active_width, uint32_t active_speed_ex,
                      std::optional<double> kernel_rate) noexcept {
  if (kernel_rate && *kernel_rate > 0) return *kernel_rate;
  if (active_speed_ex != 0 && active_speed_ex <= 0xffff) {
    if (const double r = rate_gbps(static_cast<uint16_t>(active_speed_ex), active_width); r > 0) return r;
  }
  return rate_gbps(active_speed, active_width);
}

std::optional<double> kernel_rate_gbps(std::string_view text) noexcept {
  const size_t space = text.find(' ');
  double v = 0;
  if (space == std::string_view::npos || text.substr(space, 7) != " Gb/sec") return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + space, v);
  return ec == std::errc() && end == text.data() + space && v >= 0 ? std::optional<double>(v) : std::nullopt;
}

std::string_view port_state_name(ibv_port_state state) noexcept {
  switch (state) {
    case IBV_PORT_NOP: return "NOP";
    case IBV_PORT_DOWN: return "DOWN";
    case IBV_PORT_INIT: return "INIT";
    case IBV_PORT_ARMED: return "ARMED";
    case IBV_PORT_ACTIVE: return "ACTIVE";
    case IBV_PORT_ACTIVE_DEFER: return "ACTIVE_DEFER";
  }
  return "UNKNOWN";
}

std::string_view phys_state_name(uint8_t phys_state) noexcept {
  switch (phys_state) {
    case 1: return "SLEEP";
    case 2: return "POLLING";
    case 3: return "DISABLED";
    case 4: return "PORT_CONFIGURATION_TRAINING";
    case 5: return "LINK_UP";
    case 6: return "LINK_ERROR_RECOVERY";
    case 7: return "PHY_TEST";
    default: return "UNKNOWN";
  }
}

std::string_view link_layer_name(uint8_t link_layer) noexcept {
  switch (link_layer) {
    case IBV_LINK_LAYER_ETHERNET: return "Ethernet";
    // IB_UNSPECIFIED is reported by older IB drivers and means InfiniBand.
    case IBV_LINK_LAYER_INFINIBAND:
    case IBV_LINK_LAYER_UNSPECIFIED: return "InfiniBand";
    default: return "unknown";
  }
}

std::string gid_to_string(const ibv_gid& gid) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  inet_ntop(AF_INET6, gid.raw, buf.data(), buf.size());
  return buf.data();
}

std::optional<std::string> gid_ipv4(const ibv_gid& gid) {
  static constexpr std::array<uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), gid.raw)) return std::nullopt;
  std::array<char, INET_ADDRSTRLEN> buf{};
  inet_ntop(AF_INET, gid.raw + 12, buf.data(), buf.size());
  return std::string(buf.data());
}

}  // namespace railcheck::verbs
