#include "verbs/port_counters.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <utility>

namespace railcheck::verbs {
namespace {

using M = CounterMeaning;

struct KnownCounter {
  std::string_view name;
  CounterMeaning meaning;
};

// Sorted by name (binary search; a unit test checks the order). Sources: the kernel's IB PMA
// attributes (drivers/infiniband/core/sysfs.c), mlx5's hw_counters (drivers/infiniband/hw/mlx5/
// counters.c, described in NVIDIA's "Understanding mlx5 Linux Counters"), rxe's
// (drivers/infiniband/sw/rxe/rxe_hw_counters.c).
constexpr std::array<KnownCounter, 62> kKnown = {{
    {"VL15_dropped", M::kTraffic},  // subnet management packets a port without an SM drops: routine
    {"ack_deferred", M::kTraffic},  // rxe: an ACK coalesced with a later one
    {"completer_retry_err", M::kRetransmission},          // rxe: the requester retransmitted
    {"duplicate_request", M::kRetransmission},            // mlx5, rxe: a request received twice (a retransmission)
    {"excessive_buffer_overrun_errors", M::kDiscard},     // PMA
    {"implied_nak_seq_err", M::kRetransmission},          // mlx5: a response implied a lost one
    {"lifespan", M::kNotACounter},                        // mlx5: the counters' cache time (ms), a setting
    {"link_downed", M::kLinkDown},                        // PMA, rxe
    {"link_error_recovery", M::kLinkError},               // PMA
    {"local_ack_timeout_err", M::kRetransmission},        // mlx5: the requester timed out waiting for an ACK
    {"local_link_integrity_errors", M::kLinkError},       // PMA
    {"multicast_rcv_packets", M::kTraffic},
    {"multicast_xmit_packets", M::kTraffic},
    {"np_cnp_sent", M::kCongestion},                      // mlx5: CNPs sent for ECN-marked packets received
    {"np_ecn_marked_roce_packets", M::kCongestion},       // mlx5: packets received with ECN CE
    {"out_of_buffer", M::kDiscard},                       // mlx5: packets dropped for want of a receive WQE
    {"out_of_seq_request", M::kRetransmission},           // rxe: a request out of sequence (one was lost)
    {"out_of_sequence", M::kRetransmission},              // mlx5: packets out of sequence (one was lost)
    {"packet_seq_err", M::kRetransmission},               // mlx5: NAK sequence errors received
    {"port_rcv_constraint_errors", M::kDiscard},          // PMA
    {"port_rcv_data", M::kTraffic},
    {"port_rcv_errors", M::kLinkError},                   // PMA: malformed packets received (CRC, length)
    {"port_rcv_packets", M::kTraffic},
    {"port_rcv_remote_physical_errors", M::kLinkError},   // PMA: packets marked bad upstream (EBP)
    {"port_rcv_switch_relay_errors", M::kDiscard},        // PMA
    {"port_xmit_constraint_errors", M::kDiscard},         // PMA
    {"port_xmit_data", M::kTraffic},
    {"port_xmit_discards", M::kDiscard},                  // PMA: packets the port had to drop (link down, congestion)
    {"port_xmit_packets", M::kTraffic},
    {"port_xmit_wait", M::kCongestion},                   // PMA: ticks with data to send and no credit
    {"rcvd_pkts", M::kTraffic},                           // rxe
    {"rcvd_rnr_err", M::kReceiverNotReady},               // rxe
    {"rcvd_seq_err", M::kRetransmission},                 // rxe: a packet out of sequence (one was lost)
    {"rdma_recvs", M::kTraffic},                          // rxe
    {"rdma_sends", M::kTraffic},                          // rxe
    {"req_cqe_error", M::kOperationError},                // mlx5
    {"req_cqe_flush_error", M::kOperationError},          // mlx5
    {"req_remote_access_errors", M::kOperationError},     // mlx5
    {"req_remote_invalid_request", M::kOperationError},   // mlx5
    {"req_rnr_retries_exceeded", M::kReceiverNotReady},   // mlx5
    {"req_transport_retries_exceeded", M::kRetransmission},  // mlx5: a QP gave up retransmitting
    {"resp_cqe_error", M::kOperationError},               // mlx5
    {"resp_cqe_flush_error", M::kOperationError},         // mlx5
    {"resp_local_length_error", M::kOperationError},      // mlx5
    {"resp_remote_access_errors", M::kOperationError},    // mlx5
    {"retry_exceeded_err", M::kRetransmission},           // rxe: a QP gave up retransmitting
    {"retry_rnr_exceeded_err", M::kReceiverNotReady},     // rxe
    {"rnr_nak_retry_err", M::kReceiverNotReady},          // mlx5
    {"roce_adp_retrans", M::kRetransmission},             // mlx5: adaptive retransmissions
    {"roce_adp_retrans_to", M::kRetransmission},          // mlx5: adaptive retransmission timeouts
    {"roce_slow_restart", M::kRetransmission},            // mlx5: slow restarts after retransmission
    {"roce_slow_restart_cnps", M::kCongestion},           // mlx5
    {"roce_slow_restart_trans", M::kRetransmission},      // mlx5
    {"rp_cnp_handled", M::kCongestion},                   // mlx5: CNPs received and acted on (rate reduced)
    {"rp_cnp_ignored", M::kCongestion},                   // mlx5
    {"rx_atomic_requests", M::kTraffic},                  // mlx5
    {"rx_dct_connect", M::kTraffic},                      // mlx5
    {"rx_icrc_encapsulated", M::kLinkError},              // mlx5: RoCE packets with ICRC errors
    {"rx_read_requests", M::kTraffic},                    // mlx5
    {"rx_write_requests", M::kTraffic},                   // mlx5
    {"send_err", M::kDiscard},                            // rxe: a packet the netdev would not take (link down)
    {"symbol_error", M::kLinkError},                      // PMA: line coding errors (a dirty cable, a bad transceiver)
}};

constexpr bool sorted_by_name() {
  for (size_t i = 1; i < kKnown.size(); ++i) {
    if (!(kKnown[i - 1].name < kKnown[i].name)) return false;
  }
  return true;
}
static_assert(sorted_by_name(), "kKnown must stay sorted by name");

// PMA names not in the table that are traffic (the per-VL and extended-speed families).
bool traffic_family(std::string_view name) noexcept {
  return name.starts_with("unicast_") || name.ends_with("_data") || name.ends_with("_packets") ||
         name.ends_with("_pkts") || name.ends_with("_bytes");
}

Result<void> read_folder(const std::filesystem::path& dir, CounterSnapshot& out) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    const std::string name = entry.path().filename().string();
    std::ifstream in(entry.path());
    std::string text;
    if (!in || !std::getline(in, text)) {
      return fail(Errc::kSystem, fmt::format("cannot read {}", entry.path().string()));
    }
    uint64_t value = 0;
    const char* end = text.data() + text.size();
    auto [p, err] = std::from_chars(text.data(), end, value);
    if (err != std::errc() || p == text.data()) {
      if (counter_meaning(name) == M::kNotACounter) continue;
      return fail(Errc::kSystem, fmt::format("{}: \"{}\" is not a counter value", entry.path().string(), text));
    }
    out.insert_or_assign(name, value);
  }
  if (ec) return fail(Errc::kSystem, fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  return {};
}

}  // namespace

