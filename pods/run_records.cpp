#include "pods/run_records.hpp"

#include <fmt/format.h>

namespace railcheck::pods {

std::string test_name(verbs::TestKind kind, verbs::Op op) {
  return fmt::format("{}_{}", verbs::to_string(op), verbs::to_string(kind));
}

std::vector<reports::Record> records_from_run(const verbs::RunRecord& run, const topology::RailPort& port,
                                              const std::string& node, const std::string& pod) {
  reports::PairEnd src{.node = node,
                       .pod = pod,
                       .interface = port.interface,
                       .ip = {},
                       .device = run.local.device,
                       .pci_address = port.pci_address.value_or(""),
                       .link_layer = run.local.link_layer,
                       .active_mtu = run.local.mtu_bytes ? std::optional<uint32_t>(run.local.mtu_bytes) : std::nullopt,
                       .rate_gbps = port.rate_gbps,
                       .mem = "host",
                       .gpu = std::nullopt,
                       .gpu_pci_address = {},
                       .gpu_class = {}};
  for (const auto& ip : port.ips) {
    if (ip.find('.') != std::string::npos) {
      src.ip = ip;
      break;
    }
  }
  if (port.nearest_gpu) {
    src.gpu = port.nearest_gpu->ordinal;
    src.gpu_pci_address = port.nearest_gpu->pci_address;
    src.gpu_class = std::string(topology::to_string(port.nearest_gpu->path));
  }
  reports::PairEnd dst;
  dst.device = run.remote.device;
  dst.link_layer = run.remote.link_layer;
  if (run.remote.mtu_bytes) dst.active_mtu = run.remote.mtu_bytes;

  std::vector<reports::Record> out;
  for (const auto& s : run.sizes) {
    reports::Record r{.rail = {},
                      .src = src,
                      .dst = dst,
                      .test = test_name(run.spec.kind, run.spec.op),
                      .size_bytes = s.msg_bytes,
                      .bidir = run.spec.bidir,
                      .qps = run.spec.qps,
                      .iters = s.iters,
                      .elapsed_s = s.elapsed_s,
                      .latency_us = std::nullopt,
                      .bandwidth = std::nullopt,
                      .error = {},
                      .attempts = 1,
                      .round = 0,
                      .verdict = reports::Verdict::kNone,
                      .cause = {}};
    if (s.latency) {
      const auto& l = *s.latency;
      r.latency_us = reports::LatencyUs{.count = l.count, .min = l.min_ns / 1e3, .p50 = l.p50_ns / 1e3,
                                        .p90 = l.p90_ns / 1e3, .p99 = l.p99_ns / 1e3, .p99_9 = l.p999_ns / 1e3,
                                        .max = l.max_ns / 1e3, .mean = l.mean_ns / 1e3, .stdev = l.stdev_ns / 1e3};
    }
    if (s.bandwidth) {
      const auto& b = *s.bandwidth;
      r.bandwidth = reports::Bandwidth{.messages = b.messages, .avg_gbps = b.avg_gbps, .peak_gbps = b.peak_gbps,
                                       .msg_rate_mpps = b.msg_rate_mpps};
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace railcheck::pods
