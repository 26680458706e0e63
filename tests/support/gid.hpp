#pragma once
// A GID from its IPv6 text, for the verbs tests that build ports and peers by hand; text that
// is not an IPv6 address fails the test.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <infiniband/verbs.h>

namespace railcheck::testing {

inline ibv_gid gid(const char* text) {
  ibv_gid g{};
  EXPECT_EQ(inet_pton(AF_INET6, text, g.raw), 1) << text;
  return g;
}

}  // namespace railcheck::testing
