#pragma once
// The error every setup path in railcheck returns (std::expected<T, Error>): what failed,
// the errno or status behind it, and what the operator should check. Libraries never exit
// or throw across module boundaries; the CLI turns an Error into one line and an exit code.

#include <expected>
#include <string>
#include <string_view>

namespace railcheck {

enum class Errc {
  kInvalidArgument,  // the caller asked for something impossible (bad size, bad name)
  kNotFound,         // a named device, interface, GPU or peer does not exist
  kUnsupported,      // a missing capability (no GPU, no dma-buf): a waived result, not a failure
  kSystem,           // a system or library call failed; errno is set
  kTimeout,          // a bounded wait ran out
  kPeer,             // the other side refused, vanished or disagreed
  kProtocol,         // malformed input: JSON, annotation, wire message
};

std::string_view to_string(Errc code) noexcept;

struct Error {
  Errc code = Errc::kSystem;
  std::string what;  // the call or step that failed, e.g. "ibv_reg_mr(4 MiB)"
  int sys_errno = 0; // 0 when no errno applies
  std::string hint;  // what to check, e.g. "raise the memlock limit (ulimit -l)"
  // The input field at fault, as a path ("spec.qps", "records[3].src.node"); empty when the
  // error is not about one field. An API names it in its 400 without parsing `what`.
  std::string field;

  static Error system(std::string what, int err, std::string hint = {});
  static Error make(Errc code, std::string what, std::string hint = {});

  // One line: "<what>: <strerror> (errno N); <hint>".
  [[nodiscard]] std::string message() const;
};

template <class T>
using Result = std::expected<T, Error>;

// Shorthand for returning an error from a function that returns Result<T>.
inline std::unexpected<Error> fail(Errc code, std::string what, std::string hint = {}) {
  return std::unexpected(Error::make(code, std::move(what), std::move(hint)));
}
inline std::unexpected<Error> fail_errno(std::string what, int err, std::string hint = {}) {
  return std::unexpected(Error::system(std::move(what), err, std::move(hint)));
}

}  // namespace railcheck
