#include "verbs/oob.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <fmt/format.h>
#include <utility>

namespace railcheck::verbs {
namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

// Waits for `events` on fd until the deadline: 1 ready, 0 timed out, -1 error (errno set).
int wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{.fd = fd, .events = events, .revents = 0};
    int rc = ::poll(&p, 1, ms_left(deadline));
    if (rc < 0 && errno == EINTR) continue;
    return rc;
  }
}

std::string sockaddr_text(const sockaddr_storage& ss, bool with_port) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf.data(), buf.size());
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf.data(), buf.size());
    port = ntohs(a->sin6_port);
  }
  return with_port ? fmt::format("{}:{}", buf.data(), port) : std::string(buf.data());
}

// Keepalive probes notice a peer whose node vanished without closing the connection
// (about 11 s), so no wait on the OOB socket can hang forever.
void tune(int fd) {
  int one = 1, idle_s = 5, interval_s = 2, count = 3;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof interval_s);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<OobSocket> OobSocket::connect(const std::string& host, uint16_t port, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    return fail(Errc::kNotFound, fmt::format("peer {}: {}", host, gai_strerror(rc)), "check the peer's name or IP");
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, freeaddrinfo);
  int last_errno = ECONNREFUSED;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    OobSocket s(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
    if (s.fd_.get() < 0) {
      last_errno = errno;
      continue;
    }
    if (::connect(s.fd_.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last_errno = errno;
        continue;
      }
      int ready = wait_fd(s.fd_.get(), POLLOUT, deadline);
      if (ready == 0) {
        return fail(Errc::kTimeout, fmt::format("connect to {}:{}", host, port),
                    fmt::format("no answer in {} ms: is the peer reachable and is `railcheck serve` running there?",
                                timeout.count()));
      }
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(s.fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (ready < 0 || err != 0) {
        last_errno = ready < 0 ? errno : err;
        continue;
      }
    }
    tune(s.fd_.get());
    return s;
  }
  return fail_errno(fmt::format("connect to {}:{}", host, port), last_errno,
                    last_errno == ECONNREFUSED ? "nothing listens there: start `railcheck serve` on the peer"
                                               : "check the route to the peer");
}

Result<void> OobSocket::write_all(const char* data, size_t n, Clock::time_point deadline) {
  while (n > 0) {
    ssize_t w = ::send(fd_.get(), data, n, MSG_NOSIGNAL);
    if (w > 0) {
      data += w;
      n -= static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (wait_fd(fd_.get(), POLLOUT, deadline) <= 0) return fail(Errc::kTimeout, "sending to " + peer_name());
      continue;
    }
    return fail_errno("sending to " + peer_name(), errno, "the peer closed the connection");
  }
  return {};
}

Result<void> OobSocket::read_all(char* data, size_t n, Clock::time_point deadline) {
  while (n > 0) {
    ssize_t r = ::recv(fd_.get(), data, n, 0);
    if (r > 0) {
      data += r;
      n -= static_cast<size_t>(r);
      continue;
    }
    if (r == 0) return fail(Errc::kPeer, "peer " + peer_name() + " closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      int ready = wait_fd(fd_.get(), POLLIN, deadline);
      if (ready == 0) return fail(Errc::kTimeout, "waiting for " + peer_name());
      if (ready < 0) return fail_errno("waiting for " + peer_name(), errno);
      continue;
    }
    return fail_errno("receiving from " + peer_name(), errno);
  }
  return {};
}

Result<void> OobSocket::send(const nlohmann::json& message, Millis timeout) {
  const std::string body = message.dump();
  const uint32_t len = htonl(static_cast<uint32_t>(body.size()));
  std::string frame(reinterpret_cast<const char*>(&len), sizeof len);
  frame += body;
  return write_all(frame.data(), frame.size(), Clock::now() + timeout);
}

Result<nlohmann::json> OobSocket::receive(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  uint32_t len_be = 0;
  if (auto r = read_all(reinterpret_cast<char*>(&len_be), sizeof len_be, deadline); !r) {
    return std::unexpected(r.error());
  }
  const uint32_t len = ntohl(len_be);
  if (len == 0 || len > kMaxOobMessageBytes) {
    return fail(Errc::kProtocol, fmt::format("{} sent a frame of {} bytes", peer_name(), len),
                "is the peer a railcheck of the same version?");
  }
  std::string body(len, '\0');
  if (auto r = read_all(body.data(), len, deadline); !r) return std::unexpected(r.error());
  nlohmann::json msg = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (msg.is_discarded() || !msg.is_object()) {
    return fail(Errc::kProtocol, peer_name() + " sent a message that is not a JSON object",
                "is the peer a railcheck of the same version?");
  }
  return msg;
}

bool OobSocket::readable_now() const noexcept {
  pollfd p{.fd = fd_.get(), .events = POLLIN, .revents = 0};
  return ::poll(&p, 1, 0) > 0;
}

std::string OobSocket::peer_name() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "peer";
  return sockaddr_text(ss, true);
}

std::string OobSocket::local_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return sockaddr_text(ss, false);
}

Result<OobListener> OobListener::listen(const std::string& address, uint16_t port) {
  OobListener l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (l.fd_.get() < 0) return fail_errno("socket", errno);
  int one = 1;
  setsockopt(l.fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  if (!address.empty() && inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1) {
    return fail(Errc::kInvalidArgument, fmt::format("listen address \"{}\"", address), "give an IPv4 address");
  }
  if (::bind(l.fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    return fail_errno(fmt::format("bind {}:{}", address.empty() ? "0.0.0.0" : address, port), errno,
                      errno == EADDRINUSE ? "another server already listens there: choose --port" : "");
  }
  if (::listen(l.fd_.get(), 16) != 0) return fail_errno("listen", errno);
  return l;
}

Result<OobSocket> OobListener::accept(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int ready = wait_fd(fd_.get(), POLLIN, deadline);
    if (ready == 0) return fail(Errc::kTimeout, "waiting for a client");
    if (ready < 0) return fail_errno("waiting for a client", errno);
    int fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      tune(fd);
      return OobSocket(fd);
    }
    if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) return fail_errno("accept", errno);
  }
}

uint16_t OobListener::port() const {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

}  // namespace railcheck::verbs
