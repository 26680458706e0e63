#pragma once
// A port's counters, read around each test so that what the fabric did during it travels with
// the figures: a lossy link shows as retransmissions, congestion as CNPs, a flap as link_downed.
//
// The kernel exposes two sets per port (Documentation/ABI/stable/sysfs-class-infiniband):
//   ports/P/counters/     the IB PMA set (symbol_error, link_downed, port_rcv_errors, ...);
//                         mlx5 has it, rxe does not (no MAD support)
//   ports/P/hw_counters/  the driver's own set: mlx5's out_of_sequence, local_ack_timeout_err,
//                         np_cnp_sent, ... (providers/mlx5 and the kernel's mlx5 counters.c);
//                         rxe's rcvd_seq_err, duplicate_request, retry_exceeded_err, ...
//                         (drivers/infiniband/sw/rxe/rxe_hw_counters.c)
// Names differ per driver, so a table maps the known ones to a few meanings (counter_meaning);
// an unknown name is kept, raw, as kUnknown. The reading is a plain function of a directory,
// unit-tested over fixture trees.
//
// What a delta covers: the port, not the test's QPs. Another user of the port during the
// test adds to it (on a GPU node, a training job's traffic); railcheck's pairs are scheduled
// so that a port is in one test at a time.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace railcheck::verbs {

enum class CounterMeaning : uint8_t {
  kTraffic,         // bytes and packets moved: not a fault
  kRetransmission,  // lost, corrupted or reordered packets seen by the transport (sequence errors, timeouts, duplicates)
  kCongestion,      // ECN marks and CNPs (DCQCN at work), IB credit waits
  kLinkError,       // physical layer: symbol errors, bad packets received, link recovery
  kLinkDown,        // the link went down
  kDiscard,         // packets dropped by the port (no receive buffer, discards)
  kReceiverNotReady,  // RNR NAKs: a receiver without a posted receive
  kOperationError,  // work requests completed in error (access, length, flush)
  kUnknown,         // a name the table does not know: kept raw
  kNotACounter,     // a file in the counters folder that is a setting, not a count (mlx5 "lifespan")
};
std::string_view to_string(CounterMeaning m) noexcept;  // "traffic", "retransmission", ...
// Whether a counter of this meaning moving is a sign of a fault on the path (not traffic,
// congestion or a setting): what makes a passing record worth a warning.
bool is_fault(CounterMeaning m) noexcept;
// The meaning of a counter by its file name, as mlx5, rxe and the IB PMA set name them.
CounterMeaning counter_meaning(std::string_view name) noexcept;

// One port's counters at one moment: file name -> value. A name in both folders (mlx5 has
// none) keeps the hw_counters value.
using CounterSnapshot = std::map<std::string, uint64_t, std::less<>>;

// Reads ports/PORT/counters and ports/PORT/hw_counters of DEVICE below `class_dir`
// ("/sys/class/infiniband"). A folder that does not exist is skipped; an error only when
// neither folder exists or a file cannot be read or parsed (the message names the file).
Result<CounterSnapshot> read_port_counters(std::string_view device, uint8_t port,
                                           std::string_view class_dir = "/sys/class/infiniband");

// A counter that moved during a test.
struct CounterDelta {
  std::string name;
  uint64_t delta = 0;
  CounterMeaning meaning = CounterMeaning::kUnknown;
  bool operator==(const CounterDelta&) const = default;
};

// The counters that moved between two snapshots, traffic and settings left out, by name. A
// counter that went backwards (reset, or a 32-bit PMA counter that wrapped) counts as moved by
// its new value: a reset during a test is itself worth seeing.
std::vector<CounterDelta> counter_deltas(const CounterSnapshot& before, const CounterSnapshot& after);

// {"name": delta, ...}; null for nullopt (not read). Every document that carries deltas.
nlohmann::json counters_json(const std::optional<std::vector<CounterDelta>>& deltas);

// Another way to a port's hardware counters, for where sysfs has none: netlink's
// RDMA_NLDEV_CMD_STAT_GET (topology::read_rdma_port_stats). A pod in shared RDMA netns mode sees
// a compat copy of its device in sysfs, without hw_counters/; netlink reaches the device itself.
using CounterReader = std::function<Result<CounterSnapshot>(std::string_view device, uint32_t port)>;

// Reads a snapshot before a test and gives the deltas after it; an end whose counters cannot be
// read gives nullopt and says why (never fails the test). The hardware counters come from sysfs,
// else from `hw_reader` when given; the PMA set (counters/) from sysfs only.
class PortCounterWatch {
 public:
  PortCounterWatch(std::string device, uint8_t port, CounterReader hw_reader = {},
                   std::string class_dir = "/sys/class/infiniband");
  void start();
  // The deltas since start(); nullopt when either read failed (note() says why).
  std::optional<std::vector<CounterDelta>> stop();
  [[nodiscard]] const std::string& note() const noexcept { return note_; }

 private:
  Result<CounterSnapshot> read() const;

  std::string device_;
  uint8_t port_;
  CounterReader hw_reader_;
  std::string class_dir_;
  std::optional<CounterSnapshot> before_;
  std::string note_;
};

}  // namespace railcheck::verbs
