#include <fmt/format.h>

#include <iostream>
#include <optional>
#include <string_view>

#include "cli/command.hpp"
#include "common/build_info.hpp"
#include "gpudirect/cuda_driver.hpp"
#include "gpudirect/cuda_probe.hpp"
#include "gpudirect/preflight.hpp"

namespace railcheck::cli {
namespace {

std::string_view yes_no(std::optional<bool> v) { return !v ? "unknown" : (*v ? "yes" : "no"); }

// GPUDirect is in every build; whether it can work here is the driver's and the pod's business.
void print_cuda_here() {
  std::cout << fmt::format("cuda:       built in (driver API loaded at run time from {}; drivers from {}, R525)\n",
                           gpudirect::CudaDriver::kLibrary, gpudirect::cuda_version_text(gpudirect::cu::kMinDriverVersion));
  // The reason, with its fix, when there is no usable driver or no GPU (it names the version seen).
  if (auto cuda = gpudirect::probe_cuda(); !cuda) {
    std::cout << fmt::format("cuda here:  unusable: {}\n", cuda.error().message());
    return;
  }
  const gpudirect::GpuDirectPreflight pre = gpudirect::gpudirect_preflight();
  std::cout << fmt::format("cuda here:  driver {}, {} GPU(s) ({}; dma-buf export {}; peer memory module {})\n",
                           pre.driver_version, pre.gpus.size(), gpudirect::cuda_version_text(pre.driver_version),
                           pre.dmabuf_export ? "in the driver" : "not in the driver",
                           pre.peermem_loaded() ? pre.peermem_module : "not loaded");
  for (const gpudirect::GpuPreflight& g : pre.gpus) {
    std::cout << fmt::format("  gpu {}:    {} {} (dma-buf: {}, GPUDirect RDMA: {})\n", g.ordinal, g.name, g.pci_bus_id,
                             yes_no(g.dmabuf_supported), yes_no(g.gpudirect_rdma_supported));
  }
}

}  // namespace

Command add_version_command(CLI::App& parent) {
  CLI::App* sub = parent.add_subcommand(
      "version", "Print the version, the git commit, and whether GPUDirect (built in) can be used here");
  auto run = [] {
    const BuildInfo& b = build_info();
    std::cout << fmt::format("railcheck {}\n", b.version);
    std::cout << fmt::format("commit:     {}\n", b.git_commit);
    std::cout << fmt::format("build:      {}{}\n", b.build_type, b.sanitizers ? " (ASan+UBSan)" : "");
    print_cuda_here();
    return kExitOk;
  };
  return Command{sub, run};
}

}  // namespace railcheck::cli