std::string_view to_string(CounterMeaning m) noexcept {
  switch (m) {
    case M::kTraffic: return "traffic";
    case M::kRetransmission: return "retransmission";
    case M::kCongestion: return "congestion";
    case M::kLinkError: return "link_error";
    case M::kLinkDown: return "link_down";
    case M::kDiscard: return "discard";
    case M::kReceiverNotReady: return "receiver_not_ready";
    case M::kOperationError: return "operation_error";
    case M::kUnknown: return "unknown";
    case M::kNotACounter: return "not_a_counter";
  }
  return "unknown";
}

bool is_fault(CounterMeaning m) noexcept {
  switch (m) {
    case M::kRetransmission:
    case M::kLinkError:
    case M::kLinkDown:
    case M::kDiscard:
    case M::kReceiverNotReady:
    case M::kOperationError: return true;
    default: return false;
  }
}

CounterMeaning counter_meaning(std::string_view name) noexcept {
  auto it = std::lower_bound(kKnown.begin(), kKnown.end(), name,
                             [](const KnownCounter& k, std::string_view n) { return k.name < n; });
  if (it != kKnown.end() && it->name == name) return it->meaning;
  return traffic_family(name) ? M::kTraffic : M::kUnknown;
}

Result<CounterSnapshot> read_port_counters(std::string_view device, uint8_t port, std::string_view class_dir) {
  const std::filesystem::path base =
      std::filesystem::path(class_dir) / std::string(device) / "ports" / std::to_string(port);
  CounterSnapshot out;
  bool any = false;
  for (const char* folder : {"counters", "hw_counters"}) {
    const auto dir = base / folder;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) continue;
    any = true;
    if (auto ok = read_folder(dir, out); !ok) return std::unexpected(ok.error());
  }
  if (!any) {
    return fail(Errc::kNotFound, fmt::format("{} has neither counters/ nor hw_counters/", base.string()),
                "the port's counters cannot be read here (is /sys/class/infiniband the pod's?)");
  }
  return out;
}

