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

// Server: listens on `ipv4` (the endpoint's RoCE address), any free port.
Result<CmConnections> cm_listen(const std::string& ipv4);
uint16_t cm_port(const CmConnections& cm);
// Server: accepts one request per QP of `ep` and moves its QPs to RTS.
Result<void> cm_accept(CmConnections& cm, Endpoint& ep, Millis timeout);

// Client: connects every QP of `ep` from `src_ipv4` to dst_ipv4:port and moves them to RTS.
Result<CmConnections> cm_connect(Endpoint& ep, const std::string& src_ipv4, const std::string& dst_ipv4,
                                 uint16_t port, Millis timeout);

}  // namespace railcheck::verbs
