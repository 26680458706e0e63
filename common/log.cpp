#include "common/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace railcheck {

Result<void> init_logging(std::string_view level) {
  if (std::ranges::find(kLogLevels, level) == std::end(kLogLevels)) {
    return fail(Errc::kInvalidArgument, "--log-level " + std::string(level),
                "use one of trace, debug, info, warn, error, off");
  }
  auto logger = spdlog::get("railcheck");
  if (!logger) {
    logger = spdlog::stderr_color_mt("railcheck");
    logger->set_pattern("%^%l%$ %v");
  }
  spdlog::set_default_logger(std::move(logger));
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
  return {};
}

}  // namespace railcheck
