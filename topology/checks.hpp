#pragma once
// Setup checks (`railcheck check`): is this pod set up so that its rails can work? Each check
// takes the rail map plus the facts the caller read (command outputs, limits, file text, a
// sysfs root), never reads the live system itself beyond the sysfs root it is given, so every
// verdict can be computed and tested without hardware.
//
// Verdicts: pass; warn (works, but something an operator should know); fail (a rail will not
// work, with the fix); waived (the check cannot apply here: no GPU, a tool missing).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "topology/rail_map.hpp"

namespace railcheck::topology {

enum class Verdict { kPass, kWarn, kFail, kWaived };
std::string_view to_string(Verdict verdict) noexcept;  // "pass", "warn", "fail", "waived"

struct CheckResult {
  std::string name;     // "port_active"
  Verdict verdict = Verdict::kWaived;
  std::string subject;  // the interface ("net1"), or empty for a pod-wide check
  std::string reason;   // what was found
  std::string fix;      // what to do; empty on pass
};

// The RDMA subsystem's network-namespace mode (`rdma system show`: "netns shared ...").
enum class NetnsMode { kUnknown, kShared, kExclusive };
// Parses `rdma system show` output; kUnknown when it names no mode (or the text is empty).
NetnsMode parse_rdma_netns_mode(std::string_view rdma_system_output) noexcept;

// a. rdma_netns_mode: exclusive passes, shared warns, unknown is waived.
CheckResult check_rdma_netns_mode(NetnsMode mode);

// The RDMA devices under SYSFS_ROOT/class/infiniband, sorted; empty when there is none.
std::vector<std::string> visible_rdma_devices(const std::string& sysfs_root);

// b. devices_visible: the visible RDMA devices are exactly the rail map's. A missing rail
// device fails; an extra device warns in shared (or unknown) mode, fails in exclusive mode.
CheckResult check_devices_visible(const RailMap& map, const std::vector<std::string>& visible, NetnsMode mode);

// c. port_active, one per interface: an RDMA device, port state ACTIVE, physical state LINK_UP,
// a link layer.
std::vector<CheckResult> check_port_active(const RailMap& map);

// d. interface_addressing, one per interface: an IPv4 address; on RoCE (Ethernet), a RoCEv2
// GID carrying it.
std::vector<CheckResult> check_interface_addressing(const RailMap& map);

inline constexpr uint64_t kDefaultMemlockPerRail = 64ull << 20;  // 64 MiB
inline constexpr int kCapIpcLock = 14;

struct MemlockFacts {
  std::optional<uint64_t> rlimit_bytes;  // RLIMIT_MEMLOCK (soft); nullopt: unlimited
  std::string proc_status;               // the text of /proc/self/status (for CapEff)
  uint64_t per_rail_bytes = kDefaultMemlockPerRail;
};

// CapEff of a /proc/PID/status text; nullopt when absent or unreadable.
std::optional<uint64_t> parse_cap_eff(std::string_view proc_status) noexcept;

// e. memlock: unlimited, or >= per_rail x rails (at least one), or CAP_IPC_LOCK: pass.
CheckResult check_memlock(const RailMap& map, const MemlockFacts& facts);

// f. policy_routes, one per interface: from `ip -j rule` and `ip -j route show table all`
// (JSON text; empty: the tool was not available, waived). A rule `from <ip>` or `oif <netdev>`
// must look up a table with a default route via the interface's netdev (pass); a table that
// only has other routes via it warns; none fails. (routing_checks.cpp; the netdev is
// rail_netdev() of routing_checks.hpp.)
std::vector<CheckResult> check_policy_routes(const RailMap& map, std::string_view rules_json,
                                             std::string_view routes_json);

// What the GPUDirect check reads besides the map: where nvidia_peermem would show, and the
// two facts that decide whether dma-buf registration can work at all.
struct GpudirectFacts {
  std::string sysfs_root = "/sys";  // SYSFS_ROOT/module/{nvidia_peermem,nv_peer_mem}
  std::string kernel_release;       // `uname -r`; empty: unknown
  std::string nvidia_version;       // the text of /proc/driver/nvidia/version; empty: not visible
  // What CUDA itself says, where the caller could ask it (gpudirect::gpudirect_preflight);
  // nullopt: not asked (no CUDA built in), and the kernel/driver indication alone decides.
  struct Cuda {
    std::string driver_error;  // empty: a driver answered
    int gpus = 0;              // GPUs CUDA sees in this pod
    bool dmabuf_supported = false;  // every one reports CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED
  };
  std::optional<Cuda> cuda;
  // A rail whose nearest GPU is this far or farther warns / fails (PIX < PXB < PHB < NODE < SYS).
  PathClass warn_from = PathClass::kPhb;
  PathClass fail_from = PathClass::kSys;
};

// Can GPU memory be registered through dma-buf here? Needs a kernel of 5.12 or later (RDMA
// dma-buf MRs) and NVIDIA's open kernel module (the proprietary one exports no dma-buf); CUDA
// 11.7+ in the pod is not checked here. `reason` says what was found either way.
struct DmabufIndication {
  bool possible = false;
  std::string reason;
};
DmabufIndication dmabuf_indication(std::string_view kernel_release, std::string_view nvidia_version);

// g. gpudirect_ready: waived without a GPU. Else one pod-wide result: nvidia_peermem (or
// nv_peer_mem) loaded, or dma-buf possible (dmabuf_indication): pass; neither: fail. Then one
// per interface for its nearest GPU's class (PIX/PXB pass, PHB/NODE warn, SYS fail).
std::vector<CheckResult> check_gpudirect_ready(const RailMap& map, const GpudirectFacts& facts);

}  // namespace railcheck::topology
