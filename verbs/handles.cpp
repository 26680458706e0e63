#include "verbs/handles.hpp"

#include <spdlog/spdlog.h>

#include <cstring>

namespace railcheck::verbs {

void ContextDeleter::operator()(ibv_context* p) const noexcept {
  // ibv_close_device returns an errno value (0 on success), it does not set errno.
  if (int rc = ibv_close_device(p); rc != 0) {
    spdlog::warn("ibv_close_device({}) failed: {}", ibv_get_device_name(p->device), std::strerror(rc));
  }
}

void DeviceListDeleter::operator()(ibv_device** p) const noexcept { ibv_free_device_list(p); }

}  // namespace railcheck::verbs
