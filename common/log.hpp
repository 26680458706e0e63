#pragma once
// Logging set-up shared by every subcommand: spdlog to stderr (stdout is for results, so
// `railcheck ... --format json | jq` always works), level chosen by --log-level.

#include <string_view>

#include "common/error.hpp"

namespace railcheck {

// Names accepted by --log-level, in order of verbosity.
inline constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error", "off"};

// Sets the default logger's level; an unknown name is an Errc::kInvalidArgument naming the choices.
Result<void> init_logging(std::string_view level);

}  // namespace railcheck
