#pragma once
// Pure conversions of libibverbs port and GID values into the names and units operators
// read (MTU in bytes, rate in Gb/s, "RoCEv2", "LINK_UP"), shared by every output. No I/O here,
// so it is unit-tested without hardware.

#include <infiniband/verbs.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace railcheck::verbs {

enum class GidType { kIb, kRoceV1, kRoceV2 };

std::string_view to_string(GidType type) noexcept;      // "IB", "RoCEv1", "RoCEv2"
std::optional<GidType> gid_type_from_verbs(uint32_t ibv_gid_type) noexcept;

// 256..4096; 0 for a value libibverbs does not define.
uint32_t mtu_bytes(ibv_mtu mtu) noexcept;
// The enum for a byte count (256, 512, ..., 4096); nullopt for anything else.
std::optional<ibv_mtu> mtu_from_bytes(uint32_t bytes) noexcept;

// Data rate of a port in Gb/s from its active_speed and active_width codes (as
// ibv_devinfo decodes them, XDR's 256 included); 0 when either code is unknown.
double rate_gbps(uint16_t active_speed, uint8_t active_width) noexcept;

// A port's rate from the best source there is: the kernel's `rate` file (ports/P/rate, "800
// Gb/sec (4X XDR)"), which knows every speed; else active_speed_ex (rdma-core 48+; 0: absent);
// else active_speed, which an XDR port reports as NDR (it does not fit the old byte), so an
// 800G port is never read as 400G where the kernel or the library can say better.
double port_rate_gbps(uint8_t active_speed, uint8_t active_width, uint32_t active_speed_ex,
                      std::optional<double> kernel_rate_gbps) noexcept;
// "400 Gb/sec (4X NDR)" -> 400; nullopt for anything else.
std::optional<double> kernel_rate_gbps(std::string_view text) noexcept;

std::string_view port_state_name(ibv_port_state state) noexcept;  // "ACTIVE", "DOWN", ...
std::string_view phys_state_name(uint8_t phys_state) noexcept;     // "LINK_UP", "DISABLED", ...
std::string_view link_layer_name(uint8_t link_layer) noexcept;     // "Ethernet", "InfiniBand"

// Text form of a GID: IPv6 notation, IPv4-mapped GIDs as "::ffff:a.b.c.d".
std::string gid_to_string(const ibv_gid& gid);
// The IPv4 address a RoCE GID maps, e.g. "172.16.11.10"; nullopt when the GID is not IPv4-mapped.
std::optional<std::string> gid_ipv4(const ibv_gid& gid);

}  // namespace railcheck::verbs
