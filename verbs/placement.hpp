#pragma once
// Where a test runs: on a CPU of the NIC's own socket (its PCI device's local_cpulist) that
// this pod may use (sched_getaffinity), one test per CPU while several run at once (the agent
// tests every rail in parallel), with its host buffers on the NIC's NUMA node. A test across
// the socket from its NIC measures the inter-socket link, not the rail; perftest binds to the
// NIC's NUMA node for the same reason. The choice is a pure function of those facts; the pool
// applies it to the calling thread and records it.

#include <sched.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace railcheck::verbs {

// "0-15,32-47" -> 0..15, 32..47 (sorted, unique). Garbage is nullopt.
std::optional<std::vector<int>> parse_cpulist(std::string_view text);
// 0..15, 32..47 -> "0-15,32-47".
std::string format_cpulist(std::span<const int> cpus);

struct CpuChoice {
  int cpu = -1;         // -1: not pinned (the scheduler places the test)
  bool local = false;   // the CPU is one of the NIC's
  bool shared = false;  // another test of this process runs on it
  std::string note;     // why the choice is not a free NIC-local CPU; empty when it is
};

// The CPU for a test on `nic`: the first NIC-local, allowed, unused CPU; when every local one
// is in use, the least used of them (shared: the pod has fewer usable NIC-local CPUs than
// tests at once); when the pod may use none of the NIC's CPUs, an unused allowed one (not
// local: the pod's cpuset is on the other socket). `local` empty: the NIC's locality is unknown
// (no PCI device: Soft-RoCE), and the test is not pinned. `in_use`: tests per CPU now.
CpuChoice choose_cpu(std::span<const int> local, std::span<const int> allowed, const std::map<int, int>& in_use,
                     std::string_view nic);

// The NIC's placement facts from sysfs: SYSFS/class/infiniband/DEV/device/{local_cpulist,numa_node}.
struct NicLocality {
  std::vector<int> local_cpus;  // empty: unknown
  int numa_node = -1;           // -1: unknown or a single node
};
NicLocality read_nic_locality(const std::string& rdma_device, const std::string& sysfs_root = "/sys");

// A test's place while it runs. Destroyed on the thread it placed (a scope of the test), it
// gives the CPU back to the pool and restores the thread's CPU set and memory policy: the
// agent runs tests on threads of its HTTP pool, which serve other requests afterwards.
class Placement {
 public:
  Placement() = default;
  Placement(Placement&& o) noexcept
      : pinned_(std::exchange(o.pinned_, -1)), restore_(std::exchange(o.restore_, false)), saved_(o.saved_),
        policy_set_(std::exchange(o.policy_set_, false)), cpu_(o.cpu_), numa_node_(o.numa_node_),
        note_(std::move(o.note_)) {}
  Placement& operator=(Placement&&) = delete;
  Placement(const Placement&) = delete;
  ~Placement();

  [[nodiscard]] int cpu() const noexcept { return cpu_; }  // pinned, or where it started when not
  [[nodiscard]] int numa_node() const noexcept { return numa_node_; }
  [[nodiscard]] const std::string& note() const noexcept { return note_; }

 private:
  friend Placement place_this_thread(const std::string&, const std::string&);
  int pinned_ = -1;  // the pool's CPU to give back; -1: none
  bool restore_ = false;  // saved_ holds the thread's CPU set before
  cpu_set_t saved_{};
  bool policy_set_ = false;
  int cpu_ = -1;
  int numa_node_ = -1;
  std::string note_;
};

// Pins the calling thread as choose_cpu() says (in one pool per process), prefers the NIC's
// NUMA node for the memory it allocates from now on, and logs a note that is not empty (a
// shared or remote CPU, with the chart setting to change). Never fails: a placement that
// cannot be applied is a note.
Placement place_this_thread(const std::string& rdma_device, const std::string& sysfs_root = "/sys");

}  // namespace railcheck::verbs
