#pragma once
// Owning handles for rdma-core objects: one std::unique_ptr alias per verbs type, each with
// a noexcept deleter that logs a failed destroy instead of throwing. Declare members in
// creation order (context, pd, channel, cq, mr, qp) so destruction runs in exact reverse order.

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <memory>

namespace railcheck::verbs {

struct DeviceListDeleter { void operator()(ibv_device** p) const noexcept; };
struct ContextDeleter { void operator()(ibv_context* p) const noexcept; };
struct PdDeleter { void operator()(ibv_pd* p) const noexcept; };
struct CompChannelDeleter { void operator()(ibv_comp_channel* p) const noexcept; };
struct CqDeleter { void operator()(ibv_cq* p) const noexcept; };
struct MrDeleter { void operator()(ibv_mr* p) const noexcept; };
struct QpDeleter { void operator()(ibv_qp* p) const noexcept; };
struct CmEventChannelDeleter { void operator()(rdma_event_channel* p) const noexcept; };
struct CmIdDeleter { void operator()(rdma_cm_id* p) const noexcept; };

using DeviceListPtr = std::unique_ptr<ibv_device*, DeviceListDeleter>;
using ContextPtr = std::unique_ptr<ibv_context, ContextDeleter>;
using PdPtr = std::unique_ptr<ibv_pd, PdDeleter>;
using CompChannelPtr = std::unique_ptr<ibv_comp_channel, CompChannelDeleter>;
using CqPtr = std::unique_ptr<ibv_cq, CqDeleter>;
using MrPtr = std::unique_ptr<ibv_mr, MrDeleter>;
using QpPtr = std::unique_ptr<ibv_qp, QpDeleter>;
using CmEventChannelPtr = std::unique_ptr<rdma_event_channel, CmEventChannelDeleter>;
using CmIdPtr = std::unique_ptr<rdma_cm_id, CmIdDeleter>;

}  // namespace railcheck::verbs
