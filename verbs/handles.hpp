#pragma once
// Owning handles for rdma-core objects: one std::unique_ptr alias per verbs type, each with
// a noexcept deleter that logs a failed destroy instead of throwing. Declare members in
// creation order (context, pd, cq, qp, mr) so destruction runs in exact reverse order.

#include <infiniband/verbs.h>

#include <memory>

namespace railcheck::verbs {

struct ContextDeleter { void operator()(ibv_context* p) const noexcept; };
struct DeviceListDeleter { void operator()(ibv_device** p) const noexcept; };

using ContextPtr = std::unique_ptr<ibv_context, ContextDeleter>;
using DeviceListPtr = std::unique_ptr<ibv_device*, DeviceListDeleter>;

}  // namespace railcheck::verbs
