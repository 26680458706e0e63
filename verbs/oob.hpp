#pragma once
// The out-of-band channel between client and server: one TCP connection (perftest's port
// 18515 by default) carrying length-prefixed JSON messages, with a deadline on every wait so a
// peer that vanishes or sends garbage is an error, never a hang.

#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace railcheck::verbs {

inline constexpr uint16_t kDefaultPort = 18515;
inline constexpr uint32_t kMaxOobMessageBytes = 4u << 20;  // a sane cap on one OOB message

using Millis = std::chrono::milliseconds;

// Owns one file descriptor (move-only; closed on destruction).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

// A connected TCP socket (move-only).
class OobSocket {
 public:
  OobSocket() = default;
  explicit OobSocket(int fd) noexcept : fd_(fd) {}

  // Resolves host (name or address) and connects within `timeout`.
  static Result<OobSocket> connect(const std::string& host, uint16_t port, Millis timeout);

  Result<void> send(const nlohmann::json& message, Millis timeout);
  // The next message; Errc::kPeer when the peer closed, kProtocol on garbage, kTimeout.
  Result<nlohmann::json> receive(Millis timeout);
  // True when the peer has sent data or closed; never blocks (used between spins).
  [[nodiscard]] bool readable_now() const noexcept;

  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  [[nodiscard]] std::string peer_name() const;   // "10.233.0.11:18515"
  [[nodiscard]] std::string local_address() const;  // our IP on this connection

 private:
  Result<void> write_all(const char* data, size_t n, std::chrono::steady_clock::time_point deadline);
  Result<void> read_all(char* data, size_t n, std::chrono::steady_clock::time_point deadline);
  UniqueFd fd_;
};

// A listening TCP socket (move-only).
class OobListener {
 public:
  OobListener() = default;

  // Listens on address:port ("" or "0.0.0.0": every address; port 0: any free port).
  static Result<OobListener> listen(const std::string& address, uint16_t port);
  // Waits up to `timeout` for a client; Errc::kTimeout when none came.
  Result<OobSocket> accept(Millis timeout);
  [[nodiscard]] uint16_t port() const;

 private:
  explicit OobListener(int fd) noexcept : fd_(fd) {}
  UniqueFd fd_;
};

}  // namespace railcheck::verbs
