#include "verbs/handles.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

namespace railcheck::verbs {
namespace {

// The ibv_destroy_* / ibv_dealloc_* / ibv_close_device calls return an errno value (0 on
// success); rdma_cm's return -1 and set errno.
void log_failure(const char* call, int rc) noexcept {
  if (rc != 0) spdlog::warn("{} failed: {}", call, std::strerror(rc));
}

}  // namespace

void DeviceListDeleter::operator()(ibv_device** p) const noexcept { ibv_free_device_list(p); }
void ContextDeleter::operator()(ibv_context* p) const noexcept { log_failure("ibv_close_device", ibv_close_device(p)); }
void PdDeleter::operator()(ibv_pd* p) const noexcept { log_failure("ibv_dealloc_pd", ibv_dealloc_pd(p)); }
void CompChannelDeleter::operator()(ibv_comp_channel* p) const noexcept {
  log_failure("ibv_destroy_comp_channel", ibv_destroy_comp_channel(p));
}
void CqDeleter::operator()(ibv_cq* p) const noexcept { log_failure("ibv_destroy_cq", ibv_destroy_cq(p)); }
void MrDeleter::operator()(ibv_mr* p) const noexcept { log_failure("ibv_dereg_mr", ibv_dereg_mr(p)); }
void QpDeleter::operator()(ibv_qp* p) const noexcept { log_failure("ibv_destroy_qp", ibv_destroy_qp(p)); }
void CmEventChannelDeleter::operator()(rdma_event_channel* p) const noexcept { rdma_destroy_event_channel(p); }
void CmIdDeleter::operator()(rdma_cm_id* p) const noexcept {
  if (rdma_destroy_id(p) != 0) log_failure("rdma_destroy_id", errno);
}

}  // namespace railcheck::verbs
