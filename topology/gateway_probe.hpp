#pragma once
// The live gateway probe behind `gateway_reachable` (routing_checks.hpp): one ICMP echo from
// the rail's address, bound to its netdev (SO_BINDTODEVICE, so the pod's policy routing picks
// the rail's table), then the kernel's neighbour table for what ARP said.
//
// The ICMP socket is a datagram ("ping") socket where net.ipv4.ping_group_range lets this
// group open one, else a raw socket (CAP_NET_RAW). With neither, it sends one UDP datagram to
// the gateway's discard port to make the kernel resolve it, and reads the neighbour entry
// (netlink, unprivileged): REACHABLE is an answer, FAILED or INCOMPLETE none; an entry that
// stays STALE or DELAY for the whole timeout is "cannot tell" (ProbeAnswer::kUnknown), which
// the check reports as waived with the reason. Bounded by the target's timeout, plus at most
// one netlink round trip.

#include "common/error.hpp"
#include "topology/routing_checks.hpp"

namespace railcheck::topology {

// Errors: Errc::kNotFound when the netdev is not in this network namespace;
// Errc::kInvalidArgument for an address that is not IPv4; Errc::kSystem (with errno) when the
// source address is not this host's or a socket call fails.
Result<ProbeAnswer> probe_gateway(const ProbeTarget& target);

}  // namespace railcheck::topology
