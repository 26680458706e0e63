#include "common/error.hpp"

#include <cstring>

namespace railcheck {

std::string_view to_string(Errc code) noexcept {
  switch (code) {
    case Errc::kInvalidArgument: return "invalid argument";
    case Errc::kNotFound: return "not found";
    case Errc::kUnsupported: return "unsupported";
    case Errc::kSystem: return "system error";
    case Errc::kTimeout: return "timeout";
    case Errc::kPeer: return "peer error";
    case Errc::kProtocol: return "protocol error";
  }
  return "unknown error";
}

Error Error::system(std::string what, int err, std::string hint) {
  return Error{.code = Errc::kSystem, .what = std::move(what), .sys_errno = err, .hint = std::move(hint), .field = {}};
}

Error Error::make(Errc code, std::string what, std::string hint) {
  return Error{.code = code, .what = std::move(what), .sys_errno = 0, .hint = std::move(hint), .field = {}};
}

std::string Error::message() const {
  std::string line = what;
  if (sys_errno != 0) {
    char buf[128];
    // GNU strerror_r returns the message pointer (which may not be buf).
    const char* text = strerror_r(sys_errno, buf, sizeof buf);
    line += ": ";
    line += text;
    line += " (errno " + std::to_string(sys_errno) + ")";
  }
  if (!hint.empty()) {
    line += "; ";
    line += hint;
  }
  return line;
}

}  // namespace railcheck
