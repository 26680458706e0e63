#include "verbs/placement.hpp"

#include <fmt/format.h>
#include <linux/mempolicy.h>
#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>

namespace railcheck::verbs {
namespace {

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) out.push_back(c);
  }
  return out;
}

// Tests per CPU in this process, across every test that runs at once.
std::mutex g_pool_mutex;
std::map<int, int> g_in_use;

constexpr std::string_view kMoreCpus =
    "give the pod more CPUs on the NIC's socket (the chart's resources.limits.cpu and requests, with the kubelet's "
    "static CPU manager and topology manager single-numa-node)";

}  // namespace

std::optional<std::vector<int>> parse_cpulist(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  std::vector<int> cpus;
  if (text.empty()) return cpus;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const std::string_view part = text.substr(start, end - start);
    const size_t dash = part.find('-');
    int lo = 0, hi = 0;
    const auto num = [](std::string_view s, int& out) {
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      return ec == std::errc() && p == s.data() + s.size() && out >= 0 && out < 65536;
    };
    if (dash == std::string_view::npos) {
      if (!num(part, lo)) return std::nullopt;
      hi = lo;
    } else if (!num(part.substr(0, dash), lo) || !num(part.substr(dash + 1), hi) || hi < lo) {
      return std::nullopt;
    }
    for (int c = lo; c <= hi; ++c) cpus.push_back(c);
    start = end + 1;
  }
  std::ranges::sort(cpus);
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string format_cpulist(std::span<const int> cpus) {
  std::string s;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    s += fmt::format("{}{}", s.empty() ? "" : ",", i == j ? fmt::format("{}", cpus[i]) : fmt::format("{}-{}", cpus[i], cpus[j]));
    i = j + 1;
  }
  return s;
}

CpuChoice choose_cpu(std::span<const int> local, std::span<const int> allowed, const std::map<int, int>& in_use,
                     std::string_view nic) {
  const auto uses = [&](int c) {
    auto it = in_use.find(c);
    return it == in_use.end() ? 0 : it->second;
  };
  if (local.empty()) return CpuChoice{.cpu = -1, .local = false, .shared = false, .note = {}};  // unknown: not pinned
  std::vector<int> usable;
  std::ranges::copy_if(local, std::back_inserter(usable), [&](int c) { return std::ranges::find(allowed, c) != allowed.end(); });
  if (!usable.empty()) {
    const int best = *std::ranges::min_element(usable, {}, uses);  // the first of the least used
    if (uses(best) == 0) return CpuChoice{.cpu = best, .local = true, .shared = false, .note = {}};
    return CpuChoice{.cpu = best, .local = true, .shared = true,
                     .note = fmt::format("CPU {} is shared with {} other test(s): this pod may use {} of {}'s local "
                                         "CPUs ({}), fewer than the tests running at once; {}",
                                         best, uses(best), usable.size(), nic, format_cpulist(local), kMoreCpus)};
  }
  if (allowed.empty()) return CpuChoice{.cpu = -1, .local = false, .shared = false, .note = "no CPU this pod may use"};
  const int any = *std::ranges::min_element(allowed, {}, uses);
  return CpuChoice{.cpu = any, .local = false, .shared = uses(any) > 0,
                   .note = fmt::format("none of {}'s local CPUs ({}) is in this pod's CPU set ({}): the test runs on "
                                       "CPU {}, across the socket from its NIC; {}",
                                       nic, format_cpulist(local), format_cpulist(allowed), any, kMoreCpus)};
}

NicLocality read_nic_locality(const std::string& rdma_device, const std::string& sysfs_root) {
  const std::string dev = fmt::format("{}/class/infiniband/{}/device", sysfs_root, rdma_device);
  NicLocality n;
  if (auto cpus = parse_cpulist(read_line(dev + "/local_cpulist"))) n.local_cpus = std::move(*cpus);
  const std::string node = read_line(dev + "/numa_node");
  int v = -1;
  if (!node.empty() && std::from_chars(node.data(), node.data() + node.size(), v).ec == std::errc()) n.numa_node = v;
  return n;
}

Placement::~Placement() {
  if (restore_) (void)pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_);
  if (policy_set_) (void)::syscall(SYS_set_mempolicy, MPOL_DEFAULT, nullptr, 0);
  if (pinned_ < 0) return;
  std::lock_guard lock(g_pool_mutex);
  if (--g_in_use[pinned_] <= 0) g_in_use.erase(pinned_);
}

Placement place_this_thread(const std::string& rdma_device, const std::string& sysfs_root) {
  const NicLocality nic = read_nic_locality(rdma_device, sysfs_root);
  Placement p;
  p.numa_node_ = nic.numa_node;
  CpuChoice c;
  {
    std::lock_guard lock(g_pool_mutex);
    c = choose_cpu(nic.local_cpus, allowed_cpus(), g_in_use, rdma_device);
    if (c.cpu >= 0) ++g_in_use[c.cpu], p.pinned_ = c.cpu;
  }
  p.note_ = c.note;
  if (c.cpu >= 0) {
    p.restore_ = pthread_getaffinity_np(pthread_self(), sizeof p.saved_, &p.saved_) == 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(c.cpu, &set);
    if (int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set); rc != 0) {
      p.note_ = fmt::format("pinning to CPU {} failed ({}); {}", c.cpu, std::strerror(rc), p.note_);
    }
  }
  if (nic.numa_node >= 0 && nic.numa_node < 64) {
    // Memory this thread touches first (the test buffers) comes from the NIC's node.
    const unsigned long mask = 1ul << nic.numa_node;
    p.policy_set_ = ::syscall(SYS_set_mempolicy, MPOL_PREFERRED, &mask, 64) == 0;
    if (!p.policy_set_) {
      p.note_ += fmt::format("{}set_mempolicy(NUMA node {}) failed: {}", p.note_.empty() ? "" : "; ", nic.numa_node,
                             std::strerror(errno));
    }
  }
  p.cpu_ = c.cpu >= 0 ? c.cpu : sched_getcpu();
  if (!p.note_.empty()) spdlog::warn("{}: {}", rdma_device, p.note_);
  // Said in the results, not warned: a device without a PCI function (Soft-RoCE) has no
  // locality to keep; the CPU recorded is the one the test started on.
  if (nic.local_cpus.empty() && p.note_.empty()) {
    p.note_ = fmt::format("not pinned: {} has no local_cpulist (no PCI device, e.g. Soft-RoCE)", rdma_device);
  }
  return p;
}

}  // namespace railcheck::verbs
