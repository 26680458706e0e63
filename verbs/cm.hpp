#pragma once
// Connecting an Endpoint's QPs through librdmacm (`--rdma-cm`) instead of exchanging QPNs,
// PSNs and GIDs by hand: rdma_cm resolves the address and route (GID, path MTU) and carries
// QPN and PSN in its own REQ/REP. The QPs stay the Endpoint's; the CM only supplies the
// attributes for RTR and RTS (rdma_init_qp_attr), so both connection paths share one engine.
// One CM id per QP; the private data of each request carries the QP's index.

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "verbs/endpoint.hpp"
#include "verbs/handles.hpp"
#include "verbs/oob.hpp"

namespace railcheck::verbs {

// The CM ids of one connected endpoint; the channel outlives the ids (declared first).
struct CmConnections {
  CmEventChannelPtr channel;
  CmIdPtr listen_id;  // server side only
  std::vector<CmIdPtr> ids;
};

// Server: listens on `ip` (the endpoint's RoCE address, IPv4 or IPv6), any free port.
// The spec's traffic class is the listening id's TOS, which its connections take.
Result<CmConnections> cm_listen(const std::string& ip, const PathSpec& path);
uint16_t cm_port(const CmConnections& cm);
// Server: accepts one request per QP of `ep` and moves its QPs to RTS (the pkey index and the
// path from the CM; the read limits from both endpoints, as verbs/addressing.hpp says).
Result<void> cm_accept(CmConnections& cm, Endpoint& ep, const EndpointInfo& remote, Millis timeout);

// Client: connects every QP of `ep` from `src_ip` to dst_ip:port and moves them to RTS, with
// the spec's traffic class as the CM's TOS.
Result<CmConnections> cm_connect(Endpoint& ep, const std::string& src_ip, const std::string& dst_ip, uint16_t port,
                                 const PathSpec& path, const EndpointInfo& remote, Millis timeout);

}  // namespace railcheck::verbs
