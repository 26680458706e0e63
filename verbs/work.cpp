#include "verbs/work.hpp"

#include <fmt/format.h>

#include "verbs/pattern.hpp"

namespace railcheck::verbs {

Error completion_error(const ibv_wc& wc) {
  std::string hint;
  switch (wc.status) {
    case IBV_WC_RETRY_EXC_ERR:
      hint = "the peer stopped answering: it vanished, or the path is broken (routes, GID, MTU, PFC/ECN on the switch)";
      break;
    case IBV_WC_RNR_RETRY_EXC_ERR: hint = "the receiver had no receive posted: is the peer running the same test?"; break;
    case IBV_WC_REM_ACCESS_ERR:
    case IBV_WC_LOC_PROT_ERR: hint = "rkey/address/size mismatch: do both sides run the same railcheck version?"; break;
    case IBV_WC_LOC_LEN_ERR:
    case IBV_WC_REM_INV_REQ_ERR: hint = "message larger than the receive buffer or the path MTU allows"; break;
    case IBV_WC_WR_FLUSH_ERR: hint = "the QP went to error state after an earlier failure"; break;
    default: break;
  }
  return Error::make(Errc::kPeer,
                     fmt::format("work completion {} (status {}, vendor error {:#x}, QP {})", ibv_wc_status_str(wc.status),
                                 static_cast<int>(wc.status), wc.vendor_err, wc.qp_num),
                     hint);
}

void fill_pattern(uint8_t* data, uint64_t bytes, size_t qp) noexcept {
  for (uint64_t i = 0; i < bytes; ++i) data[i] = pattern_byte(i, bytes, qp);
}

std::optional<uint64_t> find_pattern_mismatch(const uint8_t* data, uint64_t bytes, size_t qp) noexcept {
  for (uint64_t i = 0; i < bytes; ++i) {
    if (data[i] != pattern_byte(i, bytes, qp)) return i;
  }
  return std::nullopt;
}

Result<bool> PeerWatch::check() {
  if (done_) return true;
  if (!oob_.readable_now()) return false;
  auto msg = oob_.receive(Millis(2000));
  if (!msg) {
    Error e = msg.error();
    if (e.code == Errc::kPeer) e.hint = "the peer vanished mid-run";
    return std::unexpected(e);
  }
  if (msg->value("type", "") != "done") {
    return fail(Errc::kProtocol, fmt::format("expected \"done\" from {}, got {}", oob_.peer_name(), msg->dump()));
  }
  done_ = std::move(*msg);
  return true;
}

}  // namespace railcheck::verbs
