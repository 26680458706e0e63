#include <fmt/format.h>

#include <iostream>

#include "cli/command.hpp"
#include "common/build_info.hpp"
#include "gpudirect/cuda_probe.hpp"

namespace railcheck::cli {

Command add_version_command(CLI::App& parent) {
  CLI::App* sub = parent.add_subcommand("version", "Print the version, the git commit and the optional parts built in");
  auto run = [] {
    const BuildInfo& b = build_info();
    std::cout << fmt::format("railcheck {}\n", b.version);
    std::cout << fmt::format("commit:     {}\n", b.git_commit);
    std::cout << fmt::format("build:      {}{}\n", b.build_type, b.sanitizers ? " (ASan+UBSan)" : "");
    if (b.cuda_built_in) {
      std::cout << fmt::format("cuda:       built in (toolkit {})\n", b.cuda_toolkit_version);
      auto cuda = gpudirect::probe_cuda();
      if (cuda) {
        std::cout << fmt::format("cuda here:  driver {}, {} GPU(s)\n", cuda->driver_version, cuda->gpus.size());
      } else {
        std::cout << fmt::format("cuda here:  unavailable: {}\n", cuda.error().what);
      }
    } else {
      std::cout << "cuda:       not built in (GPU memory tests are waived)\n";
    }
    return kExitOk;
  };
  return Command{sub, run};
}

}  // namespace railcheck::cli