std::vector<CounterDelta> counter_deltas(const CounterSnapshot& before, const CounterSnapshot& after) {
  std::vector<CounterDelta> out;
  for (const auto& [name, value] : after) {
    const CounterMeaning meaning = counter_meaning(name);
    if (meaning == M::kTraffic || meaning == M::kNotACounter) continue;
    auto it = before.find(name);
    const uint64_t was = it == before.end() ? 0 : it->second;
    if (value == was) continue;
    out.push_back({name, value > was ? value - was : value, meaning});
  }
  return out;
}

nlohmann::json counters_json(const std::optional<std::vector<CounterDelta>>& deltas) {
  if (!deltas) return nullptr;
  nlohmann::json moved = nlohmann::json::object();
  for (const CounterDelta& d : *deltas) moved[d.name] = d.delta;
  return moved;
}

PortCounterWatch::PortCounterWatch(std::string device, uint8_t port, CounterReader hw_reader, std::string class_dir)
    : device_(std::move(device)), port_(port), hw_reader_(std::move(hw_reader)), class_dir_(std::move(class_dir)) {}

Result<CounterSnapshot> PortCounterWatch::read() const {
  auto snap = read_port_counters(device_, port_, class_dir_);
  std::error_code ec;
  const bool hw = std::filesystem::is_directory(
      std::filesystem::path(class_dir_) / device_ / "ports" / std::to_string(port_) / "hw_counters", ec);
  if (hw || !hw_reader_) return snap;
  auto other = hw_reader_(device_, port_);
  if (!other) {
    if (snap) return snap;  // the PMA set alone
    Error e = snap.error();
    e.what += fmt::format("; netlink: {}", other.error().message());
    return std::unexpected(std::move(e));
  }
  CounterSnapshot out = snap ? std::move(*snap) : CounterSnapshot{};
  for (auto& [name, value] : *other) out.insert_or_assign(name, value);
  return out;
}

void PortCounterWatch::start() {
  auto snap = read();
  if (snap) {
    before_ = std::move(*snap);
    note_.clear();
  } else {
    before_.reset();
    note_ = snap.error().message();
  }
}

std::optional<std::vector<CounterDelta>> PortCounterWatch::stop() {
  if (!before_) return std::nullopt;
  auto after = read();
  if (!after) {
    note_ = after.error().message();
    return std::nullopt;
  }
  return counter_deltas(*before_, *after);
}

}  // namespace railcheck::verbs
