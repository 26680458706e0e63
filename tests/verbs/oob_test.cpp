// The out-of-band channel over loopback TCP: framing, deadlines, and what a peer that
// vanishes or sends garbage looks like. No RDMA needed.
#include "verbs/oob.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace railcheck::verbs {
namespace {

struct Pair {
  OobListener listener;
  OobSocket client;
  OobSocket server;
};

Pair connected_pair() {
  auto l = OobListener::listen("127.0.0.1", 0);
  EXPECT_TRUE(l.has_value()) << l.error().message();
  auto c = OobSocket::connect("127.0.0.1", l->port(), Millis(2000));
  EXPECT_TRUE(c.has_value()) << c.error().message();
  auto s = l->accept(Millis(2000));
  EXPECT_TRUE(s.has_value()) << s.error().message();
  return Pair{std::move(*l), std::move(*c), std::move(*s)};
}

TEST(Oob, MessagesRoundTrip) {
  Pair p = connected_pair();
  nlohmann::json msg{{"type", "hello"}, {"version", 1}, {"sizes", {2, 4096}}};
  ASSERT_TRUE(p.client.send(msg, Millis(1000)).has_value());
  auto got = p.server.receive(Millis(1000));
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(*got, msg);
  EXPECT_EQ(p.server.local_address(), "127.0.0.1");
}

TEST(Oob, ReceiveTimesOut) {
  Pair p = connected_pair();
  auto got = p.server.receive(Millis(50));
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, Errc::kTimeout);
  EXPECT_FALSE(p.server.readable_now());
}

TEST(Oob, PeerClosingIsAPeerError) {
  Pair p = connected_pair();
  p.client = OobSocket();
  EXPECT_TRUE(p.server.readable_now());
  auto got = p.server.receive(Millis(1000));
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, Errc::kPeer);
  EXPECT_NE(got.error().what.find("closed the connection"), std::string::npos);
}

TEST(Oob, GarbageIsAProtocolErrorNotAHang) {
  Pair p = connected_pair();
  const char garbage[] = "GET / HTTP/1.0\r\n\r\n";
  ASSERT_EQ(::send(p.client.fd(), garbage, sizeof garbage - 1, 0), static_cast<ssize_t>(sizeof garbage - 1));
  auto got = p.server.receive(Millis(1000));
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, Errc::kProtocol);
  EXPECT_NE(got.error().what.find("sent a frame of"), std::string::npos) << got.error().what;
}

TEST(Oob, FrameThatIsNotJsonIsAProtocolError) {
  Pair p = connected_pair();
  const char frame[] = "\0\0\0\x05hello";
  ASSERT_EQ(::send(p.client.fd(), frame, 9, 0), 9);
  auto got = p.server.receive(Millis(1000));
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, Errc::kProtocol);
  EXPECT_NE(got.error().what.find("not a JSON object"), std::string::npos);
}

TEST(Oob, ConnectToNothingSaysStartTheServer) {
  auto l = OobListener::listen("127.0.0.1", 0);
  ASSERT_TRUE(l.has_value());
  const uint16_t port = l->port();
  *l = OobListener();  // closes it: nothing listens on `port` now
  auto c = OobSocket::connect("127.0.0.1", port, Millis(1000));
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message().find("start `railcheck serve`"), std::string::npos) << c.error().message();
}

TEST(Oob, UnknownHostIsNotFound) {
  auto c = OobSocket::connect("no-such-host.invalid", 18515, Millis(1000));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, Errc::kNotFound);
}

TEST(Oob, AcceptTimesOut) {
  auto l = OobListener::listen("127.0.0.1", 0);
  ASSERT_TRUE(l.has_value());
  auto s = l->accept(Millis(30));
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Errc::kTimeout);
}

TEST(Oob, BindingABusyPortSaysChooseAnother) {
  auto a = OobListener::listen("127.0.0.1", 0);
  ASSERT_TRUE(a.has_value());
  auto b = OobListener::listen("127.0.0.1", a->port());
  ASSERT_FALSE(b.has_value());
  EXPECT_NE(b.error().message().find("choose --port"), std::string::npos);
}

}  // namespace
}  // namespace railcheck::verbs
